//! The built `filetrail-auditor` binary under the test kit's Lambda (`lambda::Spec`: the
//! Runtime API stand-in, the variables Lambda sets), against the emulator: files stuck in the
//! incoming bucket and what the trail lacks (a level-0 file without a product, an object no
//! record names; the trail is moto's Timestream table, its `Query` answered by the test kit's
//! front) are counted in the EMF line under the deployed name and logged one JSON line each;
//! an audit that cannot read a bucket fails the invocation; one whose trail does not answer
//! fails it at the work deadline, before Lambda's timeout, saying how far it got.

use std::time::{Duration, Instant};

use filetrail_audit::config::ENV_OLDER_THAN;
use filetrail_audit::{ObjectSource, RECORD_TIME_MARGIN, S3Listing};
use filetrail_contract::{ActionType, FileMoved, Move, OccurredAt};
use filetrail_recorder::config::{ENV_DATABASE, ENV_SINK, ENV_TABLE};
use filetrail_recorder::{Layout, SEED_MEASURE_NAME, timestream_client};
use filetrail_stages::config::{
    ENV_BUCKET_PREFIX, ENV_INCOMING_BUCKET, ENV_INSTRUMENTS, ENV_MISSION,
};
use filetrail_testkit::fixtures::SCHEDULED_EVENT;
use filetrail_testkit::front::Front;
use filetrail_testkit::lambda::{Lambda, Spec, Written};
use filetrail_testkit::pipeline::{INSTRUMENT, MISSION};
use filetrail_testkit::runtime_api::lines_lambda_keeps;
use filetrail_testkit::timestream_query::{QUERY, TrailLookup, audit_trail};
use filetrail_testkit::{emulator, endpoint, hanging_endpoint, inventory, pipeline, unique_name};
use serde_json::{Value, json};

const FUNCTION: &str = "filetrail-dev-auditor";

/// The mission's buckets under a fresh prefix (the test kit's).
struct Buckets {
    s3: aws_sdk_s3::Client,
    prefix: String,
    incoming: String,
    eea: String,
}

impl Buckets {
    async fn create() -> Self {
        let s3 = filetrail_stages::s3_client(&emulator().await);
        let m = pipeline::mission_buckets(&s3, "aud").await;
        Self {
            s3,
            prefix: m.prefix,
            incoming: m.incoming,
            eea: m.instrument,
        }
    }

    /// The stages' variables naming these buckets.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (ENV_MISSION, MISSION.into()),
            (ENV_INSTRUMENTS, INSTRUMENT.into()),
            (ENV_BUCKET_PREFIX, self.prefix.clone()),
            (ENV_INCOMING_BUCKET, self.incoming.clone()),
            (ENV_OLDER_THAN, "0s".into()),
        ]
    }
}

/// The auditor binary as Terraform configures it for `log_level = "WARN"`, reaching AWS at
/// `aws`, with `env`.
fn auditor(aws: &str, env: Vec<(&'static str, String)>) -> Spec {
    Spec::new(env!("CARGO_BIN_EXE_filetrail-auditor"))
        .name(FUNCTION)
        .aws_endpoint(aws)
        .log_levels("INFO", "warn")
        .envs(env)
}

/// Start `spec`, invoke it once with the scheduled event; its answer and what it wrote.
async fn invoke_once(
    spec: &Spec,
    wait: Duration,
) -> (filetrail_testkit::runtime_api::Answer, Written) {
    let mut lambda: Lambda = spec.start().await.expect("start the auditor");
    let answer = lambda
        .invoke(SCHEDULED_EVENT, wait)
        .await
        .expect("an answer");
    (answer, lambda.stop().await)
}

/// The JSON log lines whose message is `message`, their fields.
fn logged(out: &str, message: &str) -> Vec<Value> {
    out.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| {
            if v.get("fields").is_some() {
                v["fields"].clone()
            } else {
                v
            }
        })
        .filter(|f| f["message"] == message)
        .collect()
}

/// Whether the function wrote an EMF line (counts).
fn emitted_counts(out: &str) -> bool {
    out.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .any(|v| v.get("_aws").is_some())
}

/// Record a `PUT` in moto's table as the recorder writes it (seed layout).
async fn record(sdk: &aws_config::SdkConfig, db: &str, table: &str, m: Move) {
    let client = timestream_client(sdk).await.expect("client").sdk().clone();
    let record = Layout::Seed
        .record(&FileMoved::from_move(m))
        .expect("record");
    client
        .write_records()
        .database_name(db)
        .table_name(table)
        .common_attributes(Layout::Seed.common_attributes())
        .records(record)
        .send()
        .await
        .expect("write");
}

