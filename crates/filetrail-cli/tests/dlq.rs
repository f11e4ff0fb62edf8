//! `filetrail dlq` on the emulator.

use filetrail_cli::dlq;
use filetrail_cli::replay::{self, Filters, ReplayOptions, Target};
use filetrail_cli::sqs::Scan;
use filetrail_testkit::front::Front;
use filetrail_testkit::{emulator, pipeline, unique_name};

use super::{envelope, event, filled_dlq};

/// More messages than one visibility window reads at a 1 s timeout on the emulator.
const BIG: usize = 400;

/// A DLQ of [`BIG`] valid events, sent ten at a time.
async fn big_dlq(sqs: &aws_sdk_sqs::Client, tag: &str) -> String {
    let dlq = pipeline::create_queue(sqs, &unique_name(tag)).await;
    fill(sqs, &dlq, tag, 0..BIG).await;
    dlq
}

/// Send the events `indices` of `tag` to `queue`, ten at a time.
async fn fill(sqs: &aws_sdk_sqs::Client, queue: &str, tag: &str, indices: std::ops::Range<usize>) {
    for chunk in indices.collect::<Vec<_>>().chunks(10) {
        let entries = chunk
            .iter()
            .map(|&i| {
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(envelope(&event(tag, i)))
                    .build()
                    .expect("entry")
            })
            .collect();
        let out = sqs
            .send_message_batch()
            .queue_url(queue)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("send batch");
        assert!(out.failed().is_empty());
    }
}

/// Messages that arrive while a scan runs (a replay's re-sent letters, the recorder's new dead
/// letters) are held, not read: the scan reads exactly what the queue held when it started,
/// ends, and releases everything.
#[tokio::test]
async fn messages_sent_during_a_scan_are_held_not_read() {
    let sdk = emulator().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dlq = pipeline::create_queue(&sqs, &unique_name("late")).await;
    fill(&sqs, &dlq, "late", 0..30).await;
    let mut scan = Scan::start(&sqs, &dlq, dlq::SCAN_VISIBILITY_TIMEOUT_S)
        .await
        .expect("scan")
        .late_allowance(std::time::Duration::ZERO);
    let mut read = Vec::new();
    let mut sent_during = false;
    while let Some(messages) = scan.next().await.expect("receive") {
        for m in &messages {
            scan.hold(
                m.message_id().expect("id"),
                m.receipt_handle().expect("handle"),
            );
            read.push(m.message_id().expect("id").to_owned());
        }
        if !sent_during {
            fill(&sqs, &dlq, "late", 30..50).await;
            sent_during = true;
        }
    }
    let end = scan.finish().await;
    assert!(
        sent_during,
        "the scan read something before the late messages"
    );
    read.sort();
    read.dedup();
    assert_eq!((read.len(), end.read), (30, 30), "{end:?}");
    assert!(
        (1..=20).contains(&end.late),
        "late messages were received and held, not read: {end:?}"
    );
    assert!(end.complete());
    let after = filetrail_cli::sqs::queue_counts(&sqs, &dlq)
        .await
        .expect("counts");
    assert_eq!((after.visible, after.in_flight), (50, 0), "all released");
}

#[tokio::test]
async fn status_groups_by_reason_and_consumes_nothing() {
    let sdk = emulator().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let (dlq_url, _) = filled_dlq(&sqs, "st", [4, 3, 2]).await;
    let status = dlq::status(&sqs, &dlq_url, dlq::SCAN_VISIBILITY_TIMEOUT_S)
        .await
        .expect("status");
    assert_eq!(status.scanned, 19);
    assert_eq!(
        status.by_reason["eventbridge: NO_RESOURCE"].count, 9,
        "4 valid + 5 invalid"
    );
    assert_eq!(status.by_reason["eventbridge: NO_RESOURCE"].invalid, 5);
    assert_eq!(status.by_reason["redrive: receive count exceeded"].count, 3);
    assert_eq!(
        status.by_reason.values().map(|s| s.count).sum::<usize>(),
        19
    );
    assert!(status.oldest_age_s.is_some());
    // Scanning again sees the same: nothing was consumed.
    let again = dlq::status(&sqs, &dlq_url, dlq::SCAN_VISIBILITY_TIMEOUT_S)
        .await
        .expect("status");
    assert_eq!(again.scanned, 19);
    assert_eq!(again.approximate_visible, 19);
}

/// A scan longer than the visibility timeout: every message is counted once (held messages are
/// kept hidden, and known by id if one reappears), the scan ends, and everything is released.
#[tokio::test]
async fn a_dlq_bigger_than_one_visibility_window_is_counted_exactly() {
    let (front, sdk) = watched().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dlq_url = big_dlq(&sqs, "big-st").await;
    let status = dlq::status(&sqs, &dlq_url, 1).await.expect("status");
    outlasted_one_window(&front);
    assert_eq!(status.scanned, BIG, "{status:?}");
    assert!(status.complete);
    assert_eq!(
        status.by_reason.values().map(|s| s.count).sum::<usize>(),
        BIG
    );
    let after = filetrail_cli::sqs::queue_counts(&sqs, &dlq_url)
        .await
        .expect("counts");
    assert_eq!(
        (after.visible, after.in_flight),
        (BIG as u64, 0),
        "all released"
    );
}

#[tokio::test]
async fn a_dry_run_bigger_than_one_visibility_window_counts_each_message_once() {
    let (front, sdk) = watched().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let eb = aws_sdk_eventbridge::Client::new(&sdk);
    let dlq_url = big_dlq(&sqs, "big-dry").await;
    let target = pipeline::create_queue(&sqs, &unique_name("big-dry-target")).await;
    let options = ReplayOptions {
        from: dlq_url.clone(),
        target: Target::Queue(target),
        dry_run: true,
        max: None,
        rate: None,
        filters: Filters::default(),
        visibility_timeout_s: 1,
        default_source: "filetrail.replay".into(),
    };
    let summary = replay::replay(&sqs, &eb, &options, &|_| {})
        .await
        .expect("dry run");
    outlasted_one_window(&front);
    assert_eq!((summary.replayed, summary.read), (BIG, BIG), "{summary:?}");
    assert!(summary.complete);
    let after = filetrail_cli::sqs::queue_counts(&sqs, &dlq_url)
        .await
        .expect("counts");
    assert_eq!(after.visible, BIG as u64, "nothing consumed");
}

/// The emulator behind a front that keeps every request, and a client of it.
async fn watched() -> (Front, aws_config::SdkConfig) {
    let front = Front::start(&filetrail_testkit::endpoint(), Vec::new()).await;
    let sdk = filetrail_testkit::sdk_config_at(front.url()).await;
    (front, sdk)
}

/// The scan ran longer than half a visibility window: it had to keep messages it holds hidden
/// (a `ChangeMessageVisibilityBatch` with a non-zero timeout), so the counts above were taken
/// across windows, not within one.
fn outlasted_one_window(front: &Front) {
    let extensions = front
        .requests("AmazonSQS.ChangeMessageVisibilityBatch")
        .iter()
        .flat_map(|r| r["Entries"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["VisibilityTimeout"].as_i64().is_some_and(|t| t > 0))
        .count();
    assert!(
        extensions > 0,
        "the scan never had to extend a hidden message's visibility: it did not outlast a window"
    );
}
