//! The sink seam: what the recorder needs from a time-series store.

use std::future::Future;
use std::time::Duration;

use filetrail_aws::Classified;
use filetrail_contract::FileMoved;

/// What became of one record in one write call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Stored by this call.
    Written,
    /// Already stored by an earlier delivery of the same event: counts as written.
    Duplicate,
    /// Refused for a reason that may pass: try again in this invocation.
    Retry(String),
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
