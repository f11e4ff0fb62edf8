//! `filetrail dlq`: what waits in a dead-letter queue, without consuming it.

use std::collections::BTreeMap;

use filetrail_contract::OccurredAt;
use serde::Serialize;

use crate::sqs::{self, DeadLetterMessage, Scan};

/// How long scanned messages stay hidden before they are released (seconds).
pub const SCAN_VISIBILITY_TIMEOUT_S: i32 = 30;

/// Messages of one reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReasonStats {
    /// How many.
    pub count: usize,
    /// How many of them are not valid events (replay will leave them).
    pub invalid: usize,
    /// Age of the oldest, in seconds.
    pub oldest_age_s: Option<u64>,
}

/// The state of a DLQ.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DlqStatus {
    /// The queue.
    pub queue_url: String,
    /// `ApproximateNumberOfMessages` (visible).
    pub approximate_visible: u64,
    /// `ApproximateNumberOfMessagesNotVisible` (in flight).
    pub approximate_in_flight: u64,
    /// Messages read by the scan, each counted once.
    pub scanned: usize,
    /// Whether the scan read every message the queue held when it started (false when it was
    /// cut short: SQS's in-flight limit, or held messages reappearing faster than it hides them).
    pub complete: bool,
    /// Age of the oldest scanned message, in seconds.
    pub oldest_age_s: Option<u64>,
    /// Scanned messages by reason.
    pub by_reason: BTreeMap<String, ReasonStats>,
}

/// Count and group a DLQ's messages, each once, however many there are; every message read is
/// kept hidden (for `visibility_timeout_s` at a time, extended as needed) until the scan ends,
/// then released.
pub async fn status(
    sqs_client: &aws_sdk_sqs::Client,
    queue_url: &str,
    visibility_timeout_s: i32,
) -> Result<DlqStatus, filetrail_aws::Classified> {
    let counts = sqs::queue_counts(sqs_client, queue_url).await?;
    let mut status = DlqStatus {
        queue_url: queue_url.to_owned(),
        approximate_visible: counts.visible,
        approximate_in_flight: counts.in_flight,
        ..DlqStatus::default()
    };
    let now = OccurredAt::now();
    let mut scan = Scan::start(sqs_client, queue_url, visibility_timeout_s).await?;
    let read = async {
        while let Some(messages) = scan.next().await? {
            for m in &messages {
                let d = DeadLetterMessage::from_message(m, now);
                let age = d
                    .sent_at_ms
                    .map(|t| u64::try_from((now.millis() - t).max(0) / 1000).unwrap_or(0));
                let stats = status.by_reason.entry(d.reason()).or_default();
                stats.count += 1;
                stats.invalid += usize::from(d.parsed.is_err());
                stats.oldest_age_s = stats.oldest_age_s.max(age);
                status.oldest_age_s = status.oldest_age_s.max(age);
                status.scanned += 1;
                scan.hold(&d.message_id, &d.receipt_handle);
            }
        }
        Ok::<(), filetrail_aws::Classified>(())
    }
    .await;
    let end = scan.finish().await;
    read?;
    status.complete = end.complete();
    Ok(status)
}
