//! Stage configuration from the environment; every error names its variable.

use std::path::PathBuf;

use filetrail_aws::{ConfigError, Env};

use crate::copy::CopySettings;
use crate::filename::NameRules;

/// The bucket the sorter sweeps (files land here first).
pub const ENV_INCOMING_BUCKET: &str = "FILETRAIL_INCOMING_BUCKET";
/// The mission whose files are sorted (first part of every file name and bucket name).
pub const ENV_MISSION: &str = "FILETRAIL_MISSION";
/// Instruments, comma separated; each may carry `:`-separated aliases (`nemisis:nms`).
pub const ENV_INSTRUMENTS: &str = "FILETRAIL_INSTRUMENTS";
/// Prefix of every instrument bucket name, e.g. `dev-`.
pub const ENV_BUCKET_PREFIX: &str = "FILETRAIL_BUCKET_PREFIX";
/// Path of the processing command the processor runs.
pub const ENV_PROCESS_COMMAND: &str = "FILETRAIL_PROCESS_COMMAND";

/// Default mission.
pub const DEFAULT_MISSION: &str = "hermes";
/// Default instruments.
pub const DEFAULT_INSTRUMENTS: &str = "eea,nemisis,merit,spani";

/// What the sorter reads from its environment (the publisher reads its own variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SorterConfig {
    /// The bucket a sweep lists.
    pub incoming_bucket: String,
    /// Which file names are science files, and of which instrument.
    pub rules: NameRules,
    /// Prefix of instrument bucket names.
    pub bucket_prefix: String,
    /// Single-part / multipart copy thresholds (not configurable from the environment).
    pub copy: CopySettings,
}

/// What the processor reads from its environment (the publisher reads its own variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorConfig {
    /// Which file names are science files (inputs and products).
    pub rules: NameRules,
    /// The external processing command.
    pub command: PathBuf,
}

impl SorterConfig {
    /// Read `FILETRAIL_INCOMING_BUCKET`, `FILETRAIL_MISSION`, `FILETRAIL_INSTRUMENTS`,
    /// `FILETRAIL_BUCKET_PREFIX`.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let incoming_bucket = env.required(ENV_INCOMING_BUCKET)?;
        check_bucket_name(&incoming_bucket)
            .map_err(|p| ConfigError::new(ENV_INCOMING_BUCKET, p))?;
        let rules = rules_from_env(env)?;
        let bucket_prefix = env.get(ENV_BUCKET_PREFIX).unwrap_or_default();
        // Every destination must be a valid bucket name, or the first file would fail instead.
        for inst in rules.instruments() {
            let bucket = format!("{bucket_prefix}{}-{}", rules.mission(), inst.name);
            check_bucket_name(&bucket).map_err(|p| {
                ConfigError::new(
                    ENV_BUCKET_PREFIX,
                    format!("destination bucket {bucket:?}: {p}"),
                )
            })?;
        }
        Ok(Self {
            incoming_bucket,
            rules,
            bucket_prefix,
            copy: CopySettings::default(),
        })
    }
}

impl ProcessorConfig {
    /// Read `FILETRAIL_PROCESS_COMMAND`, `FILETRAIL_MISSION`, `FILETRAIL_INSTRUMENTS`; the
    /// command must be an executable file.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let command = PathBuf::from(env.required(ENV_PROCESS_COMMAND)?);
        check_executable(&command).map_err(|p| ConfigError::new(ENV_PROCESS_COMMAND, p))?;
        Ok(Self {
            rules: rules_from_env(env)?,
            command,
        })
    }
}

fn rules_from_env(env: &Env<'_>) -> Result<NameRules, ConfigError> {
    let mission = env
        .get(ENV_MISSION)
        .unwrap_or_else(|| DEFAULT_MISSION.into());
    let list = env
        .get(ENV_INSTRUMENTS)
        .unwrap_or_else(|| DEFAULT_INSTRUMENTS.into());
    let instruments =
        NameRules::parse_instruments(&list).map_err(|p| ConfigError::new(ENV_INSTRUMENTS, p))?;
    NameRules::new(&mission, instruments).map_err(|p| {
        let var = if p.starts_with("mission") {
            ENV_MISSION
        } else {
            ENV_INSTRUMENTS
        };
        ConfigError::new(var, p)
    })
}

/// Check the S3 naming rules for general purpose buckets that a typo would break.
pub fn check_bucket_name(b: &str) -> Result<(), String> {
    let ok_len = (3..=63).contains(&b.len());
    let ok_chars = b
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-');
    let ok_ends = b.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && b.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok_len && ok_chars && ok_ends && !b.contains("..") {
        Ok(())
    } else {
        Err(format!(
            "{b:?} is not an S3 bucket name (3..=63 characters of a-z, 0-9, '.', '-', starting and ending with a letter or digit)"
        ))
    }
}

fn check_executable(path: &std::path::Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| {
        format!(
            "{}: {e}; set it to the path of the processing command",
            path.display()
        )
    })?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(format!(
                "{} is not executable (chmod +x it)",
                path.display()
            ));
        }
    }
    Ok(())
}
