//! The sorter against the emulator: real S3 buckets, a real bus routed to a real queue.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder;
use filetrail_aws::Env;
use filetrail_contract::{ActionType, FileMoved};
use filetrail_publisher::{EventBridge, Publisher, PutEvents};
use filetrail_stages::config::{ENV_BUCKET_PREFIX, ENV_INCOMING_BUCKET};
use filetrail_stages::{
    CopySettings, Lambda, SORTER_FUNCTION, SORTER_STAGE, SortCounts, Sorter, SorterConfig, Stage,
};
use serde_json::{Value, json};

use super::{Emulator, FailingPutEvents, Sorting};

const SOURCE: &str = "sdc.sorter";

fn config(prefix: &str) -> SorterConfig {
    let vars: HashMap<&str, String> = HashMap::from([
        (ENV_INCOMING_BUCKET, format!("{prefix}incoming")),
        (ENV_BUCKET_PREFIX, prefix.to_owned()),
    ]);
    SorterConfig::from_env(&Env::from_fn(|k| vars.get(k).cloned())).expect("valid config")
}

impl Sorting {
    /// A sorter of this test's buckets publishing as [`SOURCE`].
    fn sorter(&self) -> Sorter<EventBridge> {
        self.sorter_through(self.emu.publisher(SOURCE))
    }

    /// A sorter of this test's buckets publishing through `publisher`.
    fn sorter_through<P: PutEvents>(&self, publisher: Publisher<P>) -> Sorter<P> {
        Sorter::new(self.emu.s3.clone(), publisher, config(&self.prefix))
    }

    /// The next `n` events on the queue (waiting up to 20 s), published as [`SOURCE`].
    async fn events(&self, n: usize) -> Vec<FileMoved> {
        self.emu.events(n, Duration::from_secs(20), SOURCE).await
    }
}

/// The counts of a successful invocation on `event` (no deadline).
async fn sorted<P: PutEvents>(sorter: &Sorter<P>, event: &Value) -> SortCounts {
    sorted_until(sorter, event, None).await
}

/// The counts of a successful invocation on `event`, a sweep stopping at `deadline`.
async fn sorted_until<P: PutEvents>(
    sorter: &Sorter<P>,
    event: &Value,
    deadline: Option<std::time::Instant>,
) -> SortCounts {
    let report = sorter.handle(event, deadline).await;
    report.into_result().expect("the invocation succeeds")
}

/// One file of the 30: its name, content and where it must end up.
struct Expected {
    name: String,
    bytes: Vec<u8>,
    bucket: String,
    key: String,
}

/// 3 instruments × 2 levels × 5 files, with dates that exercise leap days and year ends.
fn thirty_files(prefix: &str) -> Vec<Expected> {
    let l0_days = [
        (1, "01/01"),
        (32, "02/01"),
        (60, "02/29"),
        (61, "03/01"),
        (366, "12/31"),
    ];
    let mut files = Vec::new();
    for inst in ["eea", "nemisis", "merit"] {
        for (i, (doy, month_day)) in l0_days.iter().enumerate() {
            let name = format!(
                "hermes_{}_l0_2024{doy:03}-0{i}0203_v01.bin",
                inst.to_uppercase()
            );
            files.push(Expected {
                bytes: format!("{name}\n").repeat(3 + i).into_bytes(),
                bucket: format!("{prefix}hermes-{inst}"),
                key: format!("l0/2024/{month_day}/{name}"),
                name,
            });
        }
        for day in 5..10 {
            let name = format!("hermes_{inst}_ql_202302{day:02}T000006_v1.0.0.cdf");
            files.push(Expected {
                bytes: format!("ql {inst} {day}").into_bytes(),
                bucket: format!("{prefix}hermes-{inst}"),
                key: format!("ql/2023/02/{day:02}/{name}"),
                name,
            });
        }
    }
    files
}

const BAD_NAMES: [&str; 3] = [
    "README.txt",
    "hermes_xyz_l0_2024001-000000_v01.bin",
    "hermes_eea_l1_20230230T000000_v1.0.0.cdf",
];

