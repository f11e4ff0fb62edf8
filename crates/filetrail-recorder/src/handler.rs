//! The recorder's handler: one SQS batch in, a partial batch response out.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use filetrail_aws::emf::Metrics;
use filetrail_aws::{Backoff, BackoffSettings, Classified};
use filetrail_contract::{OccurredAt, parse_body};
use futures_util::StreamExt;

use crate::{DeadLetter, DeadLetterClass, DeadLetters, Sink, WriteOutcome};

/// Tuning of one recorder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Concurrent write calls.
    pub concurrency: usize,
    /// Backoff between write rounds.
    pub backoff: BackoffSettings,
    /// Write attempts per record within one invocation before it goes back to SQS.
    pub max_attempts: u32,
    /// Time kept at the end of the work for dead-lettering: writes stop this long (at most a
    /// quarter of the time left) before the work deadline; dead letters are sent by it.
    pub dead_letter_reserve: Duration,
}

/// Write attempts per record within one invocation (the first included).
pub const MAX_WRITE_ATTEMPTS: u32 = 8;
/// Default [`Settings::dead_letter_reserve`].
pub const DEAD_LETTER_RESERVE: Duration = Duration::from_millis(1000);

impl Default for Settings {
    fn default() -> Self {
        Self {
            concurrency: crate::config::DEFAULT_WRITE_CONCURRENCY,
            backoff: BackoffSettings::default(),
            max_attempts: MAX_WRITE_ATTEMPTS,
            dead_letter_reserve: DEAD_LETTER_RESERVE,
        }
    }
}

/// What happened to the messages of one batch. `written + duplicate + dead_lettered + failed
/// == received` always holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Messages in the batch.
    pub received: u64,
    /// Messages whose record this invocation stored.
    pub written: u64,
    /// Later copies, in the same batch, of an event whose record this invocation stored.
    pub duplicate: u64,
    /// Record writes sent again after a retryable failure.
    pub retried: u64,
    /// Messages sent to the dead-letter queue with their reason.
    pub dead_lettered: u64,
    /// Messages handed back to SQS (`batchItemFailures`).
    pub failed: u64,
}

impl Counts {
    /// These counts as an EMF line for `function`.
    pub fn metrics(&self, function: &str) -> Metrics {
        let mut m = Metrics::new(function);
        m.set("received", self.received)
            .set("written", self.written)
            .set("duplicate", self.duplicate)
            .set("retried", self.retried)
            .set("dead_lettered", self.dead_lettered)
            .set("failed", self.failed);
        m
    }
}

/// The invocation cannot be decided message by message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// A message that must be retried has no `messageId`, so it cannot be named in
    /// `batchItemFailures`; failing the invocation makes SQS retry the whole batch instead.
    #[error(
        "message {index} of the batch has no messageId and must be retried; failing the whole batch so SQS redelivers it"
    )]
    MissingMessageId {
        /// Position of the message in the batch.
        index: usize,
    },
}

/// Where a message ends.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    Written,
    Duplicate,
    DeadLetter {
        reason: String,
        class: DeadLetterClass,
    },
    Requeue {
        reason: String,
    },
}

/// One distinct event of the batch and the messages that carry it. The event itself is
/// dropped once its record is built: only the record is needed to write it.
struct Group<R> {
    messages: Vec<usize>,
    record: Option<R>,
    fate: Option<Fate>,
    attempts: u32,
    last_reason: String,
    solo: bool,
}

/// The recorder: parses, deduplicates, writes through a [`Sink`], dead-letters through
/// [`DeadLetters`], and reports what SQS must redeliver.
#[derive(Debug, Clone)]
pub struct Recorder<S, D> {
    sink: S,
    dead_letters: D,
    settings: Settings,
}

impl<S: Sink, D: DeadLetters> Recorder<S, D> {
    /// A recorder writing to `sink` and dead-lettering to `dead_letters`.
    pub fn new(sink: S, dead_letters: D, settings: Settings) -> Self {
        Self {
            sink,
            dead_letters,
            settings,
        }
    }

    /// The sink (tests inspect it).
    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// The dead-letter queue (tests inspect it).
    pub fn dead_letters(&self) -> &D {
        &self.dead_letters
    }

