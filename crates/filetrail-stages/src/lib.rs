//! The pipeline stages whose moves filetrail records.
//!
//! - [`Sorter`]: files landing in the incoming bucket are moved to
//!   `{prefix}{mission}-{instrument}` at `{level}/{YYYY}/{MM}/{DD}/{file name}` (copy, verify,
//!   publish one `FileMoved`, delete the source). Triggered by S3 notifications, S3 →
//!   EventBridge `Object Created` events, or a sweep (any event without records).
//! - [`Processor`]: level-0 files in an instrument bucket are turned into products by a
//!   [`Process`] step ([`ExternalCommand`] runs a configured program); each product is stored
//!   under its level's prefix in the same bucket and announced with a `FileMoved`.
//! - [`NameRules`]: the science file name grammar ([`filename`]).
//! - [`stage`]: the skeleton both share: the [`Stage`] trait, the Lambda edge ([`Lambda`]), the
//!   binaries' start ([`serve_from_env`]) and the event of a move ([`event_for`]).
//!
//! Both stages are at-least-once and idempotent: an event's `occurred_at` is the written
//! object's `Last-Modified`, so a retry rebuilds the same event and `event_id`.

pub mod config;
pub mod copy;
mod error;
pub mod filename;
pub mod limits;
mod process;
mod processor;
mod sorter;
pub mod stage;
mod store;
pub mod trigger;

pub use config::{ProcessorConfig, SorterConfig};
pub use copy::CopySettings;
pub use error::{InvocationError, Report, StageError};
pub use filename::{Instrument, NameError, NameRules, ScienceFile};
pub use process::{ExternalCommand, Process, ProcessError};
pub use processor::{PROCESSOR_FUNCTION, PROCESSOR_STAGE, ProcessCounts, Processor};
pub use sorter::{SORTER_FUNCTION, SORTER_STAGE, SortCounts, Sorter};
pub use stage::{
    Clients, Lambda, SWEEP_SAFETY_MARGIN, Stage, event_for, serve_from_env, sweep_deadline,
};
pub use store::{
    CONDITIONAL_CONFLICT_RETRIES, Copied, Deleted, DownloadError, Page, S3Error, Store, s3_client,
};
pub use trigger::{ObjectRef, Trigger, TriggerError, parse_trigger};
