//! Batching, partial-failure retry and the outcome of every entry.

use std::future::Future;
use std::time::{Duration, Instant};

use filetrail_aws::{Backoff, BackoffSettings, Classified};
use filetrail_contract::{DETAIL_TYPE, FileMoved, OccurredAt};
use futures_util::StreamExt;
use tracing::Instrument;

use crate::PublisherConfig;
use crate::limits::{MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES};

/// Codes this library gives entries that never reached EventBridge.
pub mod codes {
    /// The event broke the contract; the message names the field.
    pub const INVALID_EVENT: &str = "InvalidEvent";
    /// The entry alone is larger than one PutEvents call may carry.
    pub const ENTRY_TOO_LARGE: &str = "EntryTooLarge";
}

/// How many PutEvents calls one `publish` keeps in flight.
pub const CONCURRENT_CALLS: usize = 4;

/// One PutEvents entry, as the publisher builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The event's `event_id`, to report outcomes by.
    pub event_id: String,
    /// The entry's `Source`.
    pub source: String,
    /// The entry's `DetailType`.
    pub detail_type: &'static str,
    /// The entry's `Detail` (JSON).
    pub detail: String,
}

impl Entry {
    /// Size of the entry as AWS documents it ("Calculating PutEvents event entry size"): the
    /// UTF-8 bytes of `Source`, `DetailType`, `Detail` and `Resources`, plus 14 when `Time` is
    /// set. filetrail sets neither `Resources` nor `Time`.
    pub fn size(&self) -> usize {
        self.source.len() + self.detail_type.len() + self.detail.len()
    }
}

/// What EventBridge said about one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryOutcome {
    /// Accepted; EventBridge gave it this envelope id.
    Delivered {
        /// The envelope `id` EventBridge assigned.
        envelope_id: String,
    },
    /// Refused with this code (`ThrottlingException`, `InternalFailure`, `InvalidArgument`, ...).
    Failed {
        /// The entry's `ErrorCode`.
        code: String,
        /// The entry's `ErrorMessage`.
        message: String,
    },
}

/// The whole PutEvents call failed; `retryable` was decided by the one classifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PutEvents failed: {code}: {message}")]
pub struct CallError {
    /// Whether the call may succeed if made again.
    pub retryable: bool,
    /// The service or transport error code.
    pub code: String,
    /// Human-readable detail.
    pub message: String,
}

impl From<Classified> for CallError {
    fn from(c: Classified) -> Self {
        Self {
            retryable: c.retryable,
            code: c.code,
            message: c.message,
        }
    }
}

/// The seam around EventBridge: one PutEvents call for up to ten entries.
///
/// On success the outcomes are in the same order as `entries`.
pub trait PutEvents: Send + Sync {
    /// Send one PutEvents call.
    fn put_events(
        &self,
        entries: &[Entry],
    ) -> impl Future<Output = Result<Vec<EntryOutcome>, CallError>> + Send;
}

/// An event that could not be published, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEntry {
    /// The event's id.
    pub event_id: String,
    /// The last error code (an EventBridge code, or one of [`codes`]).
    pub code: String,
    /// The last error message.
    pub message: String,
}

/// Counts of one `publish` call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Events EventBridge accepted.
    pub delivered: usize,
    /// PutEvents calls made.
    pub calls: usize,
    /// Entries sent again after a retryable failure.
    pub retried: usize,
}

/// Some events could not be published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// These events failed for good (the others, counted in `report`, were delivered).
    #[error("{} event(s) not published (first: {}: {}: {})", failures.len(),
        failures.first().map_or("", |f| f.event_id.as_str()),
        failures.first().map_or("", |f| f.code.as_str()),
        failures.first().map_or("", |f| f.message.as_str()))]
    Failed {
        /// One entry per event that was not published.
        failures: Vec<FailedEntry>,
        /// What did happen.
        report: PublishReport,
    },
}

/// Publishes `FileMoved` events through a [`PutEvents`] client.
#[derive(Debug, Clone)]
pub struct Publisher<C> {
    client: C,
    config: PublisherConfig,
    backoff: BackoffSettings,
}

/// Where one entry stands during a publish.
enum State {
    Pending {
        attempts: u32,
        last: Option<(String, String)>,
    },
    Delivered,
    Failed(FailedEntry),
}

