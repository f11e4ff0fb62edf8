//! The built `filetrail-auditor` binary under the Runtime API stand-in, against the emulator:
//! files stuck in the incoming bucket are counted in the EMF line under the deployed name and
//! logged one JSON line each; an audit that cannot read a bucket fails the invocation.

use std::time::Duration;

use filetrail_testkit::runtime_api::{
    RuntimeApi, function_command, lines_lambda_keeps, stop_and_read_stdout,
};
use filetrail_testkit::{emulator, unique_name};
use serde_json::{Value, json};

/// An EventBridge scheduled event, as AWS documents it (eb-run-lambda-schedule.html).
const SCHEDULED_EVENT: &str = r#"{
  "version": "0",
  "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  "source": "aws.events",
  "account": "123456789012",
  "time": "2015-10-08T16:53:06Z",
  "region": "us-east-1",
  "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],
  "detail": {}
}"#;

const INSTRUMENT: &str = "eea";
const MISSION: &str = "hermes";

/// Incoming and instrument buckets under a fresh prefix; returns (prefix, incoming bucket).
async fn buckets(s3: &aws_sdk_s3::Client) -> (String, String) {
    let prefix = format!("{}-", unique_name("aud"));
    let incoming = format!("{prefix}{MISSION}-incoming");
    for b in [incoming.clone(), format!("{prefix}{MISSION}-{INSTRUMENT}")] {
        s3.create_bucket()
            .bucket(&b)
            .send()
            .await
            .expect("create bucket");
    }
    (prefix, incoming)
}

async fn spawn(api: &RuntimeApi, env: &[(&str, String)]) -> tokio::process::Child {
    let mut cmd = function_command(
        env!("CARGO_BIN_EXE_filetrail-auditor"),
        api,
        "filetrail-dev-auditor",
    );
    // What Terraform gives the function for log_level = "WARN".
    cmd.env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .env("RUST_LOG", "warn")
        .env("FILETRAIL_MISSION", MISSION)
        .env("FILETRAIL_INSTRUMENTS", INSTRUMENT)
        .env("FILETRAIL_AUDIT_OLDER_THAN", "0s")
        .env("FILETRAIL_TIMESTREAM_DATABASE", "no_query_needed")
        .env("FILETRAIL_TIMESTREAM_TABLE", "no_query_needed");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn the auditor binary")
}

#[tokio::test]
async fn the_binary_counts_stuck_files_under_the_deployed_name() {
    let sdk = emulator().await;
    let s3 = filetrail_stages::s3_client(&sdk);
    let (prefix, incoming) = buckets(&s3).await;
    let parsable = "hermes_eea_l0_2024001-000000_v01.bin";
    let unparsable = "notes from the night shift.txt";
    for key in [parsable, unparsable] {
        s3.put_object()
            .bucket(&incoming)
            .key(key)
            .body(b"science".to_vec().into())
            .send()
            .await
            .expect("put");
    }

    let api = RuntimeApi::start().await;
    let child = spawn(
        &api,
        &[
            ("FILETRAIL_INCOMING_BUCKET", incoming.clone()),
            ("FILETRAIL_BUCKET_PREFIX", prefix.clone()),
        ],
    )
    .await;
    api.invoke("audit-1", SCHEDULED_EVENT);
    let answers = api.answers(1, Duration::from_secs(30)).await;
    assert_eq!(answers.len(), 1, "the function answered");
    assert!(
        answers[0].ok,
        "findings are an answer, not an error: {}",
        answers[0].body
    );
    let response: Value = serde_json::from_str(&answers[0].body).expect("json");
    assert_eq!(response["clean"], false, "{response}");
    assert_eq!(response["counts"]["stuck"], 2, "{response}");

    let out = stop_and_read_stdout(child).await;
    // What CloudWatch Logs keeps at Lambda's INFO filter: the EMF line under the deployed name.
    let kept = lines_lambda_keeps(&out, "INFO");
    let emf: Value = kept
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("_aws").is_some())
        .unwrap_or_else(|| panic!("an EMF line past Lambda's filter: {out}"));
    assert_eq!(emf["function"], "filetrail-dev-auditor", "{emf}");
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
        (Some(2), Some(0), Some(0), Some(2)),
        "{emf}"
    );
    // Each finding is one JSON log line, kept at RUST_LOG=warn.
    let findings: Vec<Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "audit finding" || v["message"] == "audit finding")
        .collect();
    let keys: Vec<String> = findings
        .iter()
        .map(|v| {
            let f = if v.get("fields").is_some() {
                &v["fields"]
            } else {
                v
            };
            assert_eq!(f["kind"], "stuck", "{v}");
            assert_eq!(f["bucket"], incoming.as_str(), "{v}");
            f["key"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(keys.len(), 2, "{out}");
    assert!(
        keys.contains(&parsable.to_owned()) && keys.contains(&unparsable.to_owned()),
        "{keys:?}"
    );
}

#[tokio::test]
async fn an_audit_that_cannot_read_a_bucket_fails_the_invocation() {
    let sdk = emulator().await;
    let s3 = filetrail_stages::s3_client(&sdk);
    let (prefix, _) = buckets(&s3).await;
    let missing = format!("{prefix}{MISSION}-nowhere");
    let api = RuntimeApi::start().await;
    let child = spawn(
        &api,
        &[
            ("FILETRAIL_INCOMING_BUCKET", missing.clone()),
            ("FILETRAIL_BUCKET_PREFIX", prefix),
        ],
    )
    .await;
    api.invoke("audit-2", SCHEDULED_EVENT);
    let answers = api.answers(1, Duration::from_secs(30)).await;
    assert_eq!(answers.len(), 1, "the function answered");
    assert!(!answers[0].ok, "posted to /error: {}", answers[0].body);
    assert!(
        answers[0].body.contains("NoSuchBucket"),
        "{}",
        answers[0].body
    );
    let out = stop_and_read_stdout(child).await;
    assert!(
        !out.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|v| v.get("_aws").is_some()),
        "no metrics from an audit that did not finish: {out}"
    );
}
