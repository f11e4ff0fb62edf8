//! `filetrail audit`: what did not happen in the pipeline (stuck, unprocessed and unrecorded
//! files), from the buckets and the trail. The work is `filetrail_audit::audit`; this module
//! reads flags over the environment, builds the clients and prints the report.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use filetrail_audit::{
    AuditConfig, Inventoried, ObjectSource, Progress, Report, S3Listing, S3Url, SinkTrail, Trail,
    TrailConfig, audit, config::ENV_OLDER_THAN, config::ENV_SINCE, parse_duration,
};
use filetrail_aws::Env;
use filetrail_stages::config::{
    ENV_BUCKET_PREFIX, ENV_INCOMING_BUCKET, ENV_INSTRUMENTS, ENV_MISSION,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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
    /// The flags over `base` (the process environment in the binary), as the stages'
    /// variables: a flag given wins over its variable.
    fn env<'a>(&self, base: &'a Env<'a>) -> Env<'a> {
        let flags: HashMap<&'static str, String> = [
            (ENV_MISSION, &self.mission),
            (ENV_INSTRUMENTS, &self.instruments),
            (ENV_BUCKET_PREFIX, &self.bucket_prefix),
            (ENV_INCOMING_BUCKET, &self.incoming_bucket),
        ]
        .into_iter()
        .filter_map(|(var, v)| v.clone().map(|v| (var, v)))
        .collect();
        Env::from_fn(move |k| flags.get(k).cloned().or_else(|| base.get(k)))
    }

    /// The audit's configuration: flags, then the process environment.
    pub fn config(&self) -> Result<AuditConfig> {
        self.config_over(&Env::process())
    }

    /// The audit's configuration: flags, then the variables of `env`.
    pub fn config_over(&self, env: &Env<'_>) -> Result<AuditConfig> {
        let now: DateTime<Utc> = match &self.now {
            Some(t) => DateTime::parse_from_rfc3339(t)
                .with_context(|| format!("--now {t:?} is not an RFC 3339 time"))?
                .with_timezone(&Utc),
            None => Utc::now(),
        };
        let mut config = AuditConfig::from_env(&self.env(env), now)?;
        config.older_than = self.older_than;
        config.since = self.since;
        Ok(config)
    }
}

/// A spinner drawn to `target` when standard error `is_terminal`, nothing otherwise (a pipe or
/// a file gets no control sequences).
pub fn progress_bar(is_terminal: bool, target: ProgressDrawTarget) -> Option<ProgressBar> {
    is_terminal.then(|| {
        let b = ProgressBar::with_draw_target(None, target);
        b.set_style(ProgressStyle::default_spinner());
        b.enable_steady_tick(Duration::from_millis(120));
        b
    })
}

/// The progress bar's line for `p`.
pub fn progress_message(p: &Progress) -> String {
    format!(
        "{}: {} objects, {} checked, {} trail queries, {} findings",
        p.bucket,
        p.counts.objects,
        p.counts.checked,
        p.counts.trail_queries,
        p.counts.stuck + p.counts.unprocessed + p.counts.unrecorded
    )
}