impl<C: PutEvents> Publisher<C> {
    /// A publisher sending through `client` as `config.source`.
    pub fn new(client: C, config: PublisherConfig) -> Self {
        Self {
            client,
            config,
            backoff: BackoffSettings::default(),
        }
    }

    /// Use another backoff shape (tests use short delays).
    #[must_use]
    pub fn with_backoff(mut self, backoff: BackoffSettings) -> Self {
        self.backoff = backoff;
        self
    }

    /// Use another retry budget.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.config.deadline = deadline;
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &PublisherConfig {
        &self.config
    }

    /// The client in use.
    pub fn client(&self) -> &C {
        &self.client
    }

    /// Publish one event.
    pub async fn publish_one(&self, event: &FileMoved) -> Result<PublishReport, PublishError> {
        self.publish(std::slice::from_ref(event)).await
    }

    /// Publish events; `Ok` only when every one was delivered.
    pub async fn publish(&self, events: &[FileMoved]) -> Result<PublishReport, PublishError> {
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        let span = tracing::info_span!(
            "publish",
            bus = %self.config.bus,
            source = %self.config.source,
            events = events.len(),
            event_ids = %ids.join(","),
        );
        self.publish_inner(events).instrument(span).await
    }

    async fn publish_inner(&self, events: &[FileMoved]) -> Result<PublishReport, PublishError> {
        let mut report = PublishReport::default();
        let entries: Vec<Entry> = events.iter().map(|e| self.entry(e)).collect();
        let mut states = initial_states(events, &entries);
        let deadline = Instant::now() + self.config.deadline;
        let mut backoff = Backoff::new(self.backoff, deadline);
        loop {
            let pending = pending(&states);
            if pending.is_empty() {
                break;
            }
            self.round(&entries, &pending, &mut states, &mut report, deadline)
                .await;
            let retry = pending_count(&states);
            if retry == 0 {
                break;
            }
            let Some(delay) = backoff.next_delay() else {
                self.give_up(&entries, &mut states);
                break;
            };
            tracing::info!(
                entries = retry,
                delay_ms = delay.as_millis(),
                "retrying failed entries"
            );
            report.retried += retry;
            tokio::time::sleep(delay).await;
        }
        finish(states, report)
    }

    fn entry(&self, e: &FileMoved) -> Entry {
        Entry {
            event_id: e.event_id.clone(),
            source: self.config.source.clone(),
            detail_type: DETAIL_TYPE,
            detail: e.to_json(),
        }
    }

    /// Send the pending entries once, in packed calls, every call ending by `deadline`
    /// however many SDK attempts it takes; record each entry's new state.
    async fn round(
        &self,
        entries: &[Entry],
        pending: &[usize],
        states: &mut [State],
        report: &mut PublishReport,
        deadline: Instant,
    ) {
        let batches = pack_batches(pending, |i| entries[i].size());
        let calls = batches.iter().map(|batch| {
            let chunk: Vec<Entry> = batch.iter().map(|&i| entries[i].clone()).collect();
            async move {
                let call = self.client.put_events(&chunk);
                let result = tokio::time::timeout_at(deadline.into(), call)
                    .await
                    .unwrap_or_else(|_elapsed| Err(CallError {
                        retryable: true,
                        code: "Timeout".into(),
                        message: "PutEvents did not answer before the publish deadline; the entries may have been delivered".into(),
                    }));
                (batch, result)
            }
        });
        let mut results = futures_util::stream::iter(calls).buffer_unordered(CONCURRENT_CALLS);
        while let Some((batch, result)) = results.next().await {
            report.calls += 1;
            apply(entries, states, batch, result);
        }
    }

    /// The deadline came: every pending entry fails with its last error.
    fn give_up(&self, entries: &[Entry], states: &mut [State]) {
        for (i, state) in states.iter_mut().enumerate() {
            if let State::Pending { attempts, last } = state {
                let (code, message) = last.take().unwrap_or_default();
                *state = State::Failed(failed(
                    &entries[i],
                    &code,
                    format!(
                        "{message} (gave up after {attempts} attempts: publish deadline of {:?} reached)",
                        self.config.deadline
                    ),
                ));
            }
        }
    }
}

