//! `filetrail audit` on the emulator with a real InfluxDB trail: a pipeline of real stages
//! (the Sorter and Processor handlers), the real recorder (`Recorder` with its InfluxDB sink),
//! then the `filetrail` binary. It finds exactly the files stuck in incoming (one name parses,
//! one does not), the level-0 file whose processing command failed and the object a producer
//! copied in without publishing; once each is fixed (sorted, reprocessed, `filetrail publish`)
//! it is clean.

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use filetrail_influxdb::{InfluxDb, InfluxDbConfig};
use filetrail_publisher::{EventBridge, Publisher, PublisherConfig};
use filetrail_recorder::{InfluxDbSink, Recorder, Settings, SqsDeadLetters};
use filetrail_stages::{ExternalCommand, NameRules, Processor, Sorter, SorterConfig, Stage};
use filetrail_testkit::pipeline::{self, BusToQueue};
use filetrail_testkit::{emulator, unique_name};
use serde_json::{Value, json};

use super::{filetrail, filetrail_via, front};

const URL_VAR: &str = "FILETRAIL_TEST_INFLUXDB_URL";
const OBJECT_CREATED: &str =
    include_str!("../../filetrail-stages/tests/fixtures/s3-eventbridge-object-created.json");

/// A level-0 science file name of instrument `eea`, day `day` of 2026.
fn l0(day: u32) -> String {
    format!("hermes_eea_l0_2026{day:03}-000000_v01.bin")
}

/// Where the sorter puts [`l0`].
fn l0_key(day: u32) -> String {
    let date = chrono::NaiveDate::from_yo_opt(2026, day).expect("day");
    format!("l0/{}/{}", date.format("%Y/%m/%d"), l0(day))
}

/// The unannounced copy.
const COPIED: &str = "l1/2026/01/13/hermes_eea_l1_20260113T000000_v1.0.0.cdf";

struct Pipeline {
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    eb: aws_sdk_eventbridge::Client,
    route: BusToQueue,
    dlq: String,
    incoming: String,
    eea: String,
    env: Vec<(&'static str, String)>,
    influx: InfluxDb,
}

impl Pipeline {
    async fn start() -> Self {
        let url = std::env::var(URL_VAR).unwrap_or_else(|_| {
            panic!("{URL_VAR} is not set: this test records to a real InfluxDB; run it through `make test` (scripts/with-influxdb.sh)")
        });
        let sdk = emulator().await;
        let (s3, sqs) = (
            filetrail_stages::s3_client(&sdk),
            aws_sdk_sqs::Client::new(&sdk),
        );
        let eb = aws_sdk_eventbridge::Client::new(&sdk);
        let route = pipeline::bus_to_queue(&eb, &sqs, "audit").await;
        let dlq = pipeline::create_queue(&sqs, &unique_name("audit-dlq")).await;
        let prefix = format!("{}-", unique_name("a"));
        let (incoming, eea) = (
            format!("{prefix}hermes-incoming"),
            format!("{prefix}hermes-eea"),
        );
        for b in [&incoming, &eea] {
            s3.create_bucket().bucket(b).send().await.expect("bucket");
        }
        let db = unique_name("audit").replace('-', "_");
        let env = vec![
            ("FILETRAIL_MISSION", "hermes".to_owned()),
            ("FILETRAIL_INSTRUMENTS", "eea".to_owned()),
            ("FILETRAIL_BUCKET_PREFIX", prefix),
            ("FILETRAIL_INCOMING_BUCKET", incoming.clone()),
            ("FILETRAIL_SINK", "influxdb".to_owned()),
            (filetrail_influxdb::ENV_URL, url),
            (filetrail_influxdb::ENV_DATABASE, db.clone()),
        ];
        // The same reader the recorder and the audit use, over the same variables.
        let lookup = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        let config =
            InfluxDbConfig::from_env(&filetrail_aws::Env::from_fn(lookup)).expect("config");
        let influx = InfluxDb::new(&config, None).expect("client");
        influx
            .query(&format!("CREATE DATABASE \"{db}\""))
            .await
            .expect("database");
        Self {
            s3,
            sqs,
            eb,
            route,
            dlq,
            incoming,
            eea,
            env,
            influx,
        }
    }

    fn publisher(&self, source: &str) -> Publisher<EventBridge> {
        Publisher::new(
            EventBridge::new(self.eb.clone(), self.route.bus.clone()),
            PublisherConfig {
                bus: self.route.bus.clone(),
                source: source.into(),
                deadline: Duration::from_secs(10),
            },
        )
    }

    async fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(bytes.to_vec().into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
    }

    /// The real sorter's sweep of the incoming bucket.
    async fn sweep(&self) -> u64 {
        let env = filetrail_aws::Env::from_fn(|k| {
            self.env
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.clone())
        });
        let config = SorterConfig::from_env(&env).expect("sorter config");
        let sorter = Sorter::new(self.s3.clone(), self.publisher("sdc.sorter"), config);
        sorter.handle(&json!({}), None).await.counts.sorted
    }

    /// The real processor on one l0 file, with `command`; whether it processed it.
    async fn process(&self, key: &str, command: &str) -> bool {
        let rules = NameRules::new("hermes", NameRules::parse_instruments("eea").expect("list"))
            .expect("rules");
        let step = ExternalCommand::new(command);
        let processor = Processor::new(
            self.s3.clone(),
            self.publisher("sdc.processor"),
            step,
            rules,
        );
        let mut event: Value = serde_json::from_str(OBJECT_CREATED).expect("fixture");
        event["detail"]["bucket"]["name"] = self.eea.clone().into();
        event["detail"]["object"]["key"] = key.into();
        processor.handle(&event).await.errors.is_empty()
    }

