//! `filetrail replay` on the emulator, run as the real binary.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use filetrail_cli::replay::glob_match;
use filetrail_contract::{FileMoved, OccurredAt, attr, parse_body_str};
use filetrail_testkit::{emulator, pipeline, unique_name};
use serde_json::Value;

use super::{drain_all, filetrail, filetrail_via, filled_dlq, front};

async fn run_json(args: &[&str]) -> (bool, Value) {
    run_json_via(filetrail(), args).await
}

async fn run_json_via(mut cmd: tokio::process::Command, args: &[&str]) -> (bool, Value) {
    let out = cmd
        .arg("--json")
        .args(args)
        .output()
        .await
        .expect("run filetrail");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "JSON summary ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), json)
}

/// A DLQ on the emulator filled by [`filled_dlq`] with `per_form` valid events, and an empty
/// target queue named after `tag`: the SQS client, the DLQ, its valid events, the target.
async fn dlq_and_target(
    tag: &str,
    per_form: [usize; 3],
) -> (aws_sdk_sqs::Client, String, Vec<FileMoved>, String) {
    let sqs = aws_sdk_sqs::Client::new(&emulator().await);
    let (dlq, events) = filled_dlq(&sqs, tag, per_form).await;
    let target = pipeline::create_queue(&sqs, &unique_name(&format!("{tag}-target"))).await;
    (sqs, dlq, events, target)
}

fn event_ids(messages: &[aws_sdk_sqs::types::Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            parse_body_str(m.body().expect("body"), OccurredAt::now())
                .expect("valid event")
                .event
                .event_id
        })
        .collect()
}

#[tokio::test]
async fn dry_run_changes_nothing_then_replay_moves_the_190_valid_and_leaves_the_10() {
    let (sqs, dlq, events, target) = dlq_and_target("rp", [70, 60, 60]).await;

    let (ok, dry) = run_json(&["replay", "--from", &dlq, "--to-queue", &target, "--dry-run"]).await;
    assert!(ok);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["replayed"], 190, "{dry}");
    assert_eq!(dry["skipped"], 10, "{dry}");
    assert_eq!(dry["replayed_by_reason"]["eventbridge: NO_RESOURCE"], 70);
    assert_eq!(
        dry["replayed_by_reason"]["redrive: receive count exceeded"],
        60
    );
    assert_eq!(
        dry["skipped"],
        dry["skipped_by_reason"]
            .as_object()
            .expect("map")
            .values()
            .map(|v| v.as_u64().expect("n"))
            .sum::<u64>()
    );
    let recorder_reason = dry["replayed_by_reason"]
        .as_object()
        .expect("map")
        .keys()
        .find(|k| k.starts_with("recorder: Timestream rejected"))
        .cloned();
    assert_eq!(
        dry["replayed_by_reason"][recorder_reason.expect("recorder reason")],
        60
    );
    // Nothing consumed: the target is empty and the DLQ still holds all 200.
    assert!(
        pipeline::drain(&sqs, &target, 1, Duration::from_secs(1))
            .await
            .is_empty()
    );
    let (_, status) = run_json(&["dlq", "--queue", &dlq]).await;
    assert_eq!(status["scanned"], 200, "{status}");

    let (ok, summary) = run_json(&["replay", "--from", &dlq, "--to-queue", &target]).await;
    assert!(ok, "{summary}");
    assert_eq!(
        (
            summary["replayed"].as_u64(),
            summary["skipped"].as_u64(),
            summary["failed"].as_u64()
        ),
        (Some(190), Some(10), Some(0))
    );

    let delivered = drain_all(&sqs, &target, 190).await;
    let got: BTreeSet<String> = event_ids(&delivered).into_iter().collect();
    let want: BTreeSet<String> = events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(delivered.len(), 190);
    assert_eq!(got, want, "every valid event, once");

    let left = drain_all(&sqs, &dlq, 10).await;
    assert_eq!(left.len(), 10, "the invalid ones stay");
    let recorder_letters = left
        .iter()
        .filter(|m| {
            m.message_attributes()
                .is_some_and(|a| a.contains_key(attr::FILETRAIL_REASON))
        })
        .count();
    assert_eq!(recorder_letters, 5, "with their reasons");
}