/// Each entry's state before the first call: invalid and oversized ones fail at once.
fn initial_states(events: &[FileMoved], entries: &[Entry]) -> Vec<State> {
    let now = OccurredAt::now();
    events
        .iter()
        .zip(entries)
        .map(|(event, entry)| match event.validate(now) {
            Err(e) => State::Failed(failed(entry, codes::INVALID_EVENT, e.to_string())),
            Ok(()) if entry.size() > MAX_REQUEST_BYTES => State::Failed(failed(
                entry,
                codes::ENTRY_TOO_LARGE,
                format!(
                    "entry is {} bytes; one PutEvents call carries at most {MAX_REQUEST_BYTES}",
                    entry.size()
                ),
            )),
            Ok(()) => State::Pending {
                attempts: 0,
                last: None,
            },
        })
        .collect()
}

fn pending(states: &[State]) -> Vec<usize> {
    (0..states.len())
        .filter(|&i| matches!(states[i], State::Pending { .. }))
        .collect()
}

fn pending_count(states: &[State]) -> usize {
    states
        .iter()
        .filter(|s| matches!(s, State::Pending { .. }))
        .count()
}

/// One call's answer: per entry delivered, failed for good, or pending again.
fn apply(
    entries: &[Entry],
    states: &mut [State],
    batch: &[usize],
    result: Result<Vec<EntryOutcome>, CallError>,
) {
    match result {
        Ok(outcomes) => {
            for (&i, outcome) in batch.iter().zip(outcomes) {
                states[i] = match outcome {
                    EntryOutcome::Delivered { .. } => State::Delivered,
                    EntryOutcome::Failed { code, message } => {
                        let retryable = filetrail_aws::is_retryable_put_events_entry(&code);
                        after_failure(&states[i], &entries[i], retryable, code, message)
                    }
                };
            }
        }
        Err(err) => {
            tracing::warn!(code = %err.code, retryable = err.retryable, message = %err.message, "PutEvents call failed");
            for &i in batch {
                states[i] = after_failure(
                    &states[i],
                    &entries[i],
                    err.retryable,
                    err.code.clone(),
                    err.message.clone(),
                );
            }
        }
    }
}

/// The report, or every entry that failed for good.
fn finish(states: Vec<State>, mut report: PublishReport) -> Result<PublishReport, PublishError> {
    let mut failures = Vec::new();
    for state in states {
        match state {
            State::Delivered => report.delivered += 1,
            State::Failed(f) => failures.push(f),
            State::Pending { .. } => unreachable!("the loop ends with no entry pending"),
        }
    }
    if failures.is_empty() {
        tracing::info!(
            delivered = report.delivered,
            calls = report.calls,
            "published"
        );
        return Ok(report);
    }
    for f in &failures {
        tracing::error!(event_id = %f.event_id, code = %f.code, message = %f.message, "event not published");
    }
    Err(PublishError::Failed { failures, report })
}

fn failed(entry: &Entry, code: &str, message: String) -> FailedEntry {
    FailedEntry {
        event_id: entry.event_id.clone(),
        code: code.to_owned(),
        message,
    }
}

fn after_failure(
    current: &State,
    entry: &Entry,
    retryable: bool,
    code: String,
    message: String,
) -> State {
    if !retryable {
        return State::Failed(failed(entry, &code, message));
    }
    let attempts = match current {
        State::Pending { attempts, .. } => attempts + 1,
        _ => 1,
    };
    State::Pending {
        attempts,
        last: Some((code, message)),
    }
}

/// Pack entries (by index) into PutEvents calls: at most [`MAX_ENTRIES_PER_CALL`] entries and
/// [`MAX_REQUEST_BYTES`] bytes each, in order. Every index lands in exactly one batch.
pub fn pack_batches(indices: &[usize], size_of: impl Fn(usize) -> usize) -> Vec<Vec<usize>> {
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut bytes = 0;
    for &i in indices {
        let size = size_of(i);
        let fits = batches
            .last()
            .is_some_and(|b| b.len() < MAX_ENTRIES_PER_CALL && bytes + size <= MAX_REQUEST_BYTES);
        match batches.last_mut() {
            Some(b) if fits => b.push(i),
            _ => {
                batches.push(vec![i]);
                bytes = 0;
            }
        }
        bytes += size;
    }
    batches
}
