//! `filetrail audit` on the emulator, against both stores of the trail: a pipeline of real
//! stages (the Sorter and Processor handlers), the real recorder (`Recorder` with its InfluxDB
//! sink writing to a real InfluxDB, or its Timestream sink writing to moto's Timestream), then
//! the `filetrail` binary. One scenario for both: it finds exactly the files stuck in incoming
//! (one name parses, one does not), the level-0 file whose processing command failed and the
//! object a producer copied in without publishing; once each is fixed (sorted, reprocessed,
//! `filetrail publish`) it is clean. moto stores Timestream records but runs no query: the
//! binary's `Query` calls go through the test kit's front, answered in AWS's shape from what
//! moto stored (`filetrail_testkit::timestream_query::audit_trail`).

mod flags;

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use filetrail_audit::Lookup;
use filetrail_audit::timestream::Sql;
use filetrail_influxdb::{InfluxDb, InfluxDbConfig};
use filetrail_publisher::{EventBridge, Publisher, PublisherConfig};
use filetrail_recorder::config::{ENV_DATABASE, ENV_SINK, ENV_TABLE};
use filetrail_recorder::{
    InfluxDbSink, Layout, Recorder, SEED_MEASURE_NAME, Settings, Sink, SqsDeadLetters,
    TimestreamSink, TimestreamWriter, timestream_client,
};
use filetrail_stages::config::{
    ENV_BUCKET_PREFIX, ENV_INCOMING_BUCKET, ENV_INSTRUMENTS, ENV_MISSION,
};
use filetrail_stages::{ExternalCommand, NameRules, Processor, Sorter, SorterConfig, Stage};
use filetrail_testkit::front::{Front, TEST_EVENT_PATTERN, test_event_pattern};
use filetrail_testkit::pipeline::{self, BusToQueue};
use filetrail_testkit::timestream_query::{QUERY, TrailLookup, audit_trail};
use filetrail_testkit::{emulator, endpoint, fixtures, influxdb_url, sqs, unique_name};
use serde_json::{Value, json};

use super::{filetrail, filetrail_via};

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

/// Where the recorder writes and the audit reads.
enum Store {
    /// A real InfluxDB (scripts/with-influxdb.sh) and its client (boxed: its HTTP client is
    /// much larger than two names).
    InfluxDb(Box<InfluxDb>),
    /// A table of moto's Timestream (seed layout).
    Timestream { database: String, table: String },
}

