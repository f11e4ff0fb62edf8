//! What can stop an audit: the buckets or the trail cannot be read.

/// Reading a bucket (a listing page or an inventory file) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} {bucket}: {code}: {message}")]
pub struct SourceError {
    /// The S3 operation (`ListObjectsV2`, `GetObject`) or `Inventory`.
    pub operation: &'static str,
    /// The bucket being read.
    pub bucket: String,
    /// The service's error code, or a short word for a local failure.
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// Whether trying again may succeed (decided by `filetrail_aws::classify`).
    pub retryable: bool,
}

/// Querying the trail failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{store} query failed: {message}")]
pub struct TrailError {
    /// `Timestream` or `InfluxDB`.
    pub store: &'static str,
    /// What went wrong.
    pub message: String,
    /// Whether trying again may succeed.
    pub retryable: bool,
}

/// Why an audit did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// A bucket could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The trail could not be read.
    #[error(transparent)]
    Trail(#[from] TrailError),
}

impl AuditError {
    /// Whether running the audit again may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Source(e) => e.retryable,
            Self::Trail(e) => e.retryable,
        }
    }
}
