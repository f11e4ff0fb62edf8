//! The `filetrail` CLI as a library: one module per subcommand, each taking its clients as
//! arguments so tests drive the same code the binary runs.
//!
//! - [`audit`]: what did not happen: stuck, unprocessed and unrecorded files.
//! - [`replay`]: re-deliver dead-lettered events to a queue or a bus.
//! - [`publish`]: publish events from flags or JSON lines.
//! - [`history`]: a file's trail through the pipeline.
//! - [`dlq`]: what waits in a DLQ, by reason.
//! - [`routing`]: whether a bus routes an event (before replay deletes anything, before publish).
//! - [`sqs`]: reading a queue once, every message exactly once, without consuming it.
//! - [`validate`]: check details against the v1 contract.

pub mod audit;
pub mod dlq;
pub mod history;
pub mod publish;
pub mod replay;
pub mod routing;
pub mod sqs;
pub mod validate;
