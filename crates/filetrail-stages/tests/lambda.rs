//! The built stage binaries under the test kit's Lambda Runtime API stand-in.

use std::time::Duration;

use filetrail_publisher::{ENV_EVENT_BUS, ENV_EVENT_SOURCE};
use filetrail_stages::config::{ENV_BUCKET_PREFIX, ENV_INCOMING_BUCKET};
use filetrail_testkit::endpoint;
use filetrail_testkit::lambda::Spec;
use filetrail_testkit::runtime_api::lines_lambda_keeps;
use serde_json::Value;

use super::Sorting;

#[tokio::test]
async fn the_sorter_binary_reports_metrics_under_its_deployed_name() {
    let setup = Sorting::start("sortbin", &[]).await;
    let (emu, prefix, incoming) = (&setup.emu, &setup.prefix, &setup.incoming);
    let mut lambda = Spec::new(env!("CARGO_BIN_EXE_filetrail-sorter"))
        .name("filetrail-dev-sorter")
        .aws_endpoint(&endpoint())
        // What Terraform sets for log_level = "ERROR": Lambda filters at INFO, the binary at error.
        .log_levels("INFO", "error")
        .env(ENV_EVENT_BUS, &emu.route.bus)
        .env(ENV_EVENT_SOURCE, "sdc.sorter")
        .env(ENV_INCOMING_BUCKET, incoming)
        .env(ENV_BUCKET_PREFIX, prefix)
        .start()
        .await
        .expect("start the sorter binary");
    // A scheduled sweep of the (empty) incoming bucket.
    lambda.send(super::SCHEDULED_EVENT);
    let answers = lambda.api().answers(1, Duration::from_secs(20)).await;
    assert_eq!(answers.len(), 1, "the function answered");
    assert!(answers[0].ok, "{}", answers[0].body);
    let out = lambda.stop().await.stdout;
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
