//! Lambda's SQS event source mapping, re-enacted against the emulator's queue.
//!
//! Each poller receives a batch (long polling, every attribute), hands it to the function as
//! the SQS event Lambda builds, and deletes every message the function did not name in
//! `batchItemFailures`; a failed, timed-out or crashed invocation deletes nothing, so the whole
//! batch comes back after the visibility timeout, and SQS's redrive policy moves a message to
//! the DLQ after `maxReceiveCount` receives. On top, a share of messages is delivered twice,
//! the two ways it happens in AWS: the delete of a processed message is "lost" (SQS redelivers
//! the same message), or a copy of it arrives (at-least-once delivery upstream).

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Rng;
use crate::pipeline::Pipeline;

/// SQS returns at most 10 messages per receive; larger mapping batches take several receives.
pub const MAX_RECEIVE: usize = 10;

/// How one invocation ended, as the mapping sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// The function answered; the body is its partial batch response.
    Response(Value),
    /// The function reported an error or timed out: the whole batch is retried.
    Error(String),
    /// The function's process died: the whole batch is retried.
    Crashed,
}

/// A function the mapping invokes with SQS events.
pub trait Function: Send {
    /// Invoke with one SQS event (the JSON Lambda sends).
    fn invoke(&mut self, event: &Value) -> impl Future<Output = Invocation> + Send;
}

/// How the mapping polls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MappingSettings {
    /// Messages per invocation (1..=10 here: one receive per batch).
    pub batch_size: usize,
    /// Share of distinct messages delivered a second time, half by a lost delete, half by a copy.
    pub duplicate_rate: f64,
    /// Seed of the duplicate choices.
    pub seed: u64,
}

/// What the mapping did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MappingStats {
    /// Invocations (batches handed to the function).
    pub invocations: u64,
    /// Messages handed to the function, redeliveries included.
    pub messages: u64,
    /// Messages deleted after their batch.
    pub deleted: u64,
    /// Messages named in `batchItemFailures`.
    pub item_failures: u64,
    /// Invocations that failed or timed out (nothing deleted).
    pub failed_invocations: u64,
    /// Invocations whose process died (nothing deleted).
    pub crashed_invocations: u64,
    /// Distinct message bodies processed successfully at least once.
    pub distinct_messages: u64,
    /// Processed messages whose delete was "lost", so SQS delivered them again.
    pub lost_deletes: u64,
    /// Processed messages of which a copy was sent to the queue.
    pub copies: u64,
}

struct State {
    rng: Rng,
    /// Bodies already given their chance of a second delivery (a redelivery or a copy carries
    /// the same body, so it is never doubled again).
    decided: HashSet<String>,
    stats: MappingStats,
}

/// The mapping for one queue; run [`Mapping::poll`] once per concurrent poller.
pub struct Mapping {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    settings: MappingSettings,
    state: Mutex<State>,
    stop: AtomicBool,
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("queue_url", &self.queue_url)
            .finish()
    }
}

