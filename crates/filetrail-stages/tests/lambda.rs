//! The built stage binaries under the test kit's Lambda Runtime API stand-in.

use std::process::Stdio;
use std::time::Duration;

use filetrail_stages::config::{ENV_BUCKET_PREFIX, ENV_INCOMING_BUCKET};
use filetrail_testkit::endpoint;
use filetrail_testkit::runtime_api::{RuntimeApi, lines_lambda_keeps};
use serde_json::Value;
use tokio::io::AsyncReadExt;

use super::Sorting;

#[tokio::test]
async fn the_sorter_binary_reports_metrics_under_its_deployed_name() {
    let setup = Sorting::start("sortbin", &[]).await;
    let (emu, prefix, incoming) = (&setup.emu, &setup.prefix, &setup.incoming);
    let api = RuntimeApi::start().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_filetrail-sorter"))
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "filetrail-dev-sorter")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        // What Terraform sets for log_level = "ERROR": Lambda filters at INFO, the binary at error.
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .env("RUST_LOG", "error")
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("FILETRAIL_EVENT_BUS", &emu.route.bus)
        .env("FILETRAIL_EVENT_SOURCE", "sdc.sorter")
        .env(ENV_INCOMING_BUCKET, incoming)
        .env(ENV_BUCKET_PREFIX, prefix)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the sorter binary");
    // A scheduled sweep of the (empty) incoming bucket.
    api.invoke("req-sweep", super::SCHEDULED_EVENT);
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
    let emf: Value = lines_lambda_keeps(&out, "INFO")
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("_aws").is_some())
        .unwrap_or_else(|| panic!("an EMF line past Lambda's filter: {out}"));
    assert_eq!(emf["function"], "filetrail-dev-sorter", "{emf}");
    assert_eq!(emf["sweep_pages"].as_u64(), Some(1), "{emf}");
    assert!(
        !out.lines()
            .any(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| v["level"] == "INFO")),
        "INFO logs below RUST_LOG=error: {out}"
    );
}
