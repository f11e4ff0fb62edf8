//! `filetrail audit`: what did not happen in the pipeline (stuck, unprocessed and unrecorded
//! files), from the buckets and the trail. The work is `filetrail_audit::audit`; this module
//! reads flags over the environment, builds the clients and prints the report.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use filetrail_audit::{
    AuditConfig, InfluxTrail, Inventoried, ObjectSource, Progress, Report, S3Listing, S3Url,
    TimestreamTrail, Trail, TrailConfig, audit, config::ENV_OLDER_THAN, config::ENV_SINCE,
    parse_duration, timestream::Sql,
};
use filetrail_aws::Env;
use filetrail_recorder::SinkConfig;
use filetrail_stages::config::{
    ENV_BUCKET_PREFIX, ENV_INCOMING_BUCKET, ENV_INSTRUMENTS, ENV_MISSION,
};

/// Exit code when the audit found something (0: clean; 1: the audit could not run; 2: usage).
pub const EXIT_FINDINGS: u8 = 3;

/// `filetrail audit`'s flags; each override falls back to the variable the stages read.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Grace before a missing step is a finding (s, m, h, d).
    #[arg(long, env = ENV_OLDER_THAN, default_value = "15m", value_parser = parse_duration)]
    pub older_than: Duration,
    /// Window of instrument-bucket objects checked, by Last-Modified (s, m, h, d).
    #[arg(long, env = ENV_SINCE, default_value = "24h", value_parser = parse_duration)]
    pub since: Duration,
    /// Read an instrument bucket from this S3 Inventory report instead of listing it
    /// (s3://bucket/…/manifest.json; repeat for several buckets).
    #[arg(long, value_parser = |s: &str| s.parse::<S3Url>())]
    pub inventory: Vec<S3Url>,
    /// Mission (else FILETRAIL_MISSION).
    #[arg(long)]
    pub mission: Option<String>,
    /// Instruments with their aliases, `eea,nemisis:nms` (else FILETRAIL_INSTRUMENTS).
    #[arg(long)]
    pub instruments: Option<String>,
    /// Prefix of the instrument bucket names (else FILETRAIL_BUCKET_PREFIX).
    #[arg(long)]
    pub bucket_prefix: Option<String>,
    /// The incoming bucket (else FILETRAIL_INCOMING_BUCKET).
    #[arg(long)]
    pub incoming_bucket: Option<String>,
    /// Measure ages from this moment (RFC 3339) instead of now, to reproduce an audit.
    #[arg(long)]
    pub now: Option<String>,
}

impl AuditArgs {
    /// The flags over the process environment, as the stages' variables.
    fn env(&self) -> Env<'static> {
        let flags: HashMap<&'static str, String> = [
            (ENV_MISSION, &self.mission),
            (ENV_INSTRUMENTS, &self.instruments),
            (ENV_BUCKET_PREFIX, &self.bucket_prefix),
            (ENV_INCOMING_BUCKET, &self.incoming_bucket),
        ]
        .into_iter()
        .filter_map(|(var, v)| v.clone().map(|v| (var, v)))
        .collect();
        Env::from_fn(move |k| flags.get(k).cloned().or_else(|| std::env::var(k).ok()))
    }

    /// The audit's configuration: flags, then the environment.
    pub fn config(&self) -> Result<AuditConfig> {
        let now: DateTime<Utc> = match &self.now {
            Some(t) => DateTime::parse_from_rfc3339(t)
                .with_context(|| format!("--now {t:?} is not an RFC 3339 time"))?
                .with_timezone(&Utc),
            None => Utc::now(),
        };
        let mut config = AuditConfig::from_env(&self.env(), now)?;
        config.older_than = self.older_than;
        config.since = self.since;
        Ok(config)
    }
}

/// A spinner on a terminal (standard error), nothing otherwise.
fn progress_bar() -> Option<indicatif::ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.enable_steady_tick(Duration::from_millis(120));
        b
    })
}

async fn run_with(
    config: &AuditConfig,
    source: &impl ObjectSource,
    trail: &impl Trail,
) -> Result<Report> {
    let bar = progress_bar();
    let progress = |p: &Progress| {
        if let Some(b) = &bar {
            b.set_message(format!(
                "{}: {} objects, {} checked, {} trail queries, {} findings",
                p.bucket,
                p.counts.objects,
                p.counts.checked,
                p.counts.trail_queries,
                p.counts.stuck + p.counts.unprocessed + p.counts.unrecorded
            ));
        }
    };
    let report = audit(config, source, trail, &progress).await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(report?)
}

/// Run the audit with `sdk`'s credentials; print the report; exit 0 when clean,
/// [`EXIT_FINDINGS`] when anything was found.
pub async fn command(
    sdk: &aws_config::SdkConfig,
    args: &AuditArgs,
    json: bool,
) -> Result<ExitCode> {
    let config = args.config()?;
    let trail_config = TrailConfig::from_env(&Env::process())?;
    let s3 = filetrail_stages::s3_client(sdk);
    let source = Inventoried::load(s3.clone(), S3Listing::new(s3), &args.inventory).await?;
    if source.manifest(&config.incoming_bucket).is_some() {
        bail!(
            "--inventory: {} is the incoming bucket, which is always listed (a report's snapshot would show files sorted since as stuck)",
            config.incoming_bucket
        );
    }
    let report = match &trail_config.sink {
        SinkConfig::Timestream => {
            let client = crate::history::timestream_query_client(sdk)
                .await
                .map_err(|e| anyhow::anyhow!("Timestream query client: {e}"))?;
            let sql = Sql::new(
                &trail_config.database,
                &trail_config.table,
                trail_config.layout,
            );
            let trail = TimestreamTrail::new(client, sql);
            run_with(&config, &source, &trail).await?
        }
        SinkConfig::InfluxDb(influx) => {
            let token = influx
                .token(sdk)
                .await
                .map_err(|e| anyhow::anyhow!("InfluxDB token: {e}"))?;
            let client = filetrail_influxdb::InfluxDb::new(influx, token)
                .map_err(|e| anyhow::anyhow!("InfluxDB client: {e}"))?;
            run_with(&config, &source, &InfluxTrail::new(client)).await?
        }
    };
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        std::io::Write::write_all(&mut out, b"\n")?;
    } else {
        std::io::Write::write_all(&mut out, report.text().as_bytes())?;
    }
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FINDINGS)
    })
}
