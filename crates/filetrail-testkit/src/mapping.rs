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

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use serde::Serialize;
use serde_json::Value;

use crate::Rng;
use crate::lambda::Lambda;
use crate::runtime_api::INVOCATION_TIMEOUT;

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

impl MappingSettings {
    /// Batches of `batch_size`, every message delivered as SQS delivers it (no injected
    /// duplicates).
    pub fn batches_of(batch_size: usize) -> Self {
        Self {
            batch_size,
            duplicate_rate: 0.0,
            seed: 0,
        }
    }
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
    /// A mapping from the queue `queue_url` (ARN `queue_arn`), polled with `sqs` (the Lambda
    /// service's own client: straight to the emulator, never through a fault proxy).
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        queue_url: &str,
        queue_arn: &str,
        settings: MappingSettings,
    ) -> Self {
        Self {
            sqs,
            queue_url: queue_url.to_owned(),
            queue_arn: queue_arn.to_owned(),
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
        self.poll_until(function, None).await;
    }

    /// Poll until `empty` receives in a row found nothing (or [`Mapping::stop`]): the queue
    /// is drained.
    pub async fn poll_until_idle<F: Function>(&self, function: &mut F, empty: u32) {
        self.poll_until(function, Some(empty)).await;
    }

    async fn poll_until<F: Function>(&self, function: &mut F, idle_limit: Option<u32>) {
        let mut idle = 0;
        while !self.stop.load(Ordering::SeqCst) && idle_limit.is_none_or(|l| idle < l) {
            let messages = self.receive().await;
            if messages.is_empty() {
                idle += 1;
                continue;
            }
            idle = 0;
            let event = crate::sqs::from_messages(&messages, &self.queue_arn);
            let outcome = function.invoke(&event).await;
            let failed = match &outcome {
                Invocation::Response(r) => failed_items(r, &messages),
                Invocation::Error(_) | Invocation::Crashed => None,
            };
            self.settle(&messages, &outcome, failed).await;
        }
    }

    /// One receive (long polling, every attribute); nothing when it failed.
    async fn receive(&self) -> Vec<Message> {
        let batch = i32::try_from(self.settings.batch_size.clamp(1, MAX_RECEIVE)).unwrap_or(10);
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
        match received {
            Ok(out) => out.messages().to_vec(),
            Err(e) => {
                tracing::warn!(error = %filetrail_aws::classify(filetrail_aws::Service::Sqs, &e).message, "receive failed; polling again");
                tokio::time::sleep(Duration::from_millis(100)).await;
                Vec::new()
            }
        }
    }

    /// Delete what the invocation finished, injecting duplicate deliveries.
    async fn settle(
        &self,
        messages: &[Message],
        outcome: &Invocation,
        failed: Option<HashSet<String>>,
    ) {
        let Some((copies, delete)) = self.decide(messages, outcome, failed) else {
            return;
        };
        for body in copies {
            let sent = self
                .sqs
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(body)
                .send()
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %filetrail_aws::classify(filetrail_aws::Service::Sqs, &e).message, "could not send a duplicate copy");
            }
        }
        for chunk in delete.chunks(MAX_RECEIVE) {
            let entries = crate::pipeline::delete_entries(chunk.iter().copied());
            let n = entries.len() as u64;
            let deleted = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            match deleted {
                Ok(out) => self.lock().stats.deleted += n - out.failed().len() as u64,
                Err(e) => {
                    tracing::warn!(error = %filetrail_aws::classify(filetrail_aws::Service::Sqs, &e).message, "delete failed; the batch will be delivered again")
                }
            }
        }
    }

    /// Count the invocation and decide each message's fate: the bodies to send again as
    /// copies and the messages to delete; `None` when the whole batch is retried.
    fn decide<'m>(
        &self,
        messages: &'m [Message],
        outcome: &Invocation,
        failed: Option<HashSet<String>>,
    ) -> Option<(Vec<String>, Vec<&'m Message>)> {
        let mut copies: Vec<String> = Vec::new();
        let mut delete: Vec<&Message> = Vec::new();
        let mut s = self.lock();
        s.stats.invocations += 1;
        s.stats.messages += messages.len() as u64;
        let Some(failed) = failed else {
            match outcome {
                Invocation::Crashed => s.stats.crashed_invocations += 1,
                _ => s.stats.failed_invocations += 1,
            }
            return None;
        };
        s.stats.item_failures += failed.len() as u64;
        for m in messages {
            if failed.contains(m.message_id().unwrap_or_default()) {
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
        Some((copies, delete))
    }
}

/// A [`Lambda`] process invoked as the mapping invokes a function: an answer posted to
/// `/response` is the partial batch response, one posted to `/error` or none within
/// [`INVOCATION_TIMEOUT`] fails the invocation.
impl Function for Lambda {
    async fn invoke(&mut self, event: &Value) -> Invocation {
        match Lambda::invoke(self, &event.to_string(), INVOCATION_TIMEOUT).await {
            Some(a) if a.ok => serde_json::from_str(&a.body)
                .map_or_else(|e| Invocation::Error(e.to_string()), Invocation::Response),
            Some(a) => Invocation::Error(a.body),
            None => Invocation::Error("the invocation timed out".into()),
        }
    }
}
