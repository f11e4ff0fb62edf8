//! `filetrail dlq`: what waits in a dead-letter queue, without consuming it.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName;
use filetrail_contract::OccurredAt;
use serde::Serialize;

use crate::sqs::{self, DeadLetterMessage, EMPTY_RECEIVES_TO_STOP};

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
    /// Messages read by the scan.
    pub scanned: usize,
    /// Age of the oldest scanned message, in seconds.
    pub oldest_age_s: Option<u64>,
    /// Scanned messages by reason.
    pub by_reason: BTreeMap<String, ReasonStats>,
}

/// Count and group a DLQ's messages; every message read is released again.
pub async fn status(
    sqs_client: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Result<DlqStatus, filetrail_aws::Classified> {
    let attrs = sqs_client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| filetrail_aws::classify(&e))?;
    let get = |n: QueueAttributeName| {
        attrs
            .attributes()
            .and_then(|a| a.get(&n))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let mut status = DlqStatus {
        queue_url: queue_url.to_owned(),
        approximate_visible: get(QueueAttributeName::ApproximateNumberOfMessages),
        approximate_in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        ..DlqStatus::default()
    };
    let now = OccurredAt::now();
    let mut handles = Vec::new();
    let mut empty = 0;
    while empty < EMPTY_RECEIVES_TO_STOP {
        let messages = sqs::receive(sqs_client, queue_url, SCAN_VISIBILITY_TIMEOUT_S).await?;
        if messages.is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
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
            handles.push(d.receipt_handle);
        }
    }
    sqs::release(sqs_client, queue_url, &handles).await;
    Ok(status)
}
