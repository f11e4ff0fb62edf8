//! Publisher configuration from the environment.

use std::time::Duration;

use filetrail_aws::{ConfigError, Env};

/// Bus name or ARN to publish to.
pub const ENV_EVENT_BUS: &str = "FILETRAIL_EVENT_BUS";
/// The `Source` of published events, e.g. `sdc.sorter`.
pub const ENV_EVENT_SOURCE: &str = "FILETRAIL_EVENT_SOURCE";
/// How long one `publish` may keep retrying, in milliseconds (default 10 000).
pub const ENV_PUBLISH_DEADLINE_MS: &str = "FILETRAIL_PUBLISH_DEADLINE_MS";

/// Default retry budget of one `publish` call.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

/// Where and as whom events are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherConfig {
    /// Bus name or ARN.
    pub bus: String,
    /// `Source` of every entry.
    pub source: String,
    /// Retry budget of one `publish` call.
    pub deadline: Duration,
}

impl PublisherConfig {
    /// Read `FILETRAIL_EVENT_BUS`, `FILETRAIL_EVENT_SOURCE` and `FILETRAIL_PUBLISH_DEADLINE_MS`.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let bus = env.required(ENV_EVENT_BUS)?;
        let source = env.required(ENV_EVENT_SOURCE)?;
        if source.len() > 256 || source.starts_with("aws.") {
            return Err(ConfigError::new(
                ENV_EVENT_SOURCE,
                "must be 1..=256 characters and must not start with \"aws.\" (reserved by AWS)",
            ));
        }
        let ms = env.parsed_or(
            ENV_PUBLISH_DEADLINE_MS,
            u64::try_from(DEFAULT_DEADLINE.as_millis()).unwrap_or(u64::MAX),
            "a whole number of milliseconds",
        )?;
        Ok(Self {
            bus,
            source,
            deadline: Duration::from_millis(ms),
        })
    }
}