#[tokio::test]
async fn sweep_sorts_thirty_files_leaves_three_bad_ones_and_is_idempotent() {
    let setup = Sorting::start("sort30", &["eea", "nemisis", "merit"]).await;
    let (emu, prefix, incoming) = (&setup.emu, &setup.prefix, &setup.incoming);
    let files = thirty_files(prefix);
    assert_eq!(files.len(), 30);
    for f in &files {
        emu.put(incoming, &f.name, &f.bytes).await;
    }
    for bad in BAD_NAMES {
        emu.put(incoming, bad, b"not a science file").await;
    }

    // Pages of 7 keys: the sweep deletes while it paginates.
    let sorter = setup.sorter().with_sweep_page_keys(7);
    let c = sorted(&sorter, &json!({})).await;
    assert_eq!(
        (c.received, c.sorted, c.published, c.skipped_unparsable),
        (33, 30, 30, 3),
        "{c:?}"
    );
    assert_eq!(
        (c.failed, c.already_moved, c.missing, c.copy_skipped),
        (0, 0, 0, 0),
        "{c:?}"
    );
    assert_eq!(
        (c.multipart_copies, c.verified_size_only, c.sweep_incomplete),
        (0, 0, 0),
        "{c:?}"
    );
    assert_eq!(c.sweep_pages, 5, "33 keys in pages of 7");

    // Every file is at its place with identical bytes; the incoming bucket holds only the bad ones.
    let mut heads = BTreeMap::new();
    for f in &files {
        assert_eq!(
            emu.get(&f.bucket, &f.key).await,
            f.bytes,
            "s3://{}/{}",
            f.bucket,
            f.key
        );
        heads.insert(f.key.clone(), emu.head(&f.bucket, &f.key).await);
    }
    let mut bad: Vec<String> = BAD_NAMES.iter().map(|s| (*s).to_owned()).collect();
    bad.sort();
    assert_eq!(emu.keys(incoming).await, bad);

    // Exactly 30 events, each with the right fields.
    let events = emu.events(30, Duration::from_secs(30), SOURCE).await;
    assert_eq!(events.len(), 30);
    emu.assert_no_events().await;
    let by_key: HashMap<&str, _> = events
        .iter()
        .map(|e| (e.new_file_key.as_deref().expect("new key"), e))
        .collect();
    assert_eq!(by_key.len(), 30, "30 distinct moves");
    for f in &files {
        let e = by_key
            .get(f.key.as_str())
            .unwrap_or_else(|| panic!("no event for {}", f.key));
        let (etag, last_modified) = &heads[&f.key];
        assert_eq!(e.action_type, ActionType::Put);
        assert_eq!(e.file_key, f.name);
        assert_eq!(e.source_bucket.as_deref(), Some(incoming.as_str()));
        assert_eq!(e.destination_bucket.as_deref(), Some(f.bucket.as_str()));
        assert_eq!(
            e.occurred_at, *last_modified,
            "occurred_at is the destination's Last-Modified"
        );
        assert_eq!(e.size, Some(f.bytes.len() as u64));
        assert_eq!(e.etag.as_deref(), Some(etag.as_str()));
        assert_eq!(e.stage.as_deref(), Some(SORTER_STAGE));
        assert_eq!(e.event_id, e.to_move().event_id());
    }

    // A second sweep changes nothing and publishes nothing.
    let c = sorted(&sorter, &json!({})).await;
    assert_eq!(
        (c.received, c.skipped_unparsable, c.sorted, c.published),
        (3, 3, 0, 0),
        "{c:?}"
    );
    emu.assert_no_events().await;
    assert_eq!(emu.keys(incoming).await, bad);
    for f in &files {
        assert_eq!(
            emu.head(&f.bucket, &f.key).await,
            heads[&f.key],
            "{} untouched",
            f.key
        );
    }
}

