//! The built `filetrail-recorder` binary under a local Lambda Runtime API stand-in.

use std::process::Stdio;
use std::time::Duration;

use filetrail_testkit::runtime_api::RuntimeApi;
use filetrail_testkit::{emulator, endpoint, pipeline, unique_name};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

const AWS_EXAMPLE_SQS_EVENT: &str = include_str!("fixtures/sqs-event.json");

/// AWS's documented SQS event (from aws_lambda_events' fixtures), bodies replaced by ours.
fn sqs_event_json(bodies: &[(&str, String)]) -> String {
    let mut event: Value = serde_json::from_str(AWS_EXAMPLE_SQS_EVENT).expect("fixture");
    let template = event["Records"][0].clone();
    event["Records"] = bodies
        .iter()
        .map(|(id, body)| {
            let mut r = template.clone();
            r["messageId"] = json!(id);
            r["body"] = json!(body);
            r
        })
        .collect();
    event.to_string()
}

async fn spawn(api: &RuntimeApi, env: &[(&str, String)]) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_filetrail-recorder"));
    cmd.env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "filetrail-recorder")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn the recorder binary")
}

#[tokio::test]
async fn the_binary_answers_a_real_sqs_event_with_a_partial_batch_response() {
    let sdk = emulator().await;
    let (db, table) = super::emulator::table(&sdk).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dlq = pipeline::create_queue(&sqs, &unique_name("bin-dlq")).await;

    let api = RuntimeApi::start().await;
    let mut child = spawn(
        &api,
        &[
            ("FILETRAIL_TIMESTREAM_DATABASE", db.clone()),
            ("FILETRAIL_TIMESTREAM_TABLE", table.clone()),
            ("FILETRAIL_DEAD_LETTER_QUEUE_URL", dlq.clone()),
        ],
    )
    .await;
    let good = super::envelope(&super::event(1));
    api.invoke(
        "req-1",
        &sqs_event_json(&[
            ("m-good", good.clone()),
            ("m-bad", "Test message.".into()),
            ("m-good-again", good),
        ]),
    );
    let answers = api.answers(1, Duration::from_secs(20)).await;
    assert_eq!(answers.len(), 1, "the function answered");
    assert!(answers[0].ok, "posted to /response: {}", answers[0].body);
    assert_eq!(answers[0].request_id, "req-1");
    let response: Value = serde_json::from_str(&answers[0].body).expect("json response");
    assert_eq!(response, json!({"batchItemFailures": []}));

    // A second process whose table does not exist: the documented partial-batch shape, naming
    // every message to redeliver.
    let api2 = RuntimeApi::start().await;
    let mut child2 = spawn(
        &api2,
        &[
            ("FILETRAIL_TIMESTREAM_DATABASE", db.clone()),
            ("FILETRAIL_TIMESTREAM_TABLE", "no_such_table".into()),
        ],
    )
    .await;
    api2.invoke(
        "req-2",
        &sqs_event_json(&[
            ("m-1", super::envelope(&super::event(2))),
            ("m-2", super::envelope(&super::event(3))),
        ]),
    );
    let answers2 = api2.answers(1, Duration::from_secs(20)).await;
    assert_eq!(answers2.len(), 1);
    let response2: Value = serde_json::from_str(&answers2[0].body).expect("json");
    assert_eq!(
        response2,
        json!({"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]})
    );

    // Logs are JSON, metrics are EMF lines.
    child.kill().await.expect("kill");
    child2.kill().await.expect("kill");
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .await
        .expect("read");
    let emf: Value = out
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("_aws").is_some())
        .unwrap_or_else(|| panic!("an EMF line in stdout: {out}"));
    assert_eq!(
        (
            emf["received"].as_u64(),
            emf["written"].as_u64(),
            emf["duplicate"].as_u64(),
            emf["dead_lettered"].as_u64()
        ),
        (Some(3), Some(1), Some(1), Some(1))
    );
    assert!(
        out.lines().any(
            |l| serde_json::from_str::<Value>(l)
                .is_ok_and(|v| v["fields"]["message"] == "batch recorded"
                    || v["message"] == "batch recorded")
        ),
        "JSON logs: {out}"
    );
}

/// What Terraform gives a function for `log_level = "WARN"` (modules' `lambda_log_level` and
/// `rust_log`): Lambda filters at INFO, the binary itself at WARN.
const DEPLOYED_AT_WARN: [(&str, &str); 3] = [
    ("AWS_LAMBDA_FUNCTION_NAME", "filetrail-dev-recorder"),
    ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
    ("RUST_LOG", "warn"),
];

#[tokio::test]
async fn the_binary_reports_metrics_under_the_deployed_name_past_lambdas_log_filter() {
    let sdk = emulator().await;
    let (db, table) = super::emulator::table(&sdk).await;
    let api = RuntimeApi::start().await;
    let mut env: Vec<(&str, String)> = vec![
        ("FILETRAIL_TIMESTREAM_DATABASE", db),
        ("FILETRAIL_TIMESTREAM_TABLE", table),
    ];
    env.extend(DEPLOYED_AT_WARN.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let mut child = spawn(&api, &env).await;
    api.invoke(
        "req-name",
        &sqs_event_json(&[("m-1", super::envelope(&super::event(7)))]),
    );
    let answers = api.answers(1, Duration::from_secs(20)).await;
    assert_eq!(answers.len(), 1, "the function answered");
    assert!(answers[0].ok, "{}", answers[0].body);
    child.kill().await.expect("kill");
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .await
        .expect("read");

    // What CloudWatch Logs receives at Lambda's INFO: the EMF line, with the deployed name.
    let kept = filetrail_testkit::runtime_api::lines_lambda_keeps(&out, "INFO");
    let emf: Value = kept
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("_aws").is_some())
        .unwrap_or_else(|| panic!("an EMF line past Lambda's filter: {out}"));
    assert_eq!(emf["function"], "filetrail-dev-recorder", "{emf}");
    assert_eq!(emf["written"].as_u64(), Some(1), "{emf}");
    assert!(
        emf.get("level").is_none(),
        "EMF lines carry no level: {emf}"
    );
    // The binary filtered its own logs at RUST_LOG=warn: no INFO line ("recorder starting",
    // "batch recorded") was written at all.
    assert!(
        !out.lines()
            .any(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| v["level"] == "INFO")),
        "INFO logs below RUST_LOG=warn: {out}"
    );
    // Had Lambda filtered at WARN, the metrics would be gone: why Terraform never sets it.
    assert!(
        !filetrail_testkit::runtime_api::lines_lambda_keeps(&out, "WARN")
            .iter()
            .any(|l| l.contains("\"_aws\"")),
        "{out}"
    );
}
