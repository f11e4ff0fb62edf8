//! The recorder's handler: one SQS batch in, a partial batch response out.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsBatchResponse;
use filetrail_aws::BackoffSettings;
use filetrail_contract::{FileMoved, OccurredAt, parse_event_str};

use crate::batch::{Batch, Message};
use crate::lag::{Lag, oldest_age};
use crate::write::{Fate, Group, write_all};
use crate::{DeadLetter, DeadLetterClass, DeadLetters, Sink};

/// Tuning of one recorder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Concurrent write calls.
    pub concurrency: usize,
    /// Backoff between write rounds.
    pub backoff: BackoffSettings,
    /// Write attempts per record within one invocation before it is handed back (or, for a
    /// refusal the store documents as passing, dead-lettered).
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

filetrail_aws::counts! {
    /// What happened to the messages of one batch, each field an EMF metric
    /// (`infra/emf-metrics.json`). `written + duplicate + dead_lettered + failed == received`
    /// always holds.
    #[derive(serde::Serialize)]
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
        /// Messages handed back to SQS for redelivery: the `batchItemFailures` of the response
        /// (the metric keeps SQS's word).
        pub failed: u64,
        /// How far the trail lags behind the pipeline (its own metrics, in milliseconds; not
        /// summed or serialized with the counts).
        #[serde(skip)]
        pub lag: Lag,
    }
}

/// The invocation cannot be decided message by message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// A message that must be handed back has no `messageId`, so it cannot be named in
    /// `batchItemFailures`; failing the invocation makes SQS redeliver the whole batch instead.
    #[error(
        "message {index} of the batch has no messageId and must be handed back; failing the whole batch so SQS redelivers it"
    )]
    MissingMessageId {
        /// Position of the message in the batch.
        index: usize,
    },
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

    /// Handle one SQS batch (the deployed function's [`crate::SqsBatch`], or a full
    /// `aws_lambda_events` `SqsEvent`), finishing before `deadline`: every write call ends by
    /// `deadline` minus the dead-letter reserve, every dead-letter call by `deadline`.
    pub async fn handle<B: Batch>(
        &self,
        event: &B,
        deadline: Instant,
    ) -> Result<(SqsBatchResponse, Counts), HandlerError> {
        let messages = event.messages();
        let oldest_message_age_ms = oldest_age(
            messages.iter().filter_map(Message::sent_ms),
            OccurredAt::now().millis(),
        );
        let (mut groups, mut fates) = self.parse(messages);
        let writes_end = self.writes_end(deadline);
        let retried = write_all(&self.sink, &self.settings, &mut groups, writes_end).await;
        let lag = Lag::new(
            groups.iter().filter_map(Group::lag_ms).collect(),
            oldest_message_age_ms,
        );
        settle(groups, &mut fates);
        self.dead_letter(messages, &mut fates, deadline).await;
        let (response, mut counts) = respond(messages, fates)?;
        counts.retried = retried;
        counts.lag = lag;
        tracing::info!(
            sink = self.sink.name(),
            received = counts.received,
            written = counts.written,
            duplicate = counts.duplicate,
            retried = counts.retried,
            dead_lettered = counts.dead_lettered,
            failed = counts.failed,
            lag_max_ms = lag.max_ms,
            oldest_message_age_ms = lag.oldest_message_age_ms,
            "batch recorded"
        );
        Ok((response, counts))
    }

    /// Parse and validate every message, group them by `event_id` (a redelivered event is
    /// written once) and check each distinct event against the sink's limits once. A message
    /// that is not a valid event, or whose record can never be stored, is decided here:
    /// dead-lettered.
    fn parse<M: Message>(&self, messages: &[M]) -> (Vec<Group>, Vec<Option<Fate>>) {
        let now = OccurredAt::now();
        let mut fates: Vec<Option<Fate>> = vec![None; messages.len()];
        let mut groups: Vec<Group> = Vec::new();
        let mut by_id: HashMap<String, usize> = HashMap::with_capacity(messages.len());
        for (i, m) in messages.iter().enumerate() {
            match parse_event_str(m.body(), now) {
                Err(e) => {
                    fates[i] = Some(Fate::DeadLetter {
                        reason: e.to_string(),
                        class: DeadLetterClass::Invalid,
                    });
                }
                Ok(event) => match by_id.entry(event.event_id.clone()) {
                    Entry::Occupied(g) => {
                        let group = &mut groups[*g.get()];
                        match self.same_record(group, &event) {
                            None => group.copies.push(i),
                            fate => fates[i] = fate,
                        }
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(groups.len());
                        let check = self.sink.check(&event);
                        groups.push(Group::new(i, event, check));
                    }
                },
            }
        }
        (groups, fates)
    }

    /// A later message of an event already in the batch: a copy (`None`) when it yields the
    /// same record (the same event, or one differing only in what the layout does not store),
    /// which is written once. Otherwise its own fate: dead-lettered as invalid when its record
    /// can never be stored (with its own reason), else as a conflict: the store would reject the
    /// second record in another batch (`Outcome::Conflict`); in one batch it is told here, and
    /// never counted as written. Both records are prepared to be compared: this happens only
    /// for two different events under one `event_id`.
    fn same_record(&self, group: &Group, event: &FileMoved) -> Option<Fate> {
        if group.event() == event {
            return None;
        }
        let this = match self.sink.prepare(event) {
            Ok(record) => record,
            Err(reason) => {
                return Some(Fate::DeadLetter {
                    reason,
                    class: DeadLetterClass::Invalid,
                });
            }
        };
        let first = match self.sink.prepare(group.event()) {
            Ok(first) if first == this => return None,
            Ok(_) => "is recorded",
            Err(_) => "can never be stored",
        };
        Some(Fate::DeadLetter {
            reason: format!(
                "conflict: two different events in one batch claim event_id {} ({} store): the \
                 first {}, this one {}; the first {first}, this one is not recorded",
                event.event_id,
                self.sink.name(),
                compact(group.event()),
                compact(event),
            ),
            class: DeadLetterClass::Conflict,
        })
    }

    /// When writes stop: the work deadline minus the dead-letter reserve (at most a quarter of
    /// the time left).
    fn writes_end(&self, deadline: Instant) -> Instant {
        let reserve = self
            .settings
            .dead_letter_reserve
            .min(deadline.saturating_duration_since(Instant::now()) / 4);
        deadline.checked_sub(reserve).unwrap_or(deadline)
    }

    /// Dead-letter what can never be written; a letter the DLQ does not take is handed back.
    async fn dead_letter<M: Message>(
        &self,
        messages: &[M],
        fates: &mut [Option<Fate>],
        deadline: Instant,
    ) {
        let (indices, letters): (Vec<usize>, Vec<DeadLetter>) = fates
            .iter()
            .enumerate()
            .filter_map(|(i, f)| match f {
                Some(Fate::DeadLetter { reason, class }) => {
                    Some((i, letter(&messages[i], reason, *class)))
                }
                _ => None,
            })
            .unzip();
        if letters.is_empty() {
            return;
        }
        let results = self.dead_letters.send(&letters, deadline).await;
        for ((i, l), result) in indices.into_iter().zip(&letters).zip(results) {
            match result {
                Ok(()) => {
                    tracing::warn!(message_id = %l.message_id, class = l.class.as_str(), reason = %l.reason, "dead-lettered");
                }
                Err(why) => {
                    tracing::error!(message_id = %l.message_id, reason = %l.reason, dead_letter_error = %why, "could not dead-letter; handing back to SQS");
                    fates[i] = Some(Fate::HandBack {
                        reason: format!("{} (dead-letter queue: {why})", l.reason),
                    });
                }
            }
        }
    }
}