#[tokio::test]
async fn a_retry_after_a_publish_failure_publishes_the_event_once() {
    let setup = Sorting::start("sortretry", &["merit"]).await;
    let (emu, incoming, merit) = (&setup.emu, &setup.incoming, &setup.instruments[0]);
    // A key with a folder, spaces and parentheses: the notification carries it form-encoded.
    let key = "uploads/day one (1)/hermes_merit_l1_20230205T000006_v1.0.0.cdf";
    let raw_key = "uploads/day+one+%281%29/hermes_merit_l1_20230205T000006_v1.0.0.cdf";
    let new_key = "l1/2023/02/05/hermes_merit_l1_20230205T000006_v1.0.0.cdf";
    emu.put(incoming, key, b"merit l1 content").await;
    let notification = super::s3_notification(incoming, raw_key);

    let flaky = FailingPutEvents::new(emu.bus(), 1);
    let sorter = setup.sorter_through(emu.publisher_through(flaky, SOURCE));

    // First delivery: copied and verified, the publish fails, the invocation fails.
    let first = sorter.handle(&notification, None).await;
    assert_eq!(first.counts.failed, 1, "{:?}", first.counts);
    assert_eq!(first.counts.published, 0);
    let err = first
        .into_result()
        .expect_err("the invocation fails so Lambda retries it");
    assert!(err.to_string().contains("AccessDeniedException"), "{err}");
    assert!(
        emu.exists(incoming, key).await,
        "source kept until its event is published"
    );
    assert_eq!(emu.get(merit, new_key).await, b"merit l1 content");
    let after_first = emu.head(merit, new_key).await;
    emu.assert_no_events().await;

    // The retry (same payload): the copy is found in place, the same event is published once.
    let second = sorted(&sorter, &notification).await;
    assert_eq!(
        (
            second.sorted,
            second.published,
            second.failed,
            second.copy_skipped
        ),
        (1, 1, 0, 1),
        "{second:?}"
    );
    assert!(
        !emu.exists(incoming, key).await,
        "source deleted after the publish"
    );
    assert_eq!(
        emu.head(merit, new_key).await,
        after_first,
        "destination not copied again"
    );
    let events = setup.events(1).await;
    assert_eq!(events.len(), 1);
    emu.assert_no_events().await;
    let e = &events[0];
    assert_eq!(e.file_key, key);
    assert_eq!(e.new_file_key.as_deref(), Some(new_key));
    assert_eq!(e.occurred_at, after_first.1);

    // A duplicate delivery afterwards finds the file already moved and publishes nothing.
    assert_eq!(
        sorted(&sorter, &notification).await,
        SortCounts {
            received: 1,
            already_moved: 1,
            ..SortCounts::default()
        },
    );
    emu.assert_no_events().await;
}

/// The tag set of an object, sorted by key.
async fn tags(emu: &Emulator, bucket: &str, key: &str) -> Vec<(String, String)> {
    let answer = emu.s3.get_object_tagging().bucket(bucket).key(key);
    let out = answer
        .send()
        .await
        .unwrap_or_else(|e| panic!("tags of s3://{bucket}/{key}: {e:?}"));
    let mut tags: Vec<(String, String)> = out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    tags.sort();
    tags
}

/// Tags an uploader might set, including characters the `x-amz-tagging` header must encode.
const UPLOAD_TAGGING: &str = "campaign=2024%20spring&owner=sdc%2Bops&quality=a%3Db";

fn upload_tags() -> Vec<(String, String)> {
    vec![
        ("campaign".into(), "2024 spring".into()),
        ("owner".into(), "sdc+ops".into()),
        ("quality".into(), "a=b".into()),
    ]
}

