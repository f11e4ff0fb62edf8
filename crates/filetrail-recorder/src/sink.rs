//! The sink seam: what the recorder needs from a time-series store, and the one vocabulary a
//! store's answers are told in.
//!
//! A sink owns its store's answers: it maps every answer of one write call (success, a partial
//! refusal, a whole-call error, a timeout) to one [`Outcome`] per record, as vector's sinks own
//! their retry logic. The recorder's core only applies outcomes; it never sees a store's error.

use std::future::Future;
use std::time::Duration;

use filetrail_contract::FileMoved;

/// What becomes of one record after one write call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored by this call, or already stored with exactly these values (a re-write of the same
    /// record is a success in every store filetrail writes to).
    Written,
    /// The store holds a record with this record's identity and *different* values: two
    /// different events claim one `event_id`, or the layout changed. Dead-lettered as a conflict
    /// with this reason; never written.
    Conflict(String),
    /// Not stored this time, but it may be: send it again in this invocation.
    Retry(Retry),
    /// Refused for good: dead-lettered with this reason.
    Reject(String),
    /// The store refused the call because of some record without saying which: send this
    /// record again in a call of its own; refused there, it is dead-lettered with the reason.
    Isolate(String),
    /// Nothing is wrong with the record, but this invocation cannot store it (access, a missing
    /// table, a configuration error): hand it back to SQS now, whose redrive policy catches
    /// what never passes.
    HandBack(String),
}

/// A record to send again, and what to do when the attempts run out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// Why it was not stored.
    pub reason: String,
    /// The least delay the store asked for before the next try (HTTP `Retry-After`); a wait
    /// past the deadline hands the record back at once.
    pub after: Option<Duration>,
    /// When the attempts run out ([`crate::MAX_WRITE_ATTEMPTS`]).
    pub exhausted: Exhausted,
}

/// The fate of a record whose attempts ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// Hand it back to SQS: the store, not the record, is the problem.
    HandBack,
    /// Dead-letter it: the store refused the record itself, in a way it documents as passing
    /// (Timestream's time-range rejections after a retention change), and it did not pass.
    DeadLetter,
}

impl Outcome {
    /// Send again; hand back when the attempts run out.
    pub fn retry(reason: impl Into<String>) -> Self {
        Self::Retry(Retry {
            reason: reason.into(),
            after: None,
            exhausted: Exhausted::HandBack,
        })
    }

    /// Send again no sooner than `after`; hand back when the attempts run out.
    pub fn retry_after(reason: impl Into<String>, after: Duration) -> Self {
        Self::Retry(Retry {
            reason: reason.into(),
            after: Some(after),
            exhausted: Exhausted::HandBack,
        })
    }

    /// Send again; dead-letter with the reason when the attempts run out.
    pub fn transient(reason: impl Into<String>) -> Self {
        Self::Retry(Retry {
            reason: reason.into(),
            after: None,
            exhausted: Exhausted::DeadLetter,
        })
    }
}

/// A store the recorder writes prepared records to, in calls of at most [`Sink::max_batch`].
pub trait Sink: Send + Sync {
    /// One prepared record; two records are equal when the store would take the second as an
    /// identical re-write of the first.
    type Record: Send + Sync + PartialEq;

    /// A short name for logs (`timestream`).
    fn name(&self) -> &'static str;

    /// At most this many records per write call.
    fn max_batch(&self) -> usize;

    /// The record for an event; `Err` (naming the store's limit it breaks) when it can never
    /// be stored. A pure function of the event: the recorder prepares a record when a call
    /// sends it, and again for every call that sends it again.
    fn prepare(&self, event: &FileMoved) -> Result<Self::Record, String>;

    /// Why the record of `event` can never be stored, told as the event arrives: exactly the
    /// events [`Sink::prepare`] refuses, with the same reason. The recorder checks every event
    /// of a batch at once and prepares records only call by call, so a batch's records are
    /// never all held at once. The default prepares the record and drops it; a sink that can
    /// tell from sizes alone overrides it.
    fn check(&self, event: &FileMoved) -> Result<(), String> {
        self.prepare(event).map(drop)
    }

    /// Write `records` in one call: exactly one outcome per record, in order. The records are
    /// the sink's to consume.
    fn write(&self, records: Vec<Self::Record>) -> impl Future<Output = Vec<Outcome>> + Send;
}