    /// Handle one SQS batch, finishing before `deadline`: every write call ends by
    /// `deadline` minus the dead-letter reserve, every dead-letter call by `deadline`.
    pub async fn handle(
        &self,
        event: &SqsEvent,
        deadline: Instant,
    ) -> Result<(SqsBatchResponse, Counts), HandlerError> {
        let messages = &event.records;
        let mut counts = Counts {
            received: messages.len() as u64,
            ..Counts::default()
        };
        let mut fates: Vec<Option<Fate>> = vec![None; messages.len()];

        // 1. Parse, validate and group by event_id: a redelivered event is written once.
        // 2. Build each distinct event's record once (the event is then dropped); one that
        //    breaks a store limit can never be written.
        let now = OccurredAt::now();
        let mut groups: Vec<Group<S::Record>> = Vec::new();
        let mut by_id: HashMap<String, usize> = HashMap::with_capacity(messages.len());
        for (i, m) in messages.iter().enumerate() {
            let inbound = match parse_body(m.body.as_deref().unwrap_or_default().as_bytes(), now) {
                Ok(inbound) => inbound,
                Err(e) => {
                    let reason = e.to_string();
                    fates[i] = Some(Fate::DeadLetter {
                        reason,
                        class: DeadLetterClass::Invalid,
                    });
                    continue;
                }
            };
            match by_id.entry(inbound.event.event_id.clone()) {
                Entry::Occupied(g) => groups[*g.get()].messages.push(i),
                Entry::Vacant(slot) => {
                    slot.insert(groups.len());
                    let (record, fate) = match self.sink.prepare(&inbound.event) {
                        Ok(r) => (Some(r), None),
                        Err(reason) => (
                            None,
                            Some(Fate::DeadLetter {
                                reason,
                                class: DeadLetterClass::Invalid,
                            }),
                        ),
                    };
                    groups.push(Group {
                        messages: vec![i],
                        record,
                        fate,
                        attempts: 0,
                        last_reason: String::new(),
                        solo: false,
                    });
                }
            }
        }
        drop(by_id);

        // 3. Write in rounds until everything is decided or the write deadline comes.
        let reserve = self
            .settings
            .dead_letter_reserve
            .min(deadline.saturating_duration_since(Instant::now()) / 4);
        let write_deadline = deadline.checked_sub(reserve).unwrap_or(deadline);
        counts.retried = self.write_all(&mut groups, write_deadline).await;

        // 4. Every message takes its group's fate; later copies of a written event are duplicates.
        for g in groups {
            let fate = g.fate.unwrap_or_else(|| Fate::Requeue {
                reason: "undecided".into(),
            });
            for (k, &i) in g.messages.iter().enumerate() {
                fates[i] = Some(match &fate {
                    Fate::Written if k > 0 => Fate::Duplicate,
                    other => other.clone(),
                });
            }
        }

        // 5. Dead-letter what can never be written; what the DLQ refuses goes back to SQS.
        let letters: Vec<(usize, DeadLetter)> = fates
            .iter()
            .enumerate()
            .filter_map(|(i, f)| match f {
                Some(Fate::DeadLetter { reason, class }) => Some((
                    i,
                    DeadLetter {
                        message_id: messages[i].message_id.clone().unwrap_or_default(),
                        body: messages[i].body.clone().unwrap_or_default(),
                        reason: reason.clone(),
                        class: *class,
                    },
                )),
                _ => None,
            })
            .collect();
        if !letters.is_empty() {
            let batch: Vec<DeadLetter> = letters.iter().map(|(_, l)| l.clone()).collect();
            let results = self.dead_letters.send(&batch, deadline).await;
            for ((i, letter), result) in letters.iter().zip(results) {
                match result {
                    Ok(()) => {
                        tracing::warn!(message_id = %letter.message_id, class = letter.class.as_str(), reason = %letter.reason, "dead-lettered")
                    }
                    Err(why) => {
                        tracing::error!(message_id = %letter.message_id, reason = %letter.reason, dead_letter_error = %why, "could not dead-letter; handing back to SQS");
                        fates[*i] = Some(Fate::Requeue {
                            reason: format!("{} (dead-letter queue: {why})", letter.reason),
                        });
                    }
                }
            }
        }

        // 6. The partial batch response.
        let mut response = SqsBatchResponse::default();
        for (i, fate) in fates.into_iter().enumerate() {
            match fate.unwrap_or_else(|| Fate::Requeue {
                reason: "undecided".into(),
            }) {
                Fate::Written => counts.written += 1,
                Fate::Duplicate => counts.duplicate += 1,
                Fate::DeadLetter { .. } => counts.dead_lettered += 1,
                Fate::Requeue { reason } => {
                    let Some(id) = messages[i].message_id.clone() else {
                        return Err(HandlerError::MissingMessageId { index: i });
                    };
                    tracing::warn!(message_id = %id, reason = %reason, "handing back to SQS for redelivery");
                    counts.failed += 1;
                    response.add_failure(id);
                }
            }
        }
        tracing::info!(
            sink = self.sink.name(),
            received = counts.received,
            written = counts.written,
            duplicate = counts.duplicate,
            retried = counts.retried,
            dead_lettered = counts.dead_lettered,
            failed = counts.failed,
            "batch recorded"
        );
        Ok((response, counts))
    }

