//! The soak, small: the whole pipeline under faults ends with nothing lost or doubled.
#![allow(clippy::print_stdout)] // the figures of each run, shown with --no-capture

use filetrail_soak::{FaultKind, RecorderMode, SoakOptions, SoakReport, soak, workspace_binary};

fn assert_clean(r: &SoakReport) {
    assert!(r.passed(), "{r}");
    assert_eq!((r.table.lost, r.table.doubled), (0, 0), "{r}");
    assert_eq!(r.table.distinct_records, r.events, "{r}");
    assert!(r.table.stored_records >= r.events, "{r}");
    assert_eq!(r.dlq.poison_with_reason, r.poison, "{r}");
    assert_eq!(r.dlq.valid_left, 0, "{r}");
    assert_eq!(r.publish.unpublished, 0, "{r}");
}

#[tokio::test]
async fn a_soak_of_300_events_under_faults_records_each_exactly_once() {
    let options = SoakOptions::new(300, 11);
    let r = soak::run(&options).await.expect("the soak ran");
    println!("{r}");
    assert_clean(&r);
    assert_eq!(r.poison, 3);
    // The faults and duplicates really happened.
    assert!(r.publish.entries_throttled > 0, "{r}");
    assert!(r.mapping.lost_deletes > 0 && r.mapping.copies > 0, "{r}");
    assert!(
        r.table.stored_records > r.events,
        "re-deliveries were re-written: {r}"
    );
    let c = r.recorder.expect("in-process counts");
    assert!(c.dead_lettered >= 3, "{r}");
    // Every poison reason names what is wrong with the message.
    assert!(
        !r.dlq.reason_examples.is_empty(),
        "poison reasons were seen: {r}"
    );
    assert!(
        r.dlq
            .reason_examples
            .iter()
            .all(|reason| !reason.is_empty()),
        "{:?}",
        r.dlq.reason_examples
    );
}

async fn one_kind(kind: FaultKind) {
    let r = soak::run(&SoakOptions::only(60, 21, kind, 0.5))
        .await
        .expect("the run ran");
    println!("{r}");
    assert_clean(&r);
    assert!(
        r.faults.get(kind.name()).copied().unwrap_or(0) > 0,
        "{kind} was injected: {r}"
    );
    let others: u64 = r
        .faults
        .iter()
        .filter(|(k, _)| k.as_str() != kind.name())
        .map(|(_, n)| n)
        .sum();
    assert_eq!(others, 0, "{kind} alone: {r}");
}

#[tokio::test]
async fn throttling_alone_at_50_percent_loses_nothing() {
    one_kind(FaultKind::Throttle).await;
}

#[tokio::test]
async fn server_errors_alone_at_50_percent_lose_nothing() {
    one_kind(FaultKind::ServerError).await;
}

#[tokio::test]
async fn timeouts_alone_at_50_percent_lose_nothing() {
    one_kind(FaultKind::Timeout).await;
}

#[tokio::test]
async fn resets_alone_at_50_percent_lose_nothing() {
    one_kind(FaultKind::Reset).await;
}

#[tokio::test]
async fn rejected_records_alone_at_50_percent_lose_nothing() {
    one_kind(FaultKind::Rejected).await;
}

#[tokio::test]
async fn put_events_partial_failures_alone_at_50_percent_lose_nothing() {
    one_kind(FaultKind::PartialPutEvents).await;
}

#[tokio::test]
async fn a_timestream_outage_sends_events_to_the_dlq_and_replay_recovers_them() {
    let mut options = SoakOptions::new(40, 41);
    options.label = "Timestream outage".into();
    // Short timeouts, so the redrive policy moves messages to the DLQ within the outage.
    options.visibility_timeout = std::time::Duration::from_secs(1);
    options.function_timeout = std::time::Duration::from_secs(1);
    options.outage = Some(std::time::Duration::from_secs(15));
    let r = soak::run(&options).await.expect("the run ran");
    println!("{r}");
    assert_clean(&r);
    assert!(r.replay.replayed > 0, "events went through the DLQ: {r}");
    assert!(r.faults["server-error"] > 0, "{r}");
    assert!(r.mapping.item_failures > 0, "{r}");
}

#[tokio::test]
async fn the_recorder_binary_killed_at_random_points_ends_the_same() {
    let exe = workspace_binary("filetrail-recorder").expect("the recorder binary is built");
    let mut options = SoakOptions::new(150, 31);
    options.label = "crash test".into();
    options.recorder = RecorderMode::Binary {
        exe,
        kill_rate: 0.4,
        log: None,
    };
    let r = soak::run(&options).await.expect("the crash test ran");
    println!("{r}");
    assert_clean(&r);
    let kills = r.kills.expect("kill figures");
    // How many kills land depends on how batches fall under load; the end state must not.
    assert!(kills.kills >= 1, "{r}");
    assert_eq!(r.mapping.crashed_invocations, kills.kills, "{r}");
    assert!(kills.starts > kills.kills, "{r}");
}