#[tokio::test]
async fn the_binary_counts_what_the_trail_lacks_under_the_deployed_name() {
    let sdk = emulator().await;
    let b = Buckets::create().await;
    let (db, table) = (unique_name("auditdb"), pipeline::TABLE.to_owned());
    pipeline::timestream_table(&sdk, &db, &table)
        .await
        .expect("table");
    let (parsable, unparsable) = (
        "hermes_eea_l0_2024001-000000_v01.bin",
        "notes from the night shift.txt",
    );
    let l0 = "l0/2024/01/02/hermes_eea_l0_2024002-000000_v01.bin";
    let copied = "l1/2024/01/02/hermes_eea_l1_20240102T000000_v1.0.0.cdf";
    let published = "l1/2024/01/01/hermes_eea_l1_20240101T000000_v1.0.0.cdf";
    for key in [parsable, unparsable] {
        inventory::put_object(&b.s3, &b.incoming, key, b"science".to_vec()).await;
    }
    for key in [l0, copied, published] {
        inventory::put_object(&b.s3, &b.eea, key, b"science".to_vec()).await;
    }
    // The page's first query asks records from a day before its oldest object, as listed.
    let listed = S3Listing::new(b.s3.clone())
        .page(&b.eea, None)
        .await
        .expect("list");
    let oldest = listed.objects.iter().map(|o| o.last_modified).min();
    let margin = chrono::Duration::from_std(RECORD_TIME_MARGIN).expect("margin");
    let bound = OccurredAt::from_datetime(oldest.expect("objects") - margin).millis();
    // The l0 file's sort is recorded just inside that bound, no product of it is; the copy is
    // not recorded; `published`'s record is just outside the bound (a publisher whose time is
    // older than the object), so only the second query, over the whole trail, finds it.
    let put = |file_key: &str, new_file_key: Option<&str>, ms: i64| Move {
        action_type: ActionType::Put,
        source_bucket: Some(b.incoming.clone()),
        file_key: file_key.into(),
        destination_bucket: Some(b.eea.clone()),
        new_file_key: new_file_key.map(str::to_owned),
        occurred_at: OccurredAt::from_millis(ms),
    };
    let sort = put("hermes_eea_l0_2024002-000000_v01.bin", Some(l0), bound);
    record(&sdk, &db, &table, sort).await;
    record(&sdk, &db, &table, put(published, None, bound - 1)).await;
    let front = Front::start(
        &endpoint(),
        vec![(QUERY, audit_trail(&db, &table, SEED_MEASURE_NAME))],
    )
    .await;
    let mut env = b.env();
    env.extend([
        (ENV_SINK, "timestream".into()),
        (ENV_DATABASE, db.clone()),
        (ENV_TABLE, table.clone()),
    ]);
    let (answer, written) = invoke_once(&auditor(front.url(), env), Duration::from_secs(30)).await;
    assert!(
        answer.ok,
        "findings are an answer, not an error: {}",
        answer.body
    );
    let response: Value = serde_json::from_str(&answer.body).expect("json");
    assert_eq!(response["clean"], false, "{response}");
    assert_eq!(
        (
            &response["counts"]["stuck"],
            &response["counts"]["unprocessed"],
            &response["counts"]["unrecorded"]
        ),
        (&json!(2), &json!(1), &json!(1)),
        "{response}"
    );
    assert_eq!(
        response["counts"]["trail_queries"], 2,
        "the page of eea from the bound, then its keys without a record over the whole trail"
    );
    // What the Lambda asked, as the front's strict parser reads it: the bound first, then
    // exactly the keys the first query left without a record (the sort at the bound was found).
    let asked: Vec<TrailLookup> = front
        .requests(QUERY)
        .iter()
        .filter(|r| r.get("NextToken").is_none())
        .map(|r| {
            let sql = r["QueryString"].as_str().expect("QueryString");
            TrailLookup::parse(sql, &db, &table, SEED_MEASURE_NAME).expect("the audit's lookup")
        })
        .collect();
    let keys = |k: &[&str]| k.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_eq!(asked[0].not_before_ms, Some(bound));
    assert_eq!(
        (
            asked[1].not_before_ms,
            asked[1].sources.clone(),
            asked[1].destinations.clone()
        ),
        (None, keys(&[l0]), keys(&[published, copied])),
        "{asked:?}"
    );

    let out = written.stdout;
    // What CloudWatch Logs keeps at Lambda's INFO filter: the EMF line under the deployed name.
    let emf: Value = lines_lambda_keeps(&out, "INFO")
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("_aws").is_some())
        .unwrap_or_else(|| panic!("an EMF line past Lambda's filter: {out}"));
    assert_eq!(emf["function"], FUNCTION, "{emf}");
    assert_eq!(
        emf["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "filetrail"
    );
    assert_eq!(
        emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["function"]])
    );
    assert_eq!(
        (
            emf["stuck_files"].as_u64(),
            emf["unprocessed_files"].as_u64(),
            emf["unrecorded_files"].as_u64(),
            emf["audited_objects"].as_u64()
        ),
        (Some(2), Some(1), Some(1), Some(5)),
        "{emf}"
    );
    // Each finding is one JSON log line, kept at RUST_LOG=warn.
    let mut findings: Vec<(String, String, String)> = logged(&out, "audit finding")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("kind"), s("bucket"), s("key"))
        })
        .collect();
    findings.sort();
    // Every line of the audit is in the invocation's span, which names its request id.
    let spans: Vec<Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "audit finding")
        .map(|v| v["span"].clone())
        .collect();
    assert_eq!(spans.len(), 4, "{out}");
    for span in &spans {
        assert_eq!(
            (span["name"].as_str(), span["request_id"].as_str()),
            (Some("invocation"), Some(answer.request_id.as_str())),
            "{out}"
        );
    }
    let want = |k: &str, b: &str, key: &str| (k.to_owned(), b.to_owned(), key.to_owned());
    assert_eq!(
        findings,
        [
            want("stuck", &b.incoming, parsable),
            want("stuck", &b.incoming, unparsable),
            want("unprocessed", &b.eea, l0),
            want("unrecorded", &b.eea, copied),
        ],
        "{out}"
    );
}