    /// Write every prepared record; returns how many record writes were retried.
    async fn write_all(&self, groups: &mut [Group<S::Record>], deadline: Instant) -> u64 {
        let mut retried = 0;
        let mut backoff = Backoff::new(self.settings.backoff, deadline);
        let max_batch = self.sink.max_batch().max(1);
        loop {
            let pending: Vec<usize> = (0..groups.len())
                .filter(|&g| groups[g].fate.is_none())
                .collect();
            if pending.is_empty() {
                return retried;
            }
            if Instant::now() >= deadline {
                requeue(
                    groups,
                    &pending,
                    "the invocation deadline came before the record was written",
                );
                return retried;
            }
            // Records isolated after a whole-call validation error go one per call.
            let (solo, packed): (Vec<usize>, Vec<usize>) =
                pending.iter().partition(|&&g| groups[g].solo);
            let mut calls: Vec<Vec<usize>> =
                packed.chunks(max_batch).map(<[usize]>::to_vec).collect();
            calls.extend(solo.into_iter().map(|g| vec![g]));

            // Every call ends by the deadline, however late it starts (calls past the
            // concurrency limit wait for a slot); one whose slot comes after it never starts.
            let shared: &[Group<S::Record>] = groups;
            let jobs = calls.into_iter().map(|call| async move {
                if Instant::now() >= deadline {
                    return (call, None);
                }
                let records: Vec<S::Record> = call
                    .iter()
                    .filter_map(|&g| shared[g].record.clone())
                    .collect();
                let result =
                    tokio::time::timeout_at(deadline.into(), self.sink.write(records)).await;
                (call, Some(result))
            });
            let results: Vec<_> = futures_util::stream::iter(jobs)
                .buffer_unordered(self.settings.concurrency.max(1))
                .collect()
                .await;

            let mut wait = false;
            // The least delay the store asked for (Retry-After) before the next round.
            let mut min_wait = Duration::ZERO;
            for (call, result) in results {
                match result {
                    Some(Ok(Ok(outcomes))) => {
                        for (&g, outcome) in call.iter().zip(outcomes) {
                            match outcome {
                                WriteOutcome::Written => groups[g].fate = Some(Fate::Written),
                                WriteOutcome::Conflict(reason) => {
                                    groups[g].fate = Some(Fate::DeadLetter {
                                        reason,
                                        class: DeadLetterClass::Conflict,
                                    });
                                }
                                WriteOutcome::Transient(reason) => {
                                    wait = true;
                                    self.retry_then_reject(&mut groups[g], reason);
                                }
                                WriteOutcome::Reject(reason) => {
                                    groups[g].fate = Some(Fate::DeadLetter {
                                        reason,
                                        class: DeadLetterClass::Rejected,
                                    });
                                }
                                WriteOutcome::Retry(reason) => {
                                    wait = true;
                                    self.retry(&mut groups[g], reason);
                                }
                                WriteOutcome::RetryAfter { reason, after } => {
                                    wait = true;
                                    min_wait = min_wait.max(after);
                                    self.retry(&mut groups[g], reason);
                                }
                                WriteOutcome::Isolate(reason) => {
                                    if call.len() > 1 {
                                        groups[g].solo = true;
                                    } else {
                                        groups[g].fate = Some(Fate::DeadLetter {
                                            reason,
                                            class: DeadLetterClass::Rejected,
                                        });
                                    }
                                }
                            }
                        }
                    }
                    // Never started: the deadline came first; the loop hands it back.
                    None => {}
                    Some(Ok(Err(err))) => wait |= self.call_failed(groups, &call, &err),
                    Some(Err(_elapsed)) => {
                        for &g in &call {
                            self.retry(
                                &mut groups[g],
                                "the write call did not finish before the deadline".into(),
                            );
                        }
                    }
                }
            }
            let still: Vec<usize> = (0..groups.len())
                .filter(|&g| groups[g].fate.is_none())
                .collect();
            if still.is_empty() {
                return retried;
            }
            if wait {
                match backoff.next_delay() {
                    Some(delay) if Instant::now() + delay.max(min_wait) >= deadline => {
                        requeue(
                            groups,
                            &still,
                            &format!(
                                "the store asked to wait {} ms (Retry-After), past the invocation deadline",
                                min_wait.as_millis()
                            ),
                        );
                        return retried;
                    }
                    Some(delay) => {
                        let delay = delay.max(min_wait);
                        tracing::info!(
                            records = still.len(),
                            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                            "retrying records"
                        );
                        tokio::time::sleep(delay).await;
                    }
                    None => {
                        requeue(
                            groups,
                            &still,
                            "the invocation deadline came before the record was written",
                        );
                        return retried;
                    }
                }
            }
            retried += still.len() as u64;
        }
    }

