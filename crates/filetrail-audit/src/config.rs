//! The audit's configuration: the stages' variables (mission, instruments, bucket prefix,
//! incoming bucket) read by the stages' own reader, the recorder's sink variables read by the
//! recorder's own reader, and the two windows.

use std::time::Duration;

use chrono::{DateTime, Utc};
use filetrail_aws::{ConfigError, Env};
use filetrail_recorder::{Layout, RecorderConfig, SinkConfig};
use filetrail_stages::{NameRules, SorterConfig};

/// How old an object must be before its missing step is a finding (`15m`, `900s`, `1h`).
pub const ENV_OLDER_THAN: &str = "FILETRAIL_AUDIT_OLDER_THAN";
/// How far back objects of the instrument buckets are checked (`24h`, `7d`).
pub const ENV_SINCE: &str = "FILETRAIL_AUDIT_SINCE";

/// Default `--older-than`: the sorter's sweep runs every 15 minutes.
pub const DEFAULT_OLDER_THAN: Duration = Duration::from_secs(15 * 60);
/// Default `--since`.
pub const DEFAULT_SINCE: Duration = Duration::from_secs(24 * 60 * 60);

/// What the audit checks, and when "now" is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// The mission and instruments (with their aliases), as the stages parse file names.
    pub rules: NameRules,
    /// The bucket files land in before the sorter moves them.
    pub incoming_bucket: String,
    /// Prefix of every instrument bucket name.
    pub bucket_prefix: String,
    /// Grace before a missing step is a finding.
    pub older_than: Duration,
    /// Window of instrument-bucket objects checked (by `Last-Modified`).
    pub since: Duration,
    /// The moment ages are measured from.
    pub now: DateTime<Utc>,
}

impl AuditConfig {
    /// Read `FILETRAIL_INCOMING_BUCKET`, `FILETRAIL_MISSION`, `FILETRAIL_INSTRUMENTS`,
    /// `FILETRAIL_BUCKET_PREFIX` (through the sorter's reader, so both agree on every name) and
    /// [`ENV_OLDER_THAN`], [`ENV_SINCE`]; ages are measured from `now`.
    pub fn from_env(env: &Env<'_>, now: DateTime<Utc>) -> Result<Self, ConfigError> {
        let stages = SorterConfig::from_env(env)?;
        let window = |var: &str, default: Duration| match env.get(var) {
            None => Ok(default),
            Some(v) => parse_duration(&v).map_err(|p| ConfigError::new(var, p)),
        };
        Ok(Self {
            rules: stages.rules,
            incoming_bucket: stages.incoming_bucket,
            bucket_prefix: stages.bucket_prefix,
            older_than: window(ENV_OLDER_THAN, DEFAULT_OLDER_THAN)?,
            since: window(ENV_SINCE, DEFAULT_SINCE)?,
            now,
        })
    }

    /// Every instrument bucket, `{prefix}{mission}-{instrument}`, in configuration order.
    pub fn instrument_buckets(&self) -> Vec<String> {
        self.rules
            .instruments()
            .iter()
            .map(|i| format!("{}{}-{}", self.bucket_prefix, self.rules.mission(), i.name))
            .collect()
    }
}

/// Where the trail is: the recorder's store, read from the recorder's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailConfig {
    /// `FILETRAIL_SINK`: Timestream, or InfluxDB with its `FILETRAIL_INFLUXDB_*` settings.
    pub sink: SinkConfig,
    /// Timestream database.
    pub database: String,
    /// Timestream table.
    pub table: String,
    /// Timestream record layout.
    pub layout: Layout,
}

impl TrailConfig {
    /// Read the sink's variables with the recorder's own reader.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let r = RecorderConfig::from_env(env)?;
        Ok(Self {
            sink: r.sink,
            database: r.database,
            table: r.table,
            layout: r.layout,
        })
    }
}

/// A duration as `90s`, `15m`, `24h`, `7d` (or plain seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 90s, 15m, 24h, 7d)"))?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit must be s, m, h or d")),
    };
    n.checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// A duration written back the way [`parse_duration`] reads it, largest whole unit.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}
