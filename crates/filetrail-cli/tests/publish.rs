//! `filetrail publish` on the emulator.

use std::time::Duration;

use filetrail_cli::publish::{parse_line, publish_lines};
use filetrail_contract::OccurredAt;
use filetrail_publisher::{EventBridge, Publisher, PublisherConfig};
use filetrail_testkit::{CallCounter, emulator, pipeline};
use tokio::io::AsyncWriteExt;

use super::{
    assert_success, drain_all, event, filetrail, filetrail_via, front, narrow_the_rule, routed_bus,
};

fn line(i: usize) -> String {
    let mut v = serde_json::to_value(event("pub", i)).expect("json");
    // Scripts may leave out what can be derived.
    let o = v.as_object_mut().expect("object");
    o.remove("event_id");
    o.remove("schema_version");
    v.to_string()
}

#[tokio::test]
async fn a_thousand_json_lines_take_a_hundred_put_events_calls() {
    let sdk = emulator().await;
    let counter = CallCounter::default();
    let eb = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let route =
        pipeline::bus_to_queue(&aws_sdk_eventbridge::Client::new(&sdk), &sqs, "pub1000").await;
    let config = PublisherConfig {
        bus: route.bus.clone(),
        source: "sdc.external".into(),
        deadline: Duration::from_secs(30),
    };
    let publisher = Publisher::new(EventBridge::new(eb, route.bus.clone()), config);

    let input: String = (0..1000).map(|i| line(i) + "\n").collect();
    let summary = publish_lines(&publisher, input.as_bytes(), None).await;
    assert!(summary.ok(), "{summary:?}");
    assert_eq!(
        (summary.lines, summary.published, summary.put_events_calls),
        (1000, 1000, 100)
    );
    assert_eq!(counter.count(), 100, "100 PutEvents requests on the wire");
    assert_eq!(
        pipeline::depth(&sqs, &route.queue_url, 1000, Duration::from_secs(30)).await,
        1000
    );
}

#[tokio::test]
async fn invalid_lines_are_reported_by_number_and_the_rest_published() {
    let (sqs, route) = routed_bus("publines").await;
    let mut bad_action: serde_json::Value = serde_json::from_str(&line(3)).expect("json");
    bad_action["action_type"] = "COPY".into();
    let input = [
        line(1),
        "not json".into(),
        line(2),
        String::new(),
        bad_action.to_string(),
        line(4),
    ]
    .join("\n");

    let mut child = filetrail()
        .args([
            "--json",
            "publish",
            "--bus",
            &route.bus,
            "--event-source",
            "sdc.external",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).await.expect("write");
    drop(stdin);
    let out = child.wait_with_output().await.expect("run");
    assert!(
        !out.status.success(),
        "invalid lines make the exit code non-zero"
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(summary["published"], 3);
    assert_eq!(summary["invalid"][0]["line"], 2);
    assert!(
        summary["invalid"][0]["error"]
            .as_str()
            .expect("e")
            .starts_with("not JSON")
    );
    assert_eq!(summary["invalid"][1]["line"], 5);
    assert!(
        summary["invalid"][1]["error"]
            .as_str()
            .expect("e")
            .starts_with("action_type:"),
        "{summary}"
    );
    assert_eq!(drain_all(&sqs, &route.queue_url, 3).await.len(), 3);
}

/// `filetrail publish --bus <bus> --file-key <key>`, to be given the other flags.
fn publish_key(bus: &str, key: &str) -> tokio::process::Command {
    let mut cmd = filetrail();
    cmd.args(["publish", "--bus", bus, "--file-key", key]);
    cmd
}

#[tokio::test]
async fn one_event_from_flags() {
    let (sqs, route) = routed_bus("pubflags").await;
    let out = publish_key(&route.bus, "hermes_eea_l0_2024001-000000_v01.bin")
        .args([
            "--source-bucket",
            "hermes-incoming",
            "--destination-bucket",
            "hermes-eea",
        ])
        .args([
            "--new-file-key",
            "l0/2024/01/01/hermes_eea_l0_2024001-000000_v01.bin",
            "--occurred-at",
            "2024-05-01T12:00:00.123Z",
        ])
        .output()
        .await
        .expect("run");
    assert_success(&out);
    let got = drain_all(&sqs, &route.queue_url, 1).await;
    let body: serde_json::Value = serde_json::from_str(got[0].body().expect("body")).expect("json");
    assert_eq!(body["source"], "filetrail.cli");
    assert_eq!(body["detail"]["occurred_at"], "2024-05-01T12:00:00.123Z");

    let out = publish_key(&route.bus, "k")
        .args(["--action", "COPY"])
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--action"),
        "names the flag"
    );
}

#[test]
fn lines_may_omit_derived_fields_but_not_lie_about_them() {
    let now = OccurredAt::now();
    let e = parse_line(&line(9), now).expect("derived");
    assert_eq!(e.event_id, event("pub", 9).event_id);
    let mut v = serde_json::to_value(event("pub", 9)).expect("json");
    v["event_id"] = "0123456789abcdef0123456789abcdef".into();
    assert!(
        parse_line(&v.to_string(), now)
            .expect_err("wrong id")
            .starts_with("event_id:")
    );
}

#[tokio::test]
async fn every_subcommand_has_help() {
    for sub in ["replay", "publish", "history", "dlq", "status"] {
        let out = filetrail()
            .args([sub, "--help"])
            .output()
            .await
            .expect("run");
        assert!(out.status.success(), "{sub} --help");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: filetrail"),
            "{sub}"
        );
    }
    let out = filetrail()
        .args(["replay", "--from", "x"])
        .output()
        .await
        .expect("run");
    assert!(!out.status.success(), "missing target is an error");
}

/// `publish` sends what it is told to, but warns when no rule of the bus routes it (EventBridge
/// accepts such an event and drops it): here the rule routes only the stages' sources, and the
/// CLI's default source is not among them. Through the deployed pattern, no warning.
#[tokio::test]
async fn publishing_what_no_rule_routes_warns() {
    let sdk = emulator().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let eb = aws_sdk_eventbridge::Client::new(&sdk);
    let front = front().await;
    let publish = |bus: String| {
        let mut cmd = filetrail_via(front.url());
        cmd.args([
            "--json",
            "publish",
            "--bus",
            &bus,
            "--file-key",
            "warn/hermes_eea_l0_2024001-000001_v01.bin",
            "--source-bucket",
            "hermes-incoming",
        ]);
        cmd
    };

    let routed = pipeline::bus_to_queue(&eb, &sqs, "pub-routed").await;
    let out = publish(routed.bus.clone()).output().await.expect("run");
    assert_success(&out);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(summary["unrouted"], 0, "{summary}");
    assert_eq!(summary["warnings"], serde_json::json!([]), "{summary}");
    assert_eq!(drain_all(&sqs, &routed.queue_url, 1).await.len(), 1);

    let narrow = pipeline::bus_to_queue(&eb, &sqs, "pub-narrow").await;
    narrow_the_rule(&eb, &narrow).await;
    let out = publish(narrow.bus.clone()).output().await.expect("run");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(summary["published"], 1, "published anyway: {summary}");
    assert_eq!(summary["unrouted"], 1, "{summary}");
    let warning = summary["warnings"][0].as_str().expect("a warning");
    assert!(
        warning.contains("filetrail.cli") && warning.contains("no enabled rule"),
        "{warning}"
    );
    assert!(
        drain_all(&sqs, &narrow.queue_url, 1).await.is_empty(),
        "dropped by EventBridge"
    );
}
