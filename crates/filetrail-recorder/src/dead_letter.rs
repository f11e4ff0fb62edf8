//! The dead-letter seam: where messages that can never be written go, with their reason.

use std::borrow::Cow;
use std::future::Future;
use std::time::Instant;

use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use filetrail_contract::attr;
use futures_util::StreamExt;

/// SQS accepts at most 10 entries per SendMessageBatch call.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html>
pub const MAX_ENTRIES_PER_SEND: usize = 10;
/// The limit filetrail keeps on one SendMessageBatch payload: the sum of every message's body
/// and attributes ("All parts of the message attribute, including Name, Type, and Value, are
/// part of the message size restriction"). SQS now allows 1 MiB per message and per batch by
/// default; 256 KiB, the limit before, holds for every queue whose `MaximumMessageSize` was
/// not lowered below it (the Terraform never lowers it).
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html>,
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html>
pub const MAX_SEND_BATCH_BYTES: usize = 256 * 1024;
/// Longest reason kept in the `filetrail.reason` attribute (the full reason is logged).
pub const MAX_REASON_CHARS: usize = 1024;
/// SendMessageBatch calls of one invocation in flight at once.
pub const DEAD_LETTER_CONCURRENCY: usize = 8;
/// The data type of every attribute the recorder sets.
const STRING: &str = "String";

/// Why a message is dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterClass {
    /// The message is not a valid `FileMoved` (or its record breaks a limit).
    Invalid,
    /// The store refused the record for good.
    Rejected,
    /// The store holds a different record under the same identity (two events claim one id).
    Conflict,
}

impl DeadLetterClass {
    /// The attribute value: `invalid`, `rejected` or `conflict`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Rejected => "rejected",
            Self::Conflict => "conflict",
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
    /// Send the letters, every call ending by `deadline`; returns, per letter in order, whether
    /// it was accepted (a letter whose call did not answer in time was not).
    fn send(
        &self,
        letters: &[DeadLetter],
        deadline: Instant,
    ) -> impl Future<Output = Vec<Result<(), String>>> + Send;
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
        .data_type(STRING)
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

/// Whether SQS accepts `c` in a message body or string attribute value: `#x9 | #xA | #xD |
/// #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF`; SQS refuses a message with any
/// other character.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html>
pub fn sqs_accepts(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `text` with every character SQS refuses written as `\u{XXXX}`, so the attribute is accepted
/// and still says what the character was.
pub fn sqs_text(text: &str) -> Cow<'_, str> {
    if text.chars().all(sqs_accepts) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if sqs_accepts(c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:04X}}}", u32::from(c)));
        }
    }
    Cow::Owned(out)
}

/// One letter as SQS will receive it: the body and the three attributes, their values made
/// acceptable to SQS and the reason cut so the message fits [`MAX_SEND_BATCH_BYTES`].
struct Outgoing<'a> {
    body: &'a str,
    attributes: Vec<(&'static str, String)>,
}

impl<'a> Outgoing<'a> {
    fn new(l: &'a DeadLetter) -> Result<Self, String> {
        let message_id = sqs_text(&l.message_id).into_owned();
        let class = l.class.as_str().to_owned();
        let fixed = l.body.len()
            + attribute_size(attr::FILETRAIL_CLASS, &class)
            + attribute_size(attr::FILETRAIL_MESSAGE_ID, &message_id)
            + attribute_size(attr::FILETRAIL_REASON, "");
        let Some(room) = MAX_SEND_BATCH_BYTES.checked_sub(fixed).filter(|r| *r > 0) else {
            return Err(format!(
                "the message ({} bytes) and its attributes exceed the {MAX_SEND_BATCH_BYTES}-byte SQS message limit",
                l.body.len()
            ));
        };
        let mut reason = sqs_text(&short_reason(&l.reason)).into_owned();
        if reason.is_empty() {
            // SQS refuses an empty attribute value.
            reason.push_str("no reason given");
        }
        if reason.len() > room {
            let mut cut = room.saturating_sub('…'.len_utf8());
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
            reason.push('…');
        }
        let mut attributes = vec![
            (attr::FILETRAIL_REASON, reason),
            (attr::FILETRAIL_CLASS, class),
        ];
        // SQS refuses an empty attribute value; a message without an id has none to keep.
        if !message_id.is_empty() {
            attributes.push((attr::FILETRAIL_MESSAGE_ID, message_id));
        }
        Ok(Self {
            body: &l.body,
            attributes,
        })
    }