/// An event as compact JSON, for a reason.
fn compact(event: &FileMoved) -> String {
    serde_json::to_string(event).unwrap_or_else(|e| format!("<unprintable event: {e}>"))
}

fn letter(m: &impl Message, reason: &str, class: DeadLetterClass) -> DeadLetter {
    DeadLetter {
        message_id: m.message_id().unwrap_or_default().to_owned(),
        body: m.body().to_owned(),
        reason: reason.to_owned(),
        class,
    }
}

/// Every message takes its group's fate; later copies of a written event are duplicates, and a
/// group the write loop left undecided is handed back.
fn settle(groups: Vec<Group>, fates: &mut [Option<Fate>]) {
    for mut g in groups {
        let fate = g.fate.take().unwrap_or_else(|| Fate::HandBack {
            reason: "undecided".into(),
        });
        for (k, i) in g.messages().enumerate() {
            fates[i] = Some(match &fate {
                Fate::Written if k > 0 => Fate::Duplicate,
                other => other.clone(),
            });
        }
    }
}

/// The partial batch response and the counts: only what is handed back is named.
fn respond(
    messages: &[impl Message],
    fates: Vec<Option<Fate>>,
) -> Result<(SqsBatchResponse, Counts), HandlerError> {
    let mut counts = Counts {
        received: messages.len() as u64,
        ..Counts::default()
    };
    let mut response = SqsBatchResponse::default();
    for (i, fate) in fates.into_iter().enumerate() {
        // Every message is decided (invalid ones in parse, the rest in settle); one that were
        // not would be handed back rather than lost.
        let fate = fate.unwrap_or_else(|| Fate::HandBack {
            reason: "undecided".into(),
        });
        match fate {
            Fate::Written => counts.written += 1,
            Fate::Duplicate => counts.duplicate += 1,
            Fate::DeadLetter { .. } => counts.dead_lettered += 1,
            Fate::HandBack { reason } => {
                let Some(id) = messages[i].message_id().map(str::to_owned) else {
                    return Err(HandlerError::MissingMessageId { index: i });
                };
                tracing::warn!(message_id = %id, reason = %reason, "handing back to SQS for redelivery");
                counts.failed += 1;
                response.add_failure(id);
            }
        }
    }
    Ok((response, counts))
}
