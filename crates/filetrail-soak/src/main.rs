//! `filetrail-soak`: the soak, the fault matrix and the crash test against the local emulator.
//!
//! Run it through `make soak` (or `scripts/with-emulator.sh target/release/filetrail-soak ...`).
//! Each command prints its figures and exits non-zero when anything was lost, doubled, or a
//! poison message is not in the DLQ with its reason.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use filetrail_soak::{
    FaultKind, RecorderMode, Service, SoakOptions, SoakReport, soak, workspace_binary,
};

#[derive(Parser)]
#[command(
    name = "filetrail-soak",
    about = "Soak, fault matrix and crash test of the filetrail pipeline on the local emulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The soak: publish, route, record under faults, replay the DLQ, check.
    Run {
        /// Valid events to publish.
        #[arg(long, default_value_t = 10_000)]
        events: usize,
        /// Seed of every random choice.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Extra or changed fault rates, `kind=rate` or `service:kind=rate` (kinds: throttle,
        /// server-error, timeout, reset, rejected, partial-put-events; services: eventbridge,
        /// timestream, sqs; without a service: timestream, or PutEvents entries).
        #[arg(long = "fault", value_name = "[SERVICE:]KIND=RATE")]
        faults: Vec<String>,
        /// Start with Timestream down (every call HTTP 500) for this many seconds.
        #[arg(long)]
        outage_s: Option<u64>,
        /// Write the report as JSON here too.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Each fault kind alone at `rate` on every service it applies to, one run each.
    Matrix {
        /// Valid events per run.
        #[arg(long, default_value_t = 500)]
        events: usize,
        /// The rate of the one fault kind.
        #[arg(long, default_value_t = 0.5)]
        rate: f64,
        /// Seed of every random choice.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Write the reports as JSON here too.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// The real recorder binary, SIGKILLed at random moments of batches and restarted.
    Crash {
        /// Valid events to publish.
        #[arg(long, default_value_t = 1_000)]
        events: usize,
        /// Share of invocations during which the process is killed.
        #[arg(long, default_value_t = 0.3)]
        kill_rate: f64,
        /// Seed of every random choice.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// The recorder binary (default: next to this one).
        #[arg(long)]
        recorder: Option<PathBuf>,
        /// Append the recorder's logs here.
        #[arg(long)]
        log: Option<PathBuf>,
        /// Write the report as JSON here too.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

fn service(name: &str) -> Result<Service> {
    Service::ALL
        .into_iter()
        .find(|s| s.name() == name)
        .with_context(|| format!("unknown service {name:?}: eventbridge, timestream or sqs"))
}

fn apply_fault(options: &mut SoakOptions, spec: &str) -> Result<()> {
    let (lhs, rate) = spec
        .split_once('=')
        .with_context(|| format!("--fault {spec:?}: expected [service:]kind=rate"))?;
    let rate: f64 = rate
        .parse()
        .with_context(|| format!("--fault {spec:?}: {rate:?} is not a number"))?;
    let (svc, kind) = match lhs.split_once(':') {
        Some((s, k)) => (service(s)?, k),
        None => (Service::Timestream, lhs),
    };
    let kind = FaultKind::parse(kind)?;
    options.faults = options.faults.clone().with(svc, kind, rate);
    Ok(())
}

fn write_json(path: Option<&PathBuf>, value: &impl serde::Serialize) -> Result<()> {
    if let Some(path) = path {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(value)?)
            .with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}

async fn run_one(options: &SoakOptions) -> Result<SoakReport> {
    let report = soak::run(options)
        .await
        .with_context(|| format!("{} did not complete", options.label))?;
    println!("{report}\n");
    Ok(report)
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let reports: Vec<SoakReport> = match Cli::parse().command {
        Command::Run {
            events,
            seed,
            faults,
            outage_s,
            json,
        } => {
            let mut options = SoakOptions::new(events, seed);
            if let Some(s) = outage_s {
                options.outage = Some(std::time::Duration::from_secs(s));
                options.label = format!("{} with a {s} s Timestream outage", options.label);
            }
            for f in &faults {
                apply_fault(&mut options, f)?;
            }
            let report = run_one(&options).await?;
            write_json(json.as_ref(), &report)?;
            vec![report]
        }
        Command::Matrix {
            events,
            rate,
            seed,
            json,
        } => {
            let mut reports = Vec::new();
            for kind in FaultKind::ALL {
                reports.push(run_one(&SoakOptions::only(events, seed, kind, rate)).await?);
            }
            write_json(json.as_ref(), &reports)?;
            reports
        }
        Command::Crash {
            events,
            kill_rate,
            seed,
            recorder,
            log,
            json,
        } => {
            let exe = match recorder {
                Some(p) => p,
                None => workspace_binary("filetrail-recorder")?,
            };
            let mut options = SoakOptions::new(events, seed);
            options.label = format!("crash test of {events} events");
            options.recorder = RecorderMode::Binary {
                exe,
                kill_rate,
                log,
            };
            let report = run_one(&options).await?;
            write_json(json.as_ref(), &report)?;
            vec![report]
        }
    };
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.passed())
        .map(|r| r.label.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("failed: {}", failed.join(", "));
    }
    Ok(())
}
