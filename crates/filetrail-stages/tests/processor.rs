//! The processor against the emulator, with the example command.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use filetrail_contract::ActionType;
use filetrail_publisher::EventBridge;
use filetrail_stages::config::DEFAULT_INSTRUMENTS;
use filetrail_stages::{
    ExternalCommand, NameRules, PROCESSOR_STAGE, Process, ProcessCounts, ProcessError, Processor,
    StageError,
};

use super::Emulator;

const SOURCE: &str = "sdc.processor";
const INPUT_NAME: &str = "hermes_EEA_l0_2022259-030002_v01.bin";
const INPUT_KEY: &str = "l0/2022/09/16/hermes_EEA_l0_2022259-030002_v01.bin";
const L1_KEY: &str = "l1/2022/09/16/hermes_eea_l1_20220916T030002_v1.0.0.cdf";
const QL_KEY: &str = "ql/2022/09/16/hermes_eea_ql_20220916T030002_v1.0.0.cdf";

fn rules() -> NameRules {
    NameRules::new(
        "hermes",
        NameRules::parse_instruments(DEFAULT_INSTRUMENTS).expect("list"),
    )
    .expect("rules")
}

fn processor<X: Process>(emu: &Emulator, step: X) -> Processor<EventBridge, X> {
    Processor::new(emu.s3.clone(), emu.publisher(SOURCE), step, rules())
}

/// An emulator route and a fresh `{prefix}hermes-eea` bucket, both named after `tag`.
async fn eea_bucket(tag: &str) -> (Emulator, String) {
    let emu = Emulator::start(tag).await;
    let bucket = format!("{}hermes-eea", super::bucket_prefix(tag));
    emu.bucket(&bucket).await;
    (emu, bucket)
}

/// The counts of a successful invocation on the S3 notification of `bucket`/`key`.
async fn processed<X: Process>(
    processor: &Processor<EventBridge, X>,
    bucket: &str,
    key: &str,
) -> ProcessCounts {
    processed_event(processor, &super::s3_notification(bucket, key)).await
}

/// The counts of a successful invocation on `event`.
async fn processed_event<X: Process>(
    processor: &Processor<EventBridge, X>,
    event: &serde_json::Value,
) -> ProcessCounts {
    let report = processor.handle(event).await;
    report.into_result().expect("the invocation succeeds")
}

/// What the example command writes for `input` bytes named `name`, by running it directly.
fn expected_products(name: &str, input: &[u8]) -> HashMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, input).expect("input");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("out");
    let status = std::process::Command::new(super::example_command())
        .arg(&path)
        .arg(&out)
        .status()
        .expect("runs");
    assert!(status.success());
    std::fs::read_dir(&out)
        .expect("out")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_l0_file_becomes_products_with_events_and_a_retry_repeats_them_exactly() {
    let (emu, bucket) = eea_bucket("proc").await;
    let input = b"\x01\x02 level zero packets \xff".to_vec();
    emu.put(&bucket, INPUT_KEY, &input).await;
    let input_head = emu.head(&bucket, INPUT_KEY).await;
    let processor = processor(&emu, ExternalCommand::new(super::example_command()));

    assert_eq!(
        processed(&processor, &bucket, INPUT_KEY).await,
        ProcessCounts {
            received: 1,
            processed: 1,
            uploaded: 2,
            published: 2,
            ..ProcessCounts::default()
        }
    );

    // The products are the command's output, stored under their level's prefix.
    let expected = expected_products(INPUT_NAME, &input);
    assert_eq!(expected.len(), 2);
    for key in [L1_KEY, QL_KEY] {
        let name = key.rsplit('/').next().expect("name");
        assert_eq!(emu.get(&bucket, key).await, expected[name], "{key}");
    }
    assert_eq!(emu.keys(&bucket).await, [INPUT_KEY, L1_KEY, QL_KEY]);
    assert_eq!(
        emu.head(&bucket, INPUT_KEY).await,
        input_head,
        "input untouched"
    );

    let mut events = emu.events(2, Duration::from_secs(20), SOURCE).await;
    assert_eq!(events.len(), 2);
    emu.assert_no_events().await;
    events.sort_by(|a, b| a.new_file_key.cmp(&b.new_file_key));
    for (e, key) in events.iter().zip([L1_KEY, QL_KEY]) {
        let (etag, last_modified) = emu.head(&bucket, key).await;
        assert_eq!(e.action_type, ActionType::Put);
        assert_eq!(e.file_key, INPUT_KEY);
        assert_eq!(e.new_file_key.as_deref(), Some(key));
        assert_eq!(e.source_bucket.as_deref(), Some(bucket.as_str()));
        assert_eq!(e.destination_bucket.as_deref(), Some(bucket.as_str()));
        assert_eq!(
            e.occurred_at, last_modified,
            "occurred_at is the product's Last-Modified"
        );
        assert_eq!(e.etag.as_deref(), Some(etag.as_str()));
        assert_eq!(e.stage.as_deref(), Some(PROCESSOR_STAGE));
    }

    // A retry (here in the EventBridge shape) finds the products in place: nothing is written,
    // the same events (same event_id) are published again for the recorder to deduplicate.
    let retry = processed_event(&processor, &super::object_created(&bucket, INPUT_KEY)).await;
    assert_eq!(
        (retry.uploaded, retry.already_uploaded, retry.published),
        (0, 2, 2),
        "{retry:?}"
    );
    let mut again = emu.events(2, Duration::from_secs(20), SOURCE).await;
    again.sort_by(|a, b| a.new_file_key.cmp(&b.new_file_key));
    let ids = |v: &[filetrail_contract::FileMoved]| {
        v.iter().map(|e| e.event_id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&again), ids(&events));

    // The products' own notifications do not loop: they are not level 0.
    for key in [L1_KEY, QL_KEY] {
        assert_eq!(
            processed(&processor, &bucket, key).await,
            ProcessCounts {
                received: 1,
                skipped_level: 1,
                ..ProcessCounts::default()
            }
        );
    }
    emu.assert_no_events().await;
}