async fn run_with(
    config: &AuditConfig,
    source: &impl ObjectSource,
    trail: &impl Trail,
) -> Result<Report> {
    let bar = progress_bar(
        std::io::stderr().is_terminal(),
        ProgressDrawTarget::stderr(),
    );
    let progress = |p: &Progress| {
        if let Some(b) = &bar {
            b.set_message(progress_message(p));
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
    let source = Inventoried::for_audit(
        s3.clone(),
        S3Listing::new(s3),
        &args.inventory,
        &config,
        "--inventory",
    )
    .await?;
    let trail = SinkTrail::connect(&trail_config, sdk).await?;
    let report = run_with(&config, &source, &trail).await?;
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex, PoisonError};

    use clap::Parser;
    use filetrail_audit::{DEFAULT_OLDER_THAN, DEFAULT_SINCE};

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        audit: AuditArgs,
    }

    fn parse(args: &[&str]) -> AuditArgs {
        Cli::try_parse_from(std::iter::once("audit").chain(args.iter().copied()))
            .expect("parses")
            .audit
    }

    fn stages_env() -> Env<'static> {
        Env::from_fn(|k| {
            [
                (ENV_MISSION, "hermes"),
                (ENV_INSTRUMENTS, "eea"),
                (ENV_BUCKET_PREFIX, "dev-"),
                (ENV_INCOMING_BUCKET, "dev-hermes-incoming"),
            ]
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn without_flags_the_windows_are_15_minutes_and_24_hours() {
        let config = parse(&["--now", "2026-12-02T12:00:00Z"])
            .config_over(&stages_env())
            .expect("config");
        assert_eq!(
            (config.older_than, config.since),
            (Duration::from_secs(15 * 60), Duration::from_secs(24 * 3600))
        );
        assert_eq!(
            (DEFAULT_OLDER_THAN, DEFAULT_SINCE),
            (config.older_than, config.since)
        );
        assert_eq!(config.incoming_bucket, "dev-hermes-incoming");
        assert_eq!(config.instrument_buckets(), ["dev-hermes-eea"]);
        assert_eq!(config.now.to_rfc3339(), "2026-12-02T12:00:00+00:00");
    }

    #[test]
    fn flags_win_over_the_stages_variables() {
        let args = parse(&[
            "--mission",
            "padre",
            "--instruments",
            "meddea,sharp:shp",
            "--bucket-prefix",
            "prod-",
            "--incoming-bucket",
            "padre-landing",
            "--since",
            "2h",
            "--older-than",
            "90s",
        ]);
        let config = args.config_over(&stages_env()).expect("config");
        assert_eq!(config.incoming_bucket, "padre-landing");
        assert_eq!(
            config.instrument_buckets(),
            ["prod-padre-meddea", "prod-padre-sharp"]
        );
        assert_eq!(config.rules.mission(), "padre");
        assert_eq!(
            (config.older_than, config.since),
            (Duration::from_secs(90), Duration::from_secs(7200))
        );
        // A flag given as nothing is a usage error; a bad --now is refused with its value.
        assert!(Cli::try_parse_from(["audit", "--since", "soon"]).is_err());
        let bad = parse(&["--now", "yesterday"]).config_over(&stages_env());
        assert!(format!("{:#}", bad.expect_err("bad --now")).contains("yesterday"));
    }

    /// A terminal that keeps what is drawn on it.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl Screen {
        fn text(&self) -> String {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        }

        fn push(&self, s: &str) -> std::io::Result<()> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push_str(s);
            Ok(())
        }
    }

    impl indicatif::TermLike for Screen {
        fn width(&self) -> u16 {
            200
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.push(&format!("{s}\n"))
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.push(s)
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_progress_bar_draws_on_a_terminal_and_nothing_elsewhere() {
        let screen = Screen::default();
        let progress = Progress {
            bucket: "dev-hermes-eea".into(),
            counts: filetrail_audit::Counts {
                objects: 4000,
                checked: 1200,
                trail_queries: 2,
                unrecorded: 3,
                ..Default::default()
            },
        };
        let off = progress_bar(
            false,
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
        );
        assert!(off.is_none(), "no bar off a terminal");
        let bar = progress_bar(
            true,
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
        )
        .expect("a bar on a terminal");
        let line = progress_message(&progress);
        assert_eq!(
            line,
            "dev-hermes-eea: 4000 objects, 1200 checked, 2 trail queries, 3 findings"
        );
        bar.set_message(line.clone());
        // The spinner redraws on its steady tick: wait until the line is on the screen.
        let waited = std::time::Instant::now();
        while !screen.text().contains(&line) {
            assert!(
                waited.elapsed() < Duration::from_secs(5),
                "{:?}",
                screen.text()
            );
            std::thread::yield_now();
        }
        bar.finish_and_clear();
    }
}