/// The SQS event Lambda builds from received messages.
pub fn sqs_event(messages: &[Message], queue_arn: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, Value> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                        .collect()
                })
                .unwrap_or_default();
            let message_attributes: serde_json::Map<String, Value> = m
                .message_attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                json!({"stringValue": v.string_value(), "dataType": v.data_type(),
                                    "stringListValues": [], "binaryListValues": []}),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The message ids a partial batch response names; `None` when the response is not one (then
/// Lambda retries the whole batch).
pub fn failed_items(response: &Value, batch: &[Message]) -> Option<HashSet<String>> {
    let ids: HashSet<&str> = batch.iter().filter_map(Message::message_id).collect();
    let failures = match response.get("batchItemFailures") {
        None | Some(Value::Null) => return Some(HashSet::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return None,
    };
    let mut out = HashSet::new();
    for f in failures {
        let id = f.get("itemIdentifier").and_then(Value::as_str)?;
        if !ids.contains(id) {
            return None;
        }
        out.insert(id.to_owned());
    }
    Some(out)
}

impl Mapping {
    /// A mapping from `pipeline`'s events queue, polled with `sqs` (the Lambda service's own
    /// client: straight to the emulator, never through the fault proxy).
    pub fn new(sqs: aws_sdk_sqs::Client, pipeline: &Pipeline, settings: MappingSettings) -> Self {
        Self {
            sqs,
            queue_url: pipeline.events_queue_url.clone(),
            queue_arn: pipeline.events_queue_arn.clone(),
            settings,
            state: Mutex::new(State {
                rng: Rng::stream(settings.seed, "mapping"),
                decided: HashSet::new(),
                stats: MappingStats::default(),
            }),
            stop: AtomicBool::new(false),
        }
    }

    /// Ask every poller to stop after its current batch.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// What the mapping did so far.
    pub fn stats(&self) -> MappingStats {
        self.lock().stats
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Poll until [`Mapping::stop`]: receive, invoke `function`, delete what it finished.
    pub async fn poll<F: Function>(&self, function: &mut F) {
        let batch = i32::try_from(self.settings.batch_size.clamp(1, MAX_RECEIVE)).unwrap_or(10);
        while !self.stop.load(Ordering::SeqCst) {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(batch)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await;
            let messages = match received {
                Ok(out) => out.messages().to_vec(),
                Err(e) => {
                    tracing::warn!(error = %filetrail_aws::classify(filetrail_aws::Service::Sqs, &e).message, "receive failed; polling again");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            if messages.is_empty() {
                continue;
            }
            let event = sqs_event(&messages, &self.queue_arn);
            let outcome = function.invoke(&event).await;
            let failed = match &outcome {
                Invocation::Response(r) => failed_items(r, &messages),
                Invocation::Error(_) | Invocation::Crashed => None,
            };
            self.settle(&messages, &outcome, failed).await;
        }
    }

    /// Delete what the invocation finished, injecting duplicate deliveries.
    async fn settle(
        &self,
        messages: &[Message],
        outcome: &Invocation,
        failed: Option<HashSet<String>>,
    ) {
        let mut copies: Vec<String> = Vec::new();
        let mut delete: Vec<&Message> = Vec::new();
        {
            let mut s = self.lock();
            s.stats.invocations += 1;
            s.stats.messages += messages.len() as u64;
            let Some(failed) = failed else {
                match outcome {
                    Invocation::Crashed => s.stats.crashed_invocations += 1,
                    _ => s.stats.failed_invocations += 1,
                }
                return;
            };
            s.stats.item_failures += failed.len() as u64;
            for m in messages {
                let id = m.message_id().unwrap_or_default().to_owned();
                if failed.contains(&id) {
                    continue;
                }
                let first = s.decided.insert(m.body().unwrap_or_default().to_owned());
                if first {
                    s.stats.distinct_messages += 1;
                }
                if first && s.rng.chance(self.settings.duplicate_rate) {
                    if s.rng.chance(0.5) {
                        s.stats.lost_deletes += 1;
                        continue;
                    }
                    s.stats.copies += 1;
                    copies.push(m.body().unwrap_or_default().to_owned());
                }
                delete.push(m);
            }
        }
        for body in copies {
            match self
                .sqs
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(body)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %filetrail_aws::classify(filetrail_aws::Service::Sqs, &e).message, "could not send a duplicate copy")
                }
            }
        }
        for chunk in delete.chunks(MAX_RECEIVE) {
            let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle()?)
                        .build()
                        .ok()
                })
                .collect();
            let n = entries.len() as u64;
            match self
                .sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) => self.lock().stats.deleted += n - out.failed().len() as u64,
                Err(e) => {
                    tracing::warn!(error = %filetrail_aws::classify(filetrail_aws::Service::Sqs, &e).message, "delete failed; the batch will be delivered again")
                }
            }
        }
    }
}
