//! The built `filetrail-recorder` binary under a local Lambda Runtime API stand-in.

use std::time::Duration;

use filetrail_recorder::config::{ENV_DATABASE, ENV_DEAD_LETTER_QUEUE_URL, ENV_TABLE};
use filetrail_testkit::lambda::{FUNCTION_NAME_ENV, LOG_LEVEL_ENV, Lambda, RUST_LOG_ENV};
use filetrail_testkit::runtime_api::{Answer, lines_lambda_keeps};
use filetrail_testkit::{emulator, pipeline, sqs, unique_name};
use serde_json::{Value, json};

use super::{emf_line, recorder_binary};

/// The recorder with `env`, started.
async fn start(env: &[(&str, String)]) -> Lambda {
    recorder_binary()
        .envs(env.iter().cloned())
        .start()
        .await
        .expect("spawn the recorder binary")
}

/// Invoke `lambda` with an SQS event of (message id, body) pairs; its answer.
async fn invoke(lambda: &mut Lambda, messages: &[(&str, String)]) -> Answer {
    let event = sqs::event(messages.iter().map(|(id, body)| (*id, body)));
    lambda
        .invoke(&event.to_string(), Duration::from_secs(20))
        .await
        .expect("the function answered")
}

#[tokio::test]
async fn the_binary_answers_a_real_sqs_event_with_a_partial_batch_response() {
    let sdk = emulator().await;
    let (db, table) = super::emulator::table(&sdk).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dlq = pipeline::create_queue(&sqs, &unique_name("bin-dlq")).await;

    let mut lambda = start(&[
        (ENV_DATABASE, db.clone()),
        (ENV_TABLE, table.clone()),
        (ENV_DEAD_LETTER_QUEUE_URL, dlq.clone()),
    ])
    .await;
    let good = super::envelope(&super::event(1));
    let answer = invoke(
        &mut lambda,
        &[
            ("m-good", good.clone()),
            ("m-bad", "Test message.".into()),
            ("m-good-again", good),
        ],
    )
    .await;
    assert!(answer.ok, "posted to /response: {}", answer.body);
    assert_eq!(answer.request_id, "filetrail-recorder-1");
    let response: Value = serde_json::from_str(&answer.body).expect("json response");
    assert_eq!(response, json!({"batchItemFailures": []}));

    // A second process whose table does not exist: the documented partial-batch shape, naming
    // every message to redeliver.
    let mut lambda2 = start(&[
        (ENV_DATABASE, db.clone()),
        (ENV_TABLE, "no_such_table".into()),
    ])
    .await;
    let answer2 = invoke(
        &mut lambda2,
        &[
            ("m-1", super::envelope(&super::event(2))),
            ("m-2", super::envelope(&super::event(3))),
        ],
    )
    .await;
    let response2: Value = serde_json::from_str(&answer2.body).expect("json");
    assert_eq!(
        response2,
        json!({"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]})
    );

    // Logs are JSON, metrics are EMF lines.
    let out = lambda.stop().await.stdout;
    lambda2.stop().await;
    let emf = emf_line(out.lines()).unwrap_or_else(|| panic!("an EMF line in stdout: {out}"));
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
    (FUNCTION_NAME_ENV, "filetrail-dev-recorder"),
    (LOG_LEVEL_ENV, "INFO"),
    (RUST_LOG_ENV, "warn"),
];

#[tokio::test]
async fn the_binary_reports_metrics_under_the_deployed_name_past_lambdas_log_filter() {
    let sdk = emulator().await;
    let (db, table) = super::emulator::table(&sdk).await;
    let mut env: Vec<(&str, String)> = vec![(ENV_DATABASE, db), (ENV_TABLE, table)];
    env.extend(DEPLOYED_AT_WARN.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let mut lambda = start(&env).await;
    let answer = invoke(&mut lambda, &[("m-1", super::envelope(&super::event(7)))]).await;
    assert!(answer.ok, "{}", answer.body);
    let out = lambda.stop().await.stdout;

    // What CloudWatch Logs receives at Lambda's INFO: the EMF line, with the deployed name.
    let emf = emf_line(lines_lambda_keeps(&out, "INFO"))
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
        !lines_lambda_keeps(&out, "WARN")
            .iter()
            .any(|l| l.contains("\"_aws\"")),
        "{out}"
    );
}