#[tokio::test]
async fn a_failing_command_leaves_the_input_untouched_and_reports_its_stderr() {
    let (emu, bucket) = eea_bucket("procfail").await;
    let key = "l0/2022/09/17/hermes_EEA_l0_2022260-000000_v01.bin";
    emu.put(&bucket, key, b"").await;
    let before = emu.head(&bucket, key).await;
    let processor = processor(&emu, ExternalCommand::new(super::example_command()));

    let report = processor
        .handle(&super::s3_notification(&bucket, key))
        .await;
    assert_eq!(report.counts.failed, 1);
    assert_eq!(report.counts.published, 0);
    match &report.errors[..] {
        [
            StageError::Process {
                key: k,
                source: ProcessError::Failed { stderr, .. },
                ..
            },
        ] => {
            assert_eq!(k, key);
            assert!(
                stderr.contains("is empty: no packets to calibrate"),
                "{stderr}"
            );
        }
        other => panic!("expected one processing failure, got {other:?}"),
    }
    let err = report.into_result().expect_err("the invocation fails");
    assert!(err.to_string().contains("no packets to calibrate"), "{err}");
    assert_eq!(emu.keys(&bucket).await, [key], "no products");
    assert_eq!(emu.head(&bucket, key).await, before, "input untouched");
    emu.assert_no_events().await;
}

/// A step that counts its runs and writes one product with the given name.
struct Scripted {
    runs: AtomicUsize,
    product: &'static str,
}

impl Process for Scripted {
    async fn process(&self, _input: &Path, output_dir: &Path) -> Result<(), ProcessError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        std::fs::write(output_dir.join(self.product), b"product").expect("write");
        Ok(())
    }
}

#[tokio::test]
async fn a_badly_named_product_stores_nothing_and_non_l0_inputs_never_run_the_step() {
    let (emu, bucket) = eea_bucket("procbad").await;
    emu.put(&bucket, INPUT_KEY, b"packets").await;
    let step = Scripted {
        runs: AtomicUsize::new(0),
        product: "calibrated.dat",
    };
    let processor = processor(&emu, step);

    let report = processor
        .handle(&super::s3_notification(&bucket, INPUT_KEY))
        .await;
    match &report.errors[..] {
        [StageError::Product { name, reason, .. }] => {
            assert_eq!(name, "calibrated.dat");
            assert!(reason.contains("not a science file name"), "{reason}");
        }
        other => panic!("expected a product error, got {other:?}"),
    }
    assert_eq!(emu.keys(&bucket).await, [INPUT_KEY]);

    let ql = "ql/2023/02/05/hermes_eea_ql_20230205T000006_v1.0.0.cdf";
    emu.put(&bucket, ql, b"quicklook").await;
    let counts = processed(&processor, &bucket, ql).await;
    assert_eq!(counts.skipped_level, 1);
    let counts = processed(&processor, &bucket, "l0/notes.txt").await;
    assert_eq!(counts.skipped_unparsable, 1);
    let missing = "l0/2022/09/18/hermes_EEA_l0_2022261-000000_v01.bin";
    let counts = processed(&processor, &bucket, missing).await;
    assert_eq!(counts.missing, 1);
    let sweep = processor.handle(&serde_json::json!({})).await;
    assert!(
        matches!(&sweep.errors[..], [StageError::Trigger(_)]),
        "{:?}",
        sweep.errors
    );
    assert_eq!(
        processor.step().runs.load(Ordering::SeqCst),
        1,
        "only the l0 input ran the step"
    );
    emu.assert_no_events().await;
}