    /// The bytes SQS counts against its size limit: the body, and each attribute's name, data
    /// type and value.
    fn size(&self) -> usize {
        self.body.len()
            + self
                .attributes
                .iter()
                .map(|(name, value)| attribute_size(name, value))
                .sum::<usize>()
    }

    fn entry(&self, id: usize) -> SendMessageBatchRequestEntry {
        let mut entry = SendMessageBatchRequestEntry::builder()
            .id(id.to_string())
            .message_body(self.body);
        for (name, value) in &self.attributes {
            entry = entry.message_attributes(*name, string_attr(value));
        }
        entry
            .build()
            .unwrap_or_else(|_| unreachable!("id and body are set"))
    }
}

/// What SQS counts for one string attribute: name + data type + value, in UTF-8 bytes.
fn attribute_size(name: &str, value: &str) -> usize {
    name.len() + STRING.len() + value.len()
}

/// Letters packed in order into calls within [`MAX_ENTRIES_PER_SEND`] and
/// [`MAX_SEND_BATCH_BYTES`], as indices into `sizes`.
fn pack(sizes: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut bytes = 0;
    for &(i, size) in sizes {
        match batches.last_mut() {
            Some(b) if b.len() < MAX_ENTRIES_PER_SEND && bytes + size <= MAX_SEND_BATCH_BYTES => {
                b.push(i);
            }
            _ => {
                batches.push(vec![i]);
                bytes = 0;
            }
        }
        bytes += size;
    }
    batches
}

impl SqsDeadLetters {
    /// One SendMessageBatch of `batch`, ending by `deadline`: per letter, accepted or why not.
    async fn send_batch(
        &self,
        outgoing: &[Result<Outgoing<'_>, String>],
        batch: &[usize],
        deadline: Instant,
    ) -> Vec<(usize, Result<(), String>)> {
        let entries: Vec<SendMessageBatchRequestEntry> = batch
            .iter()
            .filter_map(|&i| outgoing[i].as_ref().ok().map(|o| o.entry(i)))
            .collect();
        let call = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send();
        let all = |why: String| batch.iter().map(|&i| (i, Err(why.clone()))).collect();
        let out = match tokio::time::timeout_at(deadline.into(), call).await {
            Err(_elapsed) => {
                return all(
                    "SendMessageBatch did not answer before the invocation deadline".into(),
                );
            }
            Ok(Err(err)) => {
                let c = filetrail_aws::classify(filetrail_aws::Service::Sqs, &err);
                return all(format!(
                    "SendMessageBatch failed: {}: {}",
                    c.code, c.message
                ));
            }
            Ok(Ok(out)) => out,
        };
        let mut results: Vec<(usize, Result<(), String>)> = Vec::with_capacity(batch.len());
        for ok in out.successful() {
            if let Ok(i) = ok.id().parse::<usize>() {
                results.push((i, Ok(())));
            }
        }
        for failed in out.failed() {
            if let Ok(i) = failed.id().parse::<usize>() {
                results.push((
                    i,
                    Err(format!(
                        "{}: {}",
                        failed.code(),
                        failed.message().unwrap_or_default()
                    )),
                ));
            }
        }
        results
    }
}

impl DeadLetters for SqsDeadLetters {
    async fn send(&self, letters: &[DeadLetter], deadline: Instant) -> Vec<Result<(), String>> {
        let mut results: Vec<Result<(), String>> =
            vec![Err("SQS did not report this message".into()); letters.len()];
        let outgoing: Vec<Result<Outgoing<'_>, String>> =
            letters.iter().map(Outgoing::new).collect();
        let mut sizes = Vec::with_capacity(letters.len());
        for (i, o) in outgoing.iter().enumerate() {
            match o {
                Ok(o) => sizes.push((i, o.size())),
                Err(why) => results[i] = Err(why.clone()),
            }
        }
        let batches = pack(&sizes);
        let outgoing = &outgoing;
        let mut calls = futures_util::stream::iter(batches)
            .map(|batch| async move { self.send_batch(outgoing, &batch, deadline).await })
            .buffer_unordered(DEAD_LETTER_CONCURRENCY);
        while let Some(answers) = calls.next().await {
            for (i, answer) in answers {
                if let Some(r) = results.get_mut(i) {
                    *r = answer;
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
    async fn send(&self, letters: &[DeadLetter], _deadline: Instant) -> Vec<Result<(), String>> {
        vec![
            Err(format!(
                "{} is not set",
                crate::config::ENV_DEAD_LETTER_QUEUE_URL
            ));
            letters.len()
        ]
    }
}