impl Store {
    /// A fresh InfluxDB database; its variables for the recorder's reader.
    async fn influxdb() -> (Self, Vec<(&'static str, String)>) {
        let url = influxdb_url();
        let db = unique_name("audit").replace('-', "_");
        let env = vec![
            (ENV_SINK, "influxdb".to_owned()),
            (filetrail_influxdb::ENV_URL, url),
            (filetrail_influxdb::ENV_DATABASE, db.clone()),
        ];
        // The same reader the recorder and the audit use, over the same variables.
        let config = InfluxDbConfig::from_env(&vars(&env)).expect("config");
        let influx = InfluxDb::new(&config, None).expect("client");
        influx
            .query(&format!("CREATE DATABASE \"{db}\""))
            .await
            .expect("database");
        (Self::InfluxDb(Box::new(influx)), env)
    }

    /// A fresh table on the emulator (seed layout); its variables.
    async fn timestream(sdk: &aws_config::SdkConfig) -> (Self, Vec<(&'static str, String)>) {
        let (database, table) = (unique_name("audit"), pipeline::TABLE.to_owned());
        pipeline::timestream_table(sdk, &database, &table)
            .await
            .expect("table");
        let env = vec![
            (ENV_SINK, "timestream".to_owned()),
            (ENV_DATABASE, database.clone()),
            (ENV_TABLE, table.clone()),
        ];
        (Self::Timestream { database, table }, env)
    }

    /// The front every AWS call of the binary goes through: it answers `TestEventPattern`
    /// (`filetrail publish`) and, for Timestream, `Query` from what moto stored.
    async fn front(&self) -> Front {
        let mut answers = vec![(TEST_EVENT_PATTERN, test_event_pattern())];
        if let Self::Timestream { database, table } = self {
            answers.push((QUERY, audit_trail(database, table, SEED_MEASURE_NAME)));
        }
        Front::start(&endpoint(), answers).await
    }

    /// For Timestream: every `Query` the binary sent is exactly the audit's statement
    /// (`Sql::query` of the lookup it names), and `queries` statements were sent.
    fn check_queries(&self, front: &Front, queries: u64) {
        let Self::Timestream { database, table } = self else {
            return;
        };
        let sql = Sql::new(database, table, Layout::Seed);
        let requests = front.requests(QUERY);
        let statements = requests.iter().filter(|r| r.get("NextToken").is_none());
        assert_eq!(statements.count() as u64, queries, "{requests:?}");
        for r in &requests {
            let text = r["QueryString"].as_str().expect("QueryString");
            let l = TrailLookup::parse(text, database, table, SEED_MEASURE_NAME)
                .unwrap_or_else(|e| panic!("{e}: {text}"));
            let sources: Vec<&str> = l.sources.iter().map(String::as_str).collect();
            let destinations: Vec<&str> = l.destinations.iter().map(String::as_str).collect();
            let lookup = Lookup {
                bucket: &l.bucket,
                sources: &sources,
                destinations: &destinations,
                not_before: l
                    .not_before_ms
                    .and_then(chrono::DateTime::from_timestamp_millis),
            };
            assert_eq!(text, sql.query(&lookup), "the audit's own statement");
        }
    }
}

/// `env` as the variables a reader reads.
fn vars<'a>(env: &'a [(&'static str, String)]) -> filetrail_aws::Env<'a> {
    filetrail_aws::Env::from_fn(move |k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
}

struct Pipeline {
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    eb: aws_sdk_eventbridge::Client,
    sdk: aws_config::SdkConfig,
    route: BusToQueue,
    dlq: String,
    incoming: String,
    eea: String,
    env: Vec<(&'static str, String)>,
    store: Store,
    front: Front,
}

impl Pipeline {
    async fn start(timestream: bool) -> Self {
        let sdk = emulator().await;
        let (s3, sqs) = (
            filetrail_stages::s3_client(&sdk),
            aws_sdk_sqs::Client::new(&sdk),
        );
        let eb = aws_sdk_eventbridge::Client::new(&sdk);
        let route = pipeline::bus_to_queue(&eb, &sqs, "audit").await;
        let dlq = pipeline::create_queue(&sqs, &unique_name("audit-dlq")).await;
        let pipeline::MissionBuckets {
            prefix,
            incoming,
            instrument: eea,
        } = pipeline::mission_buckets(&s3, "a").await;
        let (store, sink_env) = if timestream {
            Store::timestream(&sdk).await
        } else {
            Store::influxdb().await
        };
        let mut env = vec![
            (ENV_MISSION, "hermes".to_owned()),
            (ENV_INSTRUMENTS, "eea".to_owned()),
            (ENV_BUCKET_PREFIX, prefix),
            (ENV_INCOMING_BUCKET, incoming.clone()),
        ];
        env.extend(sink_env);
        let front = store.front().await;
        Self {
            s3,
            sqs,
            eb,
            sdk,
            route,
            dlq,
            incoming,
            eea,
            env,
            store,
            front,
        }
    }

    /// The `filetrail` binary, reaching AWS through the front.
    fn filetrail(&self) -> tokio::process::Command {
        filetrail_via(self.front.url())
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
        let config = SorterConfig::from_env(&vars(&self.env)).expect("sorter config");
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
        let event = fixtures::s3_notification(&self.eea, &fixtures::form_encode(key));
        processor.handle(&event).await.errors.is_empty()
    }

    /// Deliver the `n` events waiting in the queue to the real recorder writing to the store.
    async fn record(&self, n: usize) {
        let messages =
            pipeline::drain(&self.sqs, &self.route.queue_url, n, Duration::from_secs(60)).await;
        assert_eq!(messages.len(), n, "events published");
        let event: SqsEvent =
            serde_json::from_value(sqs::from_messages(&messages, &self.route.queue_arn))
                .expect("an SQS event");
        let written = match &self.store {
            Store::InfluxDb(influx) => {
                self.recorded(InfluxDbSink::new(influx.as_ref().clone()), &event)
                    .await
            }
            Store::Timestream { database, table } => {
                let client = timestream_client(&self.sdk).await.expect("client");
                let writer = TimestreamWriter::new(client, database, table);
                self.recorded(TimestreamSink::new(writer, Layout::Seed), &event)
                    .await
            }
        };
        assert_eq!(written, n as u64);
    }

    /// The real recorder with `sink` handles `event`; the records it wrote.
    async fn recorded(&self, sink: impl Sink, event: &SqsEvent) -> u64 {
        let recorder = Recorder::new(
            sink,
            SqsDeadLetters::new(self.sqs.clone(), &self.dlq),
            Settings::default(),
        );
        let (_, counts) = recorder
            .handle(event, Instant::now() + Duration::from_secs(30))
            .await
            .expect("recorded");
        counts.written
    }

    /// `filetrail audit --older-than 0s` (`--json` when `json`) with the pipeline's variables.
    async fn run_audit(&self, json: bool) -> std::process::Output {
        let mut cmd = self.filetrail();
        cmd.envs(self.env.iter().cloned());
        if json {
            cmd.arg("--json");
        }
        cmd.args(["audit", "--older-than", "0s"]);
        cmd.output().await.expect("run")
    }

    /// `filetrail audit --older-than 0s --json`: its exit code and report; for Timestream, the
    /// queries it sent so far are checked.
    async fn audit(&self, queries_before: u64) -> (i32, Value) {
        let out = self.run_audit(true).await;
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let queries = report["counts"]["trail_queries"]
            .as_u64()
            .unwrap_or_default();
        self.store
            .check_queries(&self.front, queries_before + queries);
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
async fn against_influxdb_the_audit_finds_exactly_what_did_not_happen_and_is_clean_once_it_is_fixed()
 {
    scenario(Pipeline::start(false).await).await;
}

#[tokio::test]
async fn against_timestream_the_audit_finds_exactly_what_did_not_happen_and_is_clean_once_it_is_fixed()
 {
    let p = Pipeline::start(true).await;
    scenario(p).await;
}

/// The scenario on `p`'s store: build the problems, audit, fix them, audit again.
async fn scenario(p: Pipeline) {
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

    let (code, report) = p.audit(0).await;
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
        report["counts"]["trail_queries"], 2,
        "the page of eea, its records from a day before its oldest object, then its two keys without a record over the whole trail"
    );
    fix(&p, &example).await;

    let (code, report) = p.audit(2).await;
    assert_eq!((code, &report["clean"]), (0, &json!(true)), "{report}");
    assert_eq!(findings(&report), []);
    assert_eq!(
        report["counts"]["checked"], 10,
        "3 l0 files, their 6 products, the copy"
    );
    assert_eq!(
        report["counts"]["trail_queries"], 1,
        "every record within the bound: one query"
    );

    // Text for people: the summary and the same verdict; no progress bar off a terminal.
    let out = p.run_audit(false).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("stuck 0 (0 unparsable), unprocessed 0, unrecorded 0"),
        "{text}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("trail queries"),
        "no progress bar on a pipe: {stderr}"
    );
}

/// Fix each problem: remove the unparsable file and sweep; reprocess with a working command;
/// publish the copy's missing event (`filetrail publish`); record the seven events.
async fn fix(p: &Pipeline, example: &str) {
    p.s3.delete_object()
        .bucket(&p.incoming)
        .key("notes.txt")
        .send()
        .await
        .expect("delete");
    assert_eq!(p.sweep().await, 1);
    assert!(p.process(&l0_key(12), example).await);
    assert!(p.process(&l0_key(11), example).await);
    let out = p
        .filetrail()
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
    super::assert_success(&out);
    p.record(6).await; // one sort, four products, one published copy
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
    cmd.env(ENV_INCOMING_BUCKET, unique_name("nope"))
        .env(ENV_INSTRUMENTS, "eea")
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
        .env(ENV_INCOMING_BUCKET, "x-incoming")
        .args(["audit", "--inventory", "not-an-address"])
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
