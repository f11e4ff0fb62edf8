//! Recorder configuration from the environment.

use std::time::Duration;

use filetrail_aws::{ConfigError, Env};
use filetrail_influxdb::InfluxDbConfig;

use crate::Layout;
use crate::layout::UnknownLayout;

/// Which store the recorder writes to: `timestream` (default) or `influxdb`.
pub const ENV_SINK: &str = "FILETRAIL_SINK";
/// Timestream database name.
pub const ENV_DATABASE: &str = "FILETRAIL_TIMESTREAM_DATABASE";
/// Timestream table name.
pub const ENV_TABLE: &str = "FILETRAIL_TIMESTREAM_TABLE";
/// Record layout: `seed` or `multi`.
pub const ENV_LAYOUT: &str = "FILETRAIL_RECORD_LAYOUT";
/// Queue URL where messages that can never be written go at once (optional).
pub const ENV_DEAD_LETTER_QUEUE_URL: &str = "FILETRAIL_DEAD_LETTER_QUEUE_URL";
/// How many WriteRecords calls of one invocation run at once.
pub const ENV_WRITE_CONCURRENCY: &str = "FILETRAIL_WRITE_CONCURRENCY";
/// Time kept free before the Lambda deadline, in milliseconds.
pub const ENV_SAFETY_MARGIN_MS: &str = "FILETRAIL_SAFETY_MARGIN_MS";

/// The seed database name existing dashboards query.
pub const DEFAULT_DATABASE: &str = "sdc_aws_logs";
/// The seed table name existing dashboards query.
pub const DEFAULT_TABLE: &str = "sdc_aws_s3_bucket_log_table";
/// Default number of concurrent WriteRecords calls.
pub const DEFAULT_WRITE_CONCURRENCY: usize = 4;
/// Upper bound on concurrent WriteRecords calls (clamped).
pub const MAX_WRITE_CONCURRENCY: usize = 32;
/// Default time kept free before the Lambda deadline.
pub const DEFAULT_SAFETY_MARGIN: Duration = Duration::from_millis(1500);

/// The store the recorder writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkConfig {
    /// Timestream for LiveAnalytics: the database, table and layout of [`RecorderConfig`].
    Timestream,
    /// InfluxDB (Timestream for InfluxDB) through line protocol.
    InfluxDb(InfluxDbConfig),
}

/// Everything the recorder reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecorderConfig {
    /// The store (`FILETRAIL_SINK`).
    pub sink: SinkConfig,
    /// Timestream database.
    pub database: String,
    /// Timestream table.
    pub table: String,
    /// Record layout.
    pub layout: Layout,
    /// Where never-writable messages go, if anywhere (else SQS redrive takes them).
    pub dead_letter_queue_url: Option<String>,
    /// Concurrent WriteRecords calls, 1..=[`MAX_WRITE_CONCURRENCY`].
    pub write_concurrency: usize,
    /// Time kept free before the Lambda deadline.
    pub safety_margin: Duration,
}

impl RecorderConfig {
    /// Read the configuration; a bad value names its variable.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let name = |var: &str, default: &str| -> Result<String, ConfigError> {
            let v = env.get(var).unwrap_or_else(|| default.to_owned());
            let ok = (3..=256).contains(&v.len())
                && v.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c));
            if ok {
                Ok(v)
            } else {
                Err(ConfigError::new(
                    var,
                    format!(
                        "{v:?} is not a Timestream name (3..=256 of a-z, A-Z, 0-9, '_', '-', '.')"
                    ),
                ))
            }
        };
        let sink = match env.get(ENV_SINK).as_deref().map(str::trim) {
            None | Some("timestream") => SinkConfig::Timestream,
            Some("influxdb") => SinkConfig::InfluxDb(InfluxDbConfig::from_env(env)?),
            Some(other) => {
                return Err(ConfigError::new(
                    ENV_SINK,
                    format!("expected \"timestream\" or \"influxdb\"; got {other:?}"),
                ));
            }
        };
        let layout = match env.get(ENV_LAYOUT) {
            None => Layout::Seed,
            Some(name) => name
                .trim()
                .parse()
                .map_err(|e: UnknownLayout| ConfigError::new(ENV_LAYOUT, e.to_string()))?,
        };
        let dead_letter_queue_url = env.get(ENV_DEAD_LETTER_QUEUE_URL);
        if let Some(url) = &dead_letter_queue_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError::new(
                ENV_DEAD_LETTER_QUEUE_URL,
                format!("expected a queue URL (https://sqs...); got {url:?}"),
            ));
        }
        let write_concurrency: usize = env.parsed_or(
            ENV_WRITE_CONCURRENCY,
            DEFAULT_WRITE_CONCURRENCY,
            "a whole number",
        )?;
        let margin_ms: u64 = env.parsed_or(
            ENV_SAFETY_MARGIN_MS,
            u64::try_from(DEFAULT_SAFETY_MARGIN.as_millis()).unwrap_or(u64::MAX),
            "a whole number of milliseconds",
        )?;
        Ok(Self {
            sink,
            database: name(ENV_DATABASE, DEFAULT_DATABASE)?,
            table: name(ENV_TABLE, DEFAULT_TABLE)?,
            layout,
            dead_letter_queue_url,
            write_concurrency: write_concurrency.clamp(1, MAX_WRITE_CONCURRENCY),
            safety_margin: Duration::from_millis(margin_ms),
        })
    }
}
