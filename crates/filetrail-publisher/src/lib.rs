//! Publish `FileMoved` events to an EventBridge bus.
//!
//! [`Publisher::publish`] validates each event, packs entries into PutEvents calls of at most
//! [`limits::MAX_ENTRIES_PER_CALL`] entries and [`limits::MAX_REQUEST_BYTES`] bytes (sized the
//! way AWS documents), and re-sends only the entries that failed with a retryable code, with
//! jittered exponential backoff until a deadline. Whatever cannot be published comes back as
//! [`PublishError::Failed`], one [`FailedEntry`] per event: nothing is dropped silently.

mod config;
mod eventbridge;
pub mod limits;
mod publish;

pub use config::{ENV_EVENT_BUS, ENV_EVENT_SOURCE, ENV_PUBLISH_DEADLINE_MS, PublisherConfig};
pub use eventbridge::EventBridge;
pub use publish::{
    CONCURRENT_CALLS, CallError, Entry, EntryOutcome, FailedEntry, PublishError, PublishReport,
    Publisher, PutEvents, codes, pack_batches,
};