#[tokio::test]
async fn a_tagged_file_sorts_with_its_tags() {
    let setup = Sorting::start("sorttag", &["eea"]).await;
    let (emu, incoming, eea) = (&setup.emu, &setup.incoming, &setup.instruments[0]);
    let name = "hermes_eea_l0_2024001-000000_v01.bin";
    let new_key = "l0/2024/01/01/hermes_eea_l0_2024001-000000_v01.bin";
    emu.put_with(incoming, name, b"tagged science", |put| {
        put.tagging(UPLOAD_TAGGING)
    })
    .await;
    assert_eq!(tags(emu, incoming, name).await, upload_tags());

    let counts = sorted(&setup.sorter(), &super::object_created(incoming, name)).await;
    assert_eq!(
        (counts.sorted, counts.published, counts.multipart_copies),
        (1, 1, 0),
        "one CopyObject: {counts:?}"
    );
    assert_eq!(emu.get(eea, new_key).await, b"tagged science");
    assert_eq!(tags(emu, eea, new_key).await, upload_tags(), "tags kept");
    assert!(!emu.exists(incoming, name).await);
    assert_eq!(setup.events(1).await.len(), 1);
}

#[tokio::test]
async fn large_objects_are_copied_in_parts_and_keep_their_metadata_and_tags() {
    let setup = Sorting::start("sortmp", &["eea"]).await;
    let (emu, incoming, eea) = (&setup.emu, &setup.incoming, &setup.instruments[0]);
    let name = "hermes_eea_l1_20230205T000006_v1.0.0.cdf";
    let new_key = "l1/2023/02/05/hermes_eea_l1_20230205T000006_v1.0.0.cdf";
    // 11 MiB + 17 bytes of varied content: three parts of 5 MiB with a small injected threshold.
    let bytes: Vec<u8> = (0..11 * 1024 * 1024 + 17u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let cdf = |put: PutObjectFluentBuilder| {
        put.content_type("application/x-cdf")
            .metadata("origin", "ground-station-2")
    };
    emu.put_with(incoming, name, &bytes, |put| {
        cdf(put).tagging(UPLOAD_TAGGING)
    })
    .await;

    let mut config = config(&setup.prefix);
    config.copy = CopySettings::new(5 * 1024 * 1024, 5 * 1024 * 1024);
    let sorter = Sorter::new(emu.s3.clone(), emu.publisher(SOURCE), config);
    let event = super::object_created(incoming, name);
    let counts = sorted(&sorter, &event).await;
    assert_eq!(
        (counts.sorted, counts.published, counts.multipart_copies),
        (1, 1, 1),
        "{counts:?}"
    );

    assert_eq!(emu.get(eea, new_key).await, bytes, "identical bytes");
    let head = emu
        .s3
        .head_object()
        .bucket(eea)
        .key(new_key)
        .send()
        .await
        .expect("head");
    assert!(
        head.e_tag().unwrap_or_default().ends_with("-3\""),
        "three parts: {:?}",
        head.e_tag()
    );
    assert_eq!(head.content_type(), Some("application/x-cdf"));
    let meta = head.metadata().cloned().unwrap_or_default();
    assert_eq!(
        meta.get("origin").map(String::as_str),
        Some("ground-station-2")
    );
    assert!(meta.contains_key(filetrail_stages::copy::COPY_MARKER_METADATA));
    assert_eq!(
        tags(emu, eea, new_key).await,
        upload_tags(),
        "tags kept by the multipart copy"
    );
    assert!(!emu.exists(incoming, name).await);
    let events = setup.events(1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].size, Some(bytes.len() as u64));
    let first_id = events[0].event_id.clone();

    // The same bytes arrive again under the same name: the copy record shows the destination
    // already holds them (the ETags differ, single-part vs multipart), so nothing is copied and
    // the same move is announced again with the same event_id (the recorder keeps one record).
    emu.put_with(incoming, name, &bytes, cdf).await;
    let counts = sorted(&sorter, &event).await;
    assert_eq!(
        (counts.sorted, counts.multipart_copies, counts.copy_skipped),
        (1, 0, 1),
        "{counts:?}"
    );
    let events = setup.events(1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id, first_id);
    assert!(!emu.exists(incoming, name).await);
}

