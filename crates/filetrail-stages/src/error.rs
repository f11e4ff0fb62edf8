//! Stage errors, and the report an invocation ends with.

use filetrail_publisher::PublishError;

use crate::process::ProcessError;
use crate::store::{DownloadError, S3Error};
use crate::trigger::TriggerError;

/// One thing that went wrong in an invocation.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// An S3 call failed.
    #[error(transparent)]
    S3(#[from] S3Error),
    /// A fresh copy does not hold its source's bytes; the source was kept.
    #[error(
        "copy of s3://{bucket}/{key} to s3://{dst_bucket}/{dst_key} failed verification: {reason}"
    )]
    CopyMismatch {
        /// Source bucket.
        bucket: String,
        /// Source key.
        key: String,
        /// Destination bucket.
        dst_bucket: String,
        /// Destination key.
        dst_key: String,
        /// What differs.
        reason: String,
    },
    /// Some events were not published.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The processing step failed for an input (left untouched).
    #[error("processing s3://{bucket}/{key} failed: {source}")]
    Process {
        /// Input bucket.
        bucket: String,
        /// Input key.
        key: String,
        /// What the step said.
        #[source]
        source: ProcessError,
    },
    /// A product cannot be stored (its name does not parse, or it is not a regular file).
    #[error("product {name:?} of s3://{bucket}/{key}: {reason}")]
    Product {
        /// Input bucket.
        bucket: String,
        /// Input key.
        key: String,
        /// Product file name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Downloading an input failed.
    #[error("downloading s3://{bucket}/{key}: {source}")]
    Download {
        /// Input bucket.
        bucket: String,
        /// Input key.
        key: String,
        /// Why.
        #[source]
        source: DownloadError,
    },
    /// Local file work (temp dirs, reading products) failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The invocation payload is not a shape the stage handles.
    #[error(transparent)]
    Trigger(#[from] TriggerError),
}

impl StageError {
    /// Whether the same invocation may succeed when retried (for logs and the operator; Lambda
    /// retries a failed asynchronous invocation either way, and every stage is safe to retry).
    pub fn retryable(&self) -> bool {
        match self {
            Self::S3(e) => e.retryable,
            Self::Download {
                source: DownloadError::S3(e),
                ..
            } => e.retryable,
            Self::Publish(PublishError::Failed { failures, .. }) => failures
                .iter()
                .any(|f| filetrail_aws::Service::EventBridge.is_retryable_code(&f.code)),
            Self::CopyMismatch { .. } | Self::Io { .. } | Self::Download { .. } => true,
            Self::Process { .. } | Self::Product { .. } | Self::Trigger(_) => false,
        }
    }
}

/// Counts and errors of one invocation.
#[derive(Debug, Default)]
pub struct Report<C> {
    /// What happened, counted.
    pub counts: C,
    /// What went wrong, in order.
    pub errors: Vec<StageError>,
}

impl<C> Report<C> {
    /// `Ok(counts)` when nothing went wrong; otherwise every error.
    pub fn into_result(self) -> Result<C, InvocationError> {
        if self.errors.is_empty() {
            Ok(self.counts)
        } else {
            Err(InvocationError {
                errors: self.errors,
            })
        }
    }
}

/// An invocation had failures; Lambda retries it (every stage is idempotent).
#[derive(Debug, thiserror::Error)]
#[error("{} failure(s) in this invocation; first: {}", errors.len(),
    errors.first().map(ToString::to_string).unwrap_or_default())]
pub struct InvocationError {
    /// Every failure.
    pub errors: Vec<StageError>,
}
