//! The dead-letter seam: where messages that can never be written go, with their reason.

use std::future::Future;

use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use filetrail_contract::attr;

/// SQS accepts at most 10 entries per SendMessageBatch call.
pub const MAX_ENTRIES_PER_SEND: usize = 10;
/// SQS's limit on one SendMessageBatch payload (all bodies and attributes), in bytes.
pub const MAX_SEND_BATCH_BYTES: usize = 256 * 1024;
/// Longest reason kept in the `filetrail.reason` attribute (the full reason is logged).
pub const MAX_REASON_CHARS: usize = 1024;

/// Why a message is dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterClass {
    /// The message is not a valid `FileMoved` (or its record breaks a limit).
    Invalid,
    /// The store refused the record for good.
    Rejected,
}

impl DeadLetterClass {
    /// The attribute value, `invalid` or `rejected`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Rejected => "rejected",
        }
    }
}

/// One message to dead-letter: its original body, verbatim, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The SQS message id it had.
    pub message_id: String,
    /// The original body.
    pub body: String,
    /// Why it can never be written.
    pub reason: String,
    /// The failure class.
    pub class: DeadLetterClass,
}

/// The seam around the dead-letter queue.
pub trait DeadLetters: Send + Sync {
    /// Send the letters; returns, per letter in order, whether it was accepted.
    fn send(&self, letters: &[DeadLetter]) -> impl Future<Output = Vec<Result<(), String>>> + Send;
}

/// A dead-letter queue on SQS.
#[derive(Debug, Clone)]
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDeadLetters {
    /// Dead letters go to `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

fn string_attr(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .unwrap_or_else(|_| unreachable!("data type is set"))
}

/// Truncate a reason to [`MAX_REASON_CHARS`] characters.
pub fn short_reason(reason: &str) -> String {
    match reason.char_indices().nth(MAX_REASON_CHARS) {
        Some((i, _)) => format!("{}…", &reason[..i]),
        None => reason.to_owned(),
    }
}

impl DeadLetters for SqsDeadLetters {
    async fn send(&self, letters: &[DeadLetter]) -> Vec<Result<(), String>> {
        let mut results: Vec<Result<(), String>> = vec![Err("not sent".into()); letters.len()];
        // Pack into calls within the entry and byte limits, in order.
        let mut batches: Vec<Vec<usize>> = Vec::new();
        let mut bytes = 0;
        for (i, l) in letters.iter().enumerate() {
            let size = l.body.len() + short_reason(&l.reason).len() + l.message_id.len() + 64;
            match batches.last_mut() {
                Some(b)
                    if b.len() < MAX_ENTRIES_PER_SEND && bytes + size <= MAX_SEND_BATCH_BYTES =>
                {
                    b.push(i)
                }
                _ => {
                    batches.push(vec![i]);
                    bytes = 0;
                }
            }
            bytes += size;
        }
        for batch in batches {
            let entries: Vec<SendMessageBatchRequestEntry> = batch
                .iter()
                .map(|&i| {
                    let l = &letters[i];
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(&l.body)
                        .message_attributes(
                            attr::FILETRAIL_REASON,
                            string_attr(&short_reason(&l.reason)),
                        )
                        .message_attributes(attr::FILETRAIL_CLASS, string_attr(l.class.as_str()))
                        .message_attributes(attr::FILETRAIL_MESSAGE_ID, string_attr(&l.message_id))
                        .build()
                        .unwrap_or_else(|_| unreachable!("id and body are set"))
                })
                .collect();
            match self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) => {
                    for ok in out.successful() {
                        if let Some(r) = ok
                            .id()
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| results.get_mut(i))
                        {
                            *r = Ok(());
                        }
                    }
                    for failed in out.failed() {
                        if let Some(r) = failed
                            .id()
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| results.get_mut(i))
                        {
                            *r = Err(format!(
                                "{}: {}",
                                failed.code(),
                                failed.message().unwrap_or_default()
                            ));
                        }
                    }
                }
                Err(err) => {
                    let c = filetrail_aws::classify(&err);
                    for &i in &batch {
                        results[i] = Err(format!(
                            "SendMessageBatch failed: {}: {}",
                            c.code, c.message
                        ));
                    }
                }
            }
        }
        results
    }
}

/// Used where no dead-letter queue is configured: every letter is refused, so its message goes
/// back to SQS and the queue's own redrive policy moves it to the DLQ after `maxReceiveCount`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDeadLetterQueue;

impl DeadLetters for NoDeadLetterQueue {
    async fn send(&self, letters: &[DeadLetter]) -> Vec<Result<(), String>> {
        vec![
            Err(format!(
                "{} is not set",
                crate::config::ENV_DEAD_LETTER_QUEUE_URL
            ));
            letters.len()
        ]
    }
}