#[tokio::test]
async fn notifications_for_bad_names_and_vanished_files_fail_nothing() {
    let setup = Sorting::start("sortodd", &[]).await;
    let (emu, incoming) = (&setup.emu, &setup.incoming);
    emu.put(incoming, "notes.txt", b"hello").await;
    let sorter = setup.sorter();

    // A bad name never fails the invocation.
    let counts = sorted(&sorter, &super::s3_notification(incoming, "notes.txt")).await;
    assert_eq!((counts.received, counts.skipped_unparsable), (1, 1));
    assert!(emu.exists(incoming, "notes.txt").await, "left in place");

    let gone = super::s3_notification(incoming, "hermes_eea_l1_20230205T000006_v1.0.0.cdf");
    let counts = sorted(&sorter, &gone).await;
    assert_eq!((counts.received, counts.missing), (1, 1));

    let deleted: Value = serde_json::from_str(super::OBJECT_DELETED).expect("fixture");
    assert_eq!(
        sorted(&sorter, &deleted).await,
        SortCounts {
            ignored: 1,
            ..SortCounts::default()
        }
    );
    emu.assert_no_events().await;
}

#[tokio::test]
async fn a_missing_instrument_bucket_fails_that_file_only() {
    // No merit bucket exists.
    let setup = Sorting::start("sortnob", &["eea"]).await;
    let (emu, incoming) = (&setup.emu, &setup.incoming);
    emu.put(incoming, "hermes_merit_l1_20230205T000006_v1.0.0.cdf", b"m")
        .await;
    emu.put(incoming, "hermes_eea_l1_20230205T000006_v1.0.0.cdf", b"e")
        .await;
    let report = setup
        .sorter()
        .handle(&super::SCHEDULED_EVENT.parse().expect("json"), None)
        .await;
    let c = report.counts;
    assert_eq!(
        (c.received, c.sorted, c.failed, c.published),
        (2, 1, 1, 1),
        "{c:?}"
    );
    assert_eq!(report.errors.len(), 1);
    let err = report.errors[0].to_string();
    assert!(err.contains("NoSuchBucket"), "{err}");
    assert_eq!(
        emu.keys(incoming).await,
        ["hermes_merit_l1_20230205T000006_v1.0.0.cdf"]
    );
    assert_eq!(setup.events(1).await.len(), 1);
}

#[tokio::test]
async fn invoke_fails_the_lambda_invocation_on_an_unrecognised_event() {
    let setup = Sorting::start("sortinv", &[]).await;
    let lambda = Lambda::new(setup.sorter(), SORTER_FUNCTION);
    let event =
        lambda_runtime::LambdaEvent::new(json!("not an event"), lambda_runtime::Context::default());
    let err = lambda.invoke(event).await.expect_err("refused");
    assert!(err.to_string().contains("unrecognised event"), "{err}");
}

#[tokio::test]
async fn a_sweep_stops_at_its_deadline_after_the_first_page_and_the_next_sweep_continues() {
    let setup = Sorting::start("sortdl", &["spani"]).await;
    let (emu, incoming, spani) = (&setup.emu, &setup.incoming, &setup.instruments[0]);
    for day in 1..=3 {
        let name = format!("hermes_spani_l1_2023020{day}T000000_v1.0.0.cdf");
        emu.put(incoming, &name, name.as_bytes()).await;
    }
    let sorter = setup.sorter().with_sweep_page_keys(1);
    let passed = Some(std::time::Instant::now());
    let c = sorted_until(&sorter, &json!({}), passed).await;
    assert_eq!(
        (c.sweep_pages, c.sorted, c.sweep_incomplete),
        (1, 1, 1),
        "{c:?}"
    );
    let c = sorted(&sorter, &json!({})).await;
    assert_eq!(
        (c.sweep_pages, c.sorted, c.sweep_incomplete),
        (2, 2, 0),
        "{c:?}"
    );
    assert!(emu.keys(incoming).await.is_empty());
    assert_eq!(emu.keys(spani).await.len(), 3);
    assert_eq!(setup.events(3).await.len(), 3);
}