#[tokio::test]
async fn a_replay_killed_half_way_and_run_again_loses_nothing() {
    let sdk = emulator().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let (dlq, events) = filled_dlq(&sqs, "kill", [70, 60, 60]).await;
    let target = pipeline::create_queue(&sqs, &unique_name("kill-target")).await;

    let mut child = filetrail()
        .args([
            "replay",
            "--from",
            &dlq,
            "--to-queue",
            &target,
            "--rate",
            "60",
            "--visibility-timeout",
            "2",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // Half-way is once a first delivery reached the target: observed, not hoped for after a
    // sleep. At 60 messages/s the run has most of its 190 still to deliver.
    let delivered = pipeline::depth(&sqs, &target, 1, Duration::from_secs(20)).await;
    assert!(delivered >= 1, "the replay delivered nothing within 20 s");
    // SIGKILL: no cleanup, no release of in-flight messages.
    child.start_kill().expect("kill");
    child.wait().await.expect("wait");
    let first = pipeline::drain(&sqs, &target, usize::MAX, Duration::from_secs(1)).await;
    assert!(
        !first.is_empty() && first.len() < 190,
        "killed half-way: {} delivered",
        first.len()
    );

    // Messages it held become visible again after their timeout; the second run finds them.
    assert!(
        pipeline::none_in_flight(&sqs, &dlq, Duration::from_secs(20))
            .await
            .expect("the DLQ's attributes"),
        "the killed run's messages became visible again"
    );
    let (ok, summary) = run_json(&["replay", "--from", &dlq, "--to-queue", &target]).await;
    assert!(ok, "{summary}");

    let second = drain_all(&sqs, &target, 190 - first.len()).await;
    let got: HashSet<String> = event_ids(&first)
        .into_iter()
        .chain(event_ids(&second))
        .collect();
    let want: HashSet<String> = events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(got, want, "every valid event at least once");
    let left = drain_all(&sqs, &dlq, 10).await;
    assert_eq!(left.len(), 10, "only the invalid ones are left");
}

#[tokio::test]
async fn replay_to_the_bus_keeps_the_event_id_with_a_new_envelope() {
    let sdk = emulator().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let eb = aws_sdk_eventbridge::Client::new(&sdk);
    let route = pipeline::bus_to_queue(&eb, &sqs, "rp-bus").await;
    let (dlq, events) = filled_dlq(&sqs, "bus", [3, 2, 2]).await;
    let front = front().await;

    let (ok, summary) = run_json_via(
        filetrail_via(front.url()),
        &[
            "replay",
            "--from",
            &dlq,
            "--to-bus",
            &route.bus,
            "--source",
            "sdc.sorter",
        ],
    )
    .await;
    assert!(ok, "{summary}");
    assert!(
        front.answered(filetrail_testkit::front::TEST_EVENT_PATTERN) >= 1,
        "the bus's rules were asked before anything was deleted"
    );
    // The redrive copies came from sdc.processor: filtered out, left in the DLQ.
    assert_eq!(summary["replayed"], 5, "{summary}");
    assert_eq!(
        summary["skipped_by_reason"]["filtered out: source"], 2,
        "{summary}"
    );

    let arrived = drain_all(&sqs, &route.queue_url, 5).await;
    assert_eq!(arrived.len(), 5);
    let replayed: HashSet<String> = event_ids(&arrived).into_iter().collect();
    let from_sorter: HashSet<String> = events
        .iter()
        .enumerate()
        .filter(|(i, _)| !(3..5).contains(i))
        .map(|(_, e)| e.event_id.clone())
        .collect();
    assert_eq!(replayed, from_sorter);
    for m in &arrived {
        let body: Value = serde_json::from_str(m.body().expect("body")).expect("json");
        assert_eq!(body["source"], "sdc.sorter");
        assert!(
            !body["id"].as_str().expect("id").starts_with("env-"),
            "EventBridge assigned a new envelope id"
        );
    }
}

#[tokio::test]
async fn max_and_key_filters_limit_what_is_replayed() {
    let (sqs, dlq, _, target) = dlq_and_target("flt", [10, 0, 0]).await;
    let (ok, s) = run_json(&[
        "replay",
        "--from",
        &dlq,
        "--to-queue",
        &target,
        "--max",
        "4",
        "--key",
        "flt/*",
    ])
    .await;
    assert!(ok);
    assert_eq!(s["replayed"], 4, "{s}");
    assert_eq!(drain_all(&sqs, &target, 4).await.len(), 4);
    let (_, s2) = run_json(&[
        "replay",
        "--from",
        &dlq,
        "--to-queue",
        &target,
        "--key",
        "nothing-matches-*",
    ])
    .await;
    assert_eq!(s2["replayed"], 0);
    assert_eq!(s2["skipped_by_reason"]["filtered out: file key"], 6, "{s2}");
}

#[test]
fn glob_patterns() {
    assert!(glob_match(
        "hermes_*_l0_*.bin",
        "hermes_eea_l0_2024001-000001_v01.bin"
    ));
    assert!(glob_match("*", ""));
    assert!(glob_match("a?c", "abc"));
    assert!(!glob_match("a?c", "abbc"));
    assert!(!glob_match("*.cdf", "x.bin"));
    assert!(glob_match("l0/*/x", "l0/2024/01/x"));
}

/// A bus whose only FileMoved rule routes some sources (the module's rule before every
/// FileMoved was routed): EventBridge would accept the replayed entries and drop them, so the
/// replay refuses them, deletes nothing and exits non-zero.
#[tokio::test]
async fn a_replay_to_a_bus_whose_rules_do_not_route_the_entry_deletes_nothing_and_fails() {
    let sdk = emulator().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let eb = aws_sdk_eventbridge::Client::new(&sdk);
    let route = pipeline::bus_to_queue(&eb, &sqs, "rp-narrow").await;
    super::narrow_the_rule(&eb, &route).await;
    // Two envelopes from sdc.sorter, three bare details (re-published as filetrail.replay).
    let dlq = pipeline::create_queue(&sqs, &unique_name("narrow-dlq")).await;
    for i in 0..5 {
        let e = super::event("narrow", i);
        let body = if i < 2 {
            super::envelope(&e)
        } else {
            serde_json::to_string(&e).expect("detail")
        };
        sqs.send_message()
            .queue_url(&dlq)
            .message_body(body)
            .send()
            .await
            .expect("send");
    }
    let front = front().await;

    let (ok, summary) = run_json_via(
        filetrail_via(front.url()),
        &["replay", "--from", &dlq, "--to-bus", &route.bus],
    )
    .await;
    assert!(!ok, "exits non-zero: {summary}");
    assert_eq!(
        summary["replayed"], 2,
        "the sdc.sorter envelopes are routed: {summary}"
    );
    assert_eq!(summary["failed"], 3, "{summary}");
    let reasons = summary["failed_by_reason"].as_object().expect("reasons");
    assert!(!reasons.is_empty(), "the failures have reasons: {summary}");
    assert!(
        reasons
            .keys()
            .all(|r| r.contains("no enabled rule") && r.contains("filetrail.replay")),
        "{summary}"
    );
    // The refused ones are all still in the DLQ; only the routed ones arrived.
    let left = drain_all(&sqs, &dlq, 3).await;
    assert_eq!(left.len(), 3);
    for m in &left {
        let body: Value = serde_json::from_str(m.body().expect("body")).expect("json");
        assert!(body.get("detail").is_none(), "a bare detail stayed: {body}");
    }
    let arrived = drain_all(&sqs, &route.queue_url, 2).await;
    assert_eq!(arrived.len(), 2);
}

/// No rule routes anything (the bus has no FileMoved rule at all): nothing is deleted.
#[tokio::test]
async fn a_replay_to_a_bus_without_a_rule_deletes_nothing() {
    let sdk = emulator().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let eb = aws_sdk_eventbridge::Client::new(&sdk);
    let bus = unique_name("rp-empty");
    eb.create_event_bus().name(&bus).send().await.expect("bus");
    let (dlq, _) = filled_dlq(&sqs, "empty", [3, 2, 2]).await;
    let front = front().await;
    let (ok, summary) = run_json_via(
        filetrail_via(front.url()),
        &["replay", "--from", &dlq, "--to-bus", &bus],
    )
    .await;
    assert!(!ok, "{summary}");
    assert_eq!(
        (summary["replayed"].as_u64(), summary["failed"].as_u64()),
        (Some(0), Some(7)),
        "{summary}"
    );
    assert_eq!(drain_all(&sqs, &dlq, 17).await.len(), 17);
}