    /// Deliver the `n` events waiting in the queue to the real recorder writing to InfluxDB.
    async fn record(&self, n: usize) {
        let messages =
            pipeline::drain(&self.sqs, &self.route.queue_url, n, Duration::from_secs(60)).await;
        assert_eq!(messages.len(), n, "events published");
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|m| {
                let mut s = SqsMessage::default();
                s.message_id = m.message_id.clone();
                s.body = m.body.clone();
                s
            })
            .collect();
        let recorder = Recorder::new(
            InfluxDbSink::new(self.influx.clone()),
            SqsDeadLetters::new(self.sqs.clone(), &self.dlq),
            Settings::default(),
        );
        let (_, counts) = recorder
            .handle(&event, Instant::now() + Duration::from_secs(30))
            .await
            .expect("recorded");
        assert_eq!(counts.written, n as u64, "{counts:?}");
    }

    /// `filetrail audit --older-than 0s --json`: its exit code and report.
    async fn audit(&self) -> (i32, Value) {
        let mut cmd = filetrail();
        cmd.envs(self.env.iter().cloned())
            .args(["--json", "audit", "--older-than", "0s"]);
        let out = cmd.output().await.expect("run");
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code().unwrap_or(-1), report)
    }
}

fn findings(report: &Value) -> Vec<(String, String, Value)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or_default().to_owned(),
                f["key"].as_str().unwrap_or_default().to_owned(),
                f["parses"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_audit_finds_exactly_what_did_not_happen_and_is_clean_once_it_is_fixed() {
    let p = Pipeline::start().await;
    // Two files are sorted; one is processed, the other's command fails.
    p.put(&p.incoming, &l0(10), b"packets of day ten").await;
    p.put(&p.incoming, &l0(11), b"packets of day eleven").await;
    assert_eq!(p.sweep().await, 2);
    let example = filetrail_stages_example();
    assert!(p.process(&l0_key(10), &example).await);
    assert!(
        !p.process(&l0_key(11), "/bin/false").await,
        "the command fails"
    );
    // Two files land and are not sorted (one name parses); a producer copies without publishing.
    p.put(&p.incoming, &l0(12), b"packets of day twelve").await;
    p.put(&p.incoming, "notes.txt", b"not a science file").await;
    p.put(&p.eea, COPIED, b"a product from elsewhere").await;
    p.record(4).await; // two sorts, two products

    let (code, report) = p.audit().await;
    assert_eq!(code, 3, "{report}");
    assert_eq!(
        findings(&report),
        [
            ("stuck".into(), l0(12), json!(true)),
            ("stuck".into(), "notes.txt".into(), json!(false)),
            ("unprocessed".into(), l0_key(11), Value::Null),
            ("unrecorded".into(), COPIED.into(), Value::Null),
        ]
    );
    assert_eq!(
        report["findings"][0]["destination"],
        format!("{}/{}", p.eea, l0_key(12))
    );
    assert_eq!(report["findings"][0]["bucket"], p.incoming.as_str());
    assert_eq!(report["findings"][3]["bucket"], p.eea.as_str());
    assert_eq!(report["counts"]["stuck_unparsable"], 1);
    assert_eq!(
        report["counts"]["trail_queries"], 1,
        "one query for the page of eea"
    );

    // Fix each: remove the unparsable file and sweep; reprocess with a working command; publish
    // the copy's missing event.
    p.s3.delete_object()
        .bucket(&p.incoming)
        .key("notes.txt")
        .send()
        .await
        .expect("delete");
    assert_eq!(p.sweep().await, 1);
    assert!(p.process(&l0_key(12), &example).await);
    assert!(p.process(&l0_key(11), &example).await);
    let front = front().await;
    let out = filetrail_via(front.url())
        .args(["publish", "--bus", &p.route.bus, "--file-key", COPIED])
        .args([
            "--source-bucket",
            "producer-staging",
            "--destination-bucket",
            &p.eea,
        ])
        .output()
        .await
        .expect("publish");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    p.record(6).await; // one sort, four products, one published copy

    let (code, report) = p.audit().await;
    assert_eq!((code, &report["clean"]), (0, &json!(true)), "{report}");
    assert_eq!(findings(&report), []);
    assert_eq!(
        report["counts"]["checked"], 10,
        "3 l0 files, their 6 products, the copy"
    );

    // Text for people: the summary and the same verdict.
    let mut cmd = filetrail();
    cmd.envs(p.env.iter().cloned())
        .args(["audit", "--older-than", "0s"]);
    let out = cmd.output().await.expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("stuck 0 (0 unparsable), unprocessed 0, unrecorded 0"),
        "{text}"
    );
}

fn filetrail_stages_example() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../filetrail-stages/examples/process/example-process.sh"
    )
    .into()
}

#[tokio::test]
async fn the_exit_code_tells_an_audit_that_could_not_run_from_a_usage_error() {
    // The buckets do not exist: the audit cannot run (1), naming the bucket.
    let mut cmd = filetrail();
    cmd.env("FILETRAIL_INCOMING_BUCKET", unique_name("nope"))
        .env("FILETRAIL_INSTRUMENTS", "eea")
        .args(["audit"]);
    let out = cmd.output().await.expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("NoSuchBucket"), "{stderr}");
    // A bad flag: clap's usage error (2), before anything is read.
    let out = filetrail()
        .args(["audit", "--older-than", "soon"])
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a duration"));
    // An --inventory that is no s3:// address: a usage error too.
    let out = filetrail()
        .env("FILETRAIL_INCOMING_BUCKET", "x-incoming")
        .args(["audit", "--inventory", "not-an-address"])
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