#[test]
fn the_sweep_deadline_keeps_a_margin_of_at_most_half_the_time_left() {
    use std::time::{Instant, SystemTime, UNIX_EPOCH};
    let mut context = lambda_runtime::Context::default();
    assert_eq!(
        filetrail_stages::sweep_deadline(&context),
        None,
        "no deadline: no limit"
    );
    let in_ms = |secs: u64| {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
        u64::try_from((now + Duration::from_secs(secs)).as_millis()).expect("fits")
    };
    context.deadline = in_ms(300);
    let d = filetrail_stages::sweep_deadline(&context).expect("deadline");
    let left = d.saturating_duration_since(Instant::now());
    assert!(
        left > Duration::from_secs(265) && left <= Duration::from_secs(270),
        "{left:?}"
    );
    context.deadline = in_ms(10);
    let d = filetrail_stages::sweep_deadline(&context).expect("deadline");
    let left = d.saturating_duration_since(Instant::now());
    assert!(
        left > Duration::from_secs(4) && left <= Duration::from_secs(5),
        "{left:?}"
    );
}

/// A `PutEvents` that, on its first call, replaces an object (a new upload arriving between
/// the sorter's copy and its delete), then delegates.
struct ReplaceOnFirstPublish {
    inner: EventBridge,
    s3: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    bytes: Vec<u8>,
    done: std::sync::atomic::AtomicBool,
}

impl PutEvents for ReplaceOnFirstPublish {
    async fn put_events(
        &self,
        entries: &[filetrail_publisher::Entry],
    ) -> Result<Vec<filetrail_publisher::EntryOutcome>, filetrail_publisher::CallError> {
        if !self.done.swap(true, std::sync::atomic::Ordering::SeqCst) {
            super::put_object(&self.s3, &self.bucket, &self.key, &self.bytes, |put| put).await;
        }
        self.inner.put_events(entries).await
    }
}

#[tokio::test]
async fn a_source_replaced_during_the_move_is_kept_and_sorted_on_its_own() {
    let setup = Sorting::start("sortrepl", &["eea"]).await;
    let (emu, incoming, eea) = (&setup.emu, &setup.incoming, &setup.instruments[0]);
    let name = "hermes_eea_ql_20230205T000006_v1.0.0.cdf";
    let new_key = "ql/2023/02/05/hermes_eea_ql_20230205T000006_v1.0.0.cdf";
    emu.put(incoming, name, b"first version").await;
    let replacing = ReplaceOnFirstPublish {
        inner: emu.bus(),
        s3: emu.s3.clone(),
        bucket: incoming.clone(),
        key: name.into(),
        bytes: b"second, longer version".to_vec(),
        done: false.into(),
    };
    let sorter = setup.sorter_through(emu.publisher_through(replacing, SOURCE));
    let event = super::s3_notification(incoming, name);

    // The first version is copied and announced; the delete sees a different ETag and keeps
    // the new upload (conditional delete).
    let c = sorted(&sorter, &event).await;
    assert_eq!(
        (c.published, c.source_changed, c.sorted),
        (1, 1, 0),
        "{c:?}"
    );
    assert_eq!(emu.get(eea, new_key).await, b"first version");
    assert_eq!(emu.get(incoming, name).await, b"second, longer version");
    let first = setup.events(1).await;
    assert_eq!(first[0].size, Some(13));

    // The new upload's own notification moves it over the first: a new move, a new event.
    // (S3's Last-Modified has one-second resolution; a second move of the same key within the
    // same second would get the same occurred_at, see ARCHITECTURE.md.)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let c = sorted(&sorter, &event).await;
    assert_eq!((c.published, c.sorted, c.copy_skipped), (1, 1, 0), "{c:?}");
    assert_eq!(emu.get(eea, new_key).await, b"second, longer version");
    assert!(!emu.exists(incoming, name).await);
    let second = setup.events(1).await;
    assert_eq!(second[0].size, Some(22));
    assert_ne!(second[0].event_id, first[0].event_id);
}
