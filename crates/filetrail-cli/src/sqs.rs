//! Reading a dead-letter queue without losing anything: receive, classify, release.

use std::collections::HashMap;

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, Message, MessageSystemAttributeName,
};
use filetrail_contract::{ContractError, Delivery, Inbound, OccurredAt, parse_body_str};

/// SQS returns at most 10 messages per ReceiveMessage call.
pub const MAX_RECEIVE: i32 = 10;
/// Consecutive empty receives after which a queue counts as drained.
pub const EMPTY_RECEIVES_TO_STOP: usize = 2;

/// One message read from a DLQ, classified.
#[derive(Debug, Clone)]
pub struct DeadLetterMessage {
    /// SQS message id.
    pub message_id: String,
    /// Receipt handle of this receive.
    pub receipt_handle: String,
    /// The body, verbatim.
    pub body: String,
    /// How it got into the DLQ.
    pub delivery: Delivery,
    /// The event, or why the body is not a valid event.
    pub parsed: Result<Inbound, ContractError>,
    /// When it was first sent (`SentTimestamp`), epoch ms.
    pub sent_at_ms: Option<i64>,
}

impl DeadLetterMessage {
    /// Classify a received message.
    pub fn from_message(m: &Message, now: OccurredAt) -> Self {
        let system: &HashMap<MessageSystemAttributeName, String> =
            m.attributes().unwrap_or_else(|| empty_system());
        let delivery = Delivery::from_attributes(|name| {
            m.message_attributes()
                .and_then(|a| a.get(name))
                .and_then(|v| v.string_value())
                .or_else(|| {
                    system
                        .get(&MessageSystemAttributeName::from(name))
                        .map(String::as_str)
                })
        });
        let body = m.body().unwrap_or_default().to_owned();
        Self {
            message_id: m.message_id().unwrap_or_default().to_owned(),
            receipt_handle: m.receipt_handle().unwrap_or_default().to_owned(),
            parsed: parse_body_str(&body, now),
            body,
            delivery,
            sent_at_ms: system
                .get(&MessageSystemAttributeName::SentTimestamp)
                .and_then(|t| t.parse().ok()),
        }
    }

    /// Why the message is in the DLQ, to group by.
    pub fn reason(&self) -> String {
        self.delivery.reason()
    }
}

fn empty_system() -> &'static HashMap<MessageSystemAttributeName, String> {
    static EMPTY: std::sync::OnceLock<HashMap<MessageSystemAttributeName, String>> =
        std::sync::OnceLock::new();
    EMPTY.get_or_init(HashMap::new)
}

/// Receive up to 10 messages, hiding them for `visibility_timeout_s` seconds.
pub async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    visibility_timeout_s: i32,
) -> Result<Vec<Message>, filetrail_aws::Classified> {
    sqs.receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(MAX_RECEIVE)
        .visibility_timeout(visibility_timeout_s)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map(|out| out.messages().to_vec())
        .map_err(|e| filetrail_aws::classify(&e))
}

/// Make received messages visible again at once (nothing is consumed).
pub async fn release(sqs: &aws_sdk_sqs::Client, queue_url: &str, receipt_handles: &[String]) {
    for chunk in receipt_handles.chunks(10) {
        let entries: Vec<ChangeMessageVisibilityBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .visibility_timeout(0)
                    .build()
                    .ok()
            })
            .collect();
        if let Err(e) = sqs
            .change_message_visibility_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            // Not fatal: the messages become visible again when their timeout ends.
            tracing::warn!(error = %filetrail_aws::classify(&e).message, "could not release messages early");
        }
    }
}