    /// A refusal the store documents as passing: retried like any other, but dead-lettered
    /// with its reason, not handed back, when the attempts run out.
    fn retry_then_reject(&self, g: &mut Group<S::Record>, reason: String) {
        g.attempts += 1;
        if g.attempts >= self.settings.max_attempts {
            g.fate = Some(Fate::DeadLetter {
                reason: format!("{reason} (refused {} times in one invocation)", g.attempts),
                class: DeadLetterClass::Rejected,
            });
        }
        g.last_reason = reason;
    }

    fn retry(&self, g: &mut Group<S::Record>, reason: String) {
        g.attempts += 1;
        if g.attempts >= self.settings.max_attempts {
            g.fate = Some(Fate::Requeue {
                reason: format!("{reason} (after {} attempts)", g.attempts),
            });
        }
        g.last_reason = reason;
    }

    /// A whole write call failed; returns whether a backoff is due.
    fn call_failed(
        &self,
        groups: &mut [Group<S::Record>],
        call: &[usize],
        err: &Classified,
    ) -> bool {
        tracing::warn!(code = %err.code, retryable = err.retryable, message = %err.message, records = call.len(), "write call failed");
        if err.retryable {
            for &g in call {
                self.retry(&mut groups[g], format!("{}: {}", err.code, err.message));
            }
            return true;
        }
        if err.code == "ValidationException" {
            // The request as a whole was refused: isolate the record that causes it.
            if call.len() > 1 {
                for &g in call {
                    groups[g].solo = true;
                }
            } else {
                for &g in call {
                    groups[g].fate = Some(Fate::DeadLetter {
                        reason: format!(
                            "the store refused the record: {}: {}",
                            err.code, err.message
                        ),
                        class: DeadLetterClass::Rejected,
                    });
                }
            }
            return false;
        }
        // Access, missing table, bad configuration: nothing wrong with the messages; SQS keeps
        // them and redelivers, and its redrive policy catches what never passes.
        for &g in call {
            groups[g].fate = Some(Fate::Requeue {
                reason: format!("{}: {}", err.code, err.message),
            });
        }
        false
    }
}

fn requeue<R>(groups: &mut [Group<R>], which: &[usize], why: &str) {
    for &g in which {
        let last = &groups[g].last_reason;
        let reason = if last.is_empty() {
            why.to_owned()
        } else {
            format!("{why}; last error: {last}")
        };
        groups[g].fate = Some(Fate::Requeue { reason });
    }
}

/// The deadline to work to: the Lambda deadline minus `margin`, as an [`Instant`].
pub fn work_deadline(lambda_deadline: std::time::SystemTime, margin: Duration) -> Instant {
    let left = lambda_deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Instant::now() + left.saturating_sub(margin)
}
