//! The sink seam: what the recorder needs from a time-series store.

use std::future::Future;
use std::time::Duration;

use filetrail_aws::Classified;
use filetrail_contract::FileMoved;

/// What became of one record in one write call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Stored by this call, or already stored with exactly these values (a re-write of the same
    /// record is a success in every store filetrail writes to).
    Written,
    /// The store holds a record with this record's identity and *different* values: two
    /// different events claim one `event_id` (or a bug changed the layout). Dead-lettered as a
    /// conflict with this reason; never counted as written.
    Conflict(String),
    /// Refused for a reason that may pass: try again in this invocation; handed back to SQS
    /// when the attempts or the time run out.
    Retry(String),
    /// Refused for a reason the store documents as passing (Timestream's time-range
    /// rejections after a retention change): try again in this invocation; dead-lettered with
    /// this reason when the attempts run out (handed back if the time runs out first).
    Transient(String),
    /// Refused for good: dead-letter it with this reason.
    Reject(String),
    /// Refused for a reason that may pass, and the store asked to wait at least `after` before
    /// the next try (HTTP `Retry-After`): retried no sooner, or handed back to SQS when that
    /// is past the invocation deadline.
    RetryAfter {
        /// Why it was refused.
        reason: String,
        /// The least delay before the next try.
        after: Duration,
    },
    /// The store refused the call because of some record without saying which: send this
    /// record again in a call of its own; refused there, it is dead-lettered with the reason.
    Isolate(String),
}

/// A store the recorder writes prepared records to, in batches.
pub trait Sink: Send + Sync {
    /// One prepared record.
    type Record: Clone + Send + Sync;

    /// A short name for logs (`timestream`).
    fn name(&self) -> &'static str;

    /// At most this many records per write call.
    fn max_batch(&self) -> usize;

    /// The record for an event; `Err` (with the limit it breaks) when it can never be stored.
    fn prepare(&self, event: &FileMoved) -> Result<Self::Record, String>;

    /// Write records in one call: one outcome per record, in order, or a whole-call error.
    fn write(
        &self,
        records: Vec<Self::Record>,
    ) -> impl Future<Output = Result<Vec<WriteOutcome>, Classified>> + Send;
}