#[tokio::test]
async fn an_audit_that_cannot_read_a_bucket_fails_the_invocation() {
    let b = Buckets::create().await;
    let mut env = b.env();
    env.push((
        ENV_INCOMING_BUCKET,
        format!("{}{MISSION}-nowhere", b.prefix),
    ));
    let (answer, written) = invoke_once(&auditor(&endpoint(), env), Duration::from_secs(30)).await;
    assert!(!answer.ok, "posted to /error: {}", answer.body);
    assert!(answer.body.contains("NoSuchBucket"), "{}", answer.body);
    assert!(
        !emitted_counts(&written.stdout),
        "no metrics from an audit that did not finish: {}",
        written.stdout
    );
}

#[tokio::test]
async fn an_audit_whose_trail_never_answers_fails_at_the_work_deadline_saying_how_far_it_got() {
    let b = Buckets::create().await;
    inventory::put_object(&b.s3, &b.incoming, "stuck.bin", b"x".to_vec()).await;
    inventory::put_object(&b.s3, &b.eea, "l1/waiting.cdf", b"x".to_vec()).await;
    let mut env = b.env();
    env.extend([
        (ENV_SINK, "influxdb".to_owned()),
        (filetrail_influxdb::ENV_URL, hanging_endpoint().await),
        (filetrail_influxdb::ENV_DATABASE, "trail".to_owned()),
    ]);
    // A 6 s function: the work deadline is half the time left (3 s), the stages' rule.
    let timeout = Duration::from_secs(6);
    let mut lambda = auditor(&endpoint(), env)
        .timeout(timeout)
        .start()
        .await
        .expect("start");
    lambda
        .api()
        .wait_first_next(Duration::from_secs(30))
        .await
        .expect("the auditor started");
    let sent = Instant::now();
    let answer = lambda
        .invoke(SCHEDULED_EVENT, timeout)
        .await
        .unwrap_or_else(|| panic!("no answer before the function's {timeout:?} timeout"));
    let took = sent.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "it waited for the trail until the deadline: {took:?}"
    );
    assert!(!answer.ok, "the invocation fails: {}", answer.body);
    for part in [
        "did not finish by the work deadline".to_owned(),
        format!("the last page from {}", b.incoming),
        "looked 0 up with 0 trail queries".to_owned(),
    ] {
        assert!(answer.body.contains(&part), "{part:?} in {}", answer.body);
    }
    let out = lambda.stop().await.stdout;
    assert_eq!(
        logged(&out, "the audit reached the work deadline").len(),
        1,
        "{out}"
    );
    assert!(
        !emitted_counts(&out),
        "no counts from an audit that did not finish: {out}"
    );
}
