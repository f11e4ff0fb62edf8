//! `filetrail`: replay dead letters, publish events, show a file's trail, inspect a DLQ.
#![allow(clippy::print_stdout)]

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use filetrail_cli::history::{self, Layout, TimestreamHistory};
use filetrail_cli::replay::{Filters, ReplayOptions, Target};
use filetrail_cli::{audit, dlq, publish, replay, validate};
use filetrail_contract::{ActionType, FileMoved, Move, OccurredAt};
use filetrail_publisher::{
    ENV_EVENT_BUS, ENV_EVENT_SOURCE, EventBridge, Publisher, PublisherConfig,
};
use filetrail_recorder::config::{ENV_DATABASE, ENV_SINK, ENV_TABLE};

#[derive(Parser)]
#[command(
    name = "filetrail",
    version,
    about = "The audit trail of every file move: replay, publish, history, DLQ status."
)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Re-deliver dead-lettered events to a queue or a bus; delete each only once delivered.
    Replay(ReplayArgs),
    /// Publish one event from flags, or many as JSON lines on standard input.
    Publish(PublishArgs),
    /// Show a file's trail through the pipeline (following new_file_key), newest last.
    History(HistoryArgs),
    /// How many messages wait in a DLQ, their oldest age, by reason (nothing is consumed).
    #[command(alias = "status")]
    Dlq(DlqArgs),
    /// Check FileMoved details (JSON lines on standard input) against the v1 contract: per line
    /// the event_id or the error naming the field; exit non-zero if any is invalid.
    Validate(validate::ValidateArgs),
    /// What did not happen: files stuck in the incoming bucket, level-0 files without products,
    /// objects no record names. Exit 0 when clean, 3 when anything was found.
    Audit(audit::AuditArgs),
}

#[derive(Args)]
struct ReplayArgs {
    /// URL of the dead-letter queue to replay.
    #[arg(long)]
    from: String,
    /// Send each original body to this SQS queue URL.
    #[arg(long, conflicts_with = "to_bus", required_unless_present = "to_bus")]
    to_queue: Option<String>,
    /// Re-publish each original detail to this event bus (name or ARN).
    #[arg(long)]
    to_bus: Option<String>,
    /// List what would be replayed, grouped by reason; consume nothing.
    #[arg(long)]
    dry_run: bool,
    /// Replay at most this many messages.
    #[arg(long)]
    max: Option<usize>,
    /// At most this many re-deliveries per second.
    #[arg(long)]
    rate: Option<f64>,
    /// Only messages whose DLQ reason contains this text.
    #[arg(long)]
    reason: Option<String>,
    /// Only events from this source (envelope `source`).
    #[arg(long)]
    source: Option<String>,
    /// Only events whose file_key matches this glob (`*`, `?`).
    #[arg(long = "key")]
    key_pattern: Option<String>,
    /// Seconds a message being replayed stays hidden in the DLQ.
    #[arg(long, default_value_t = 30)]
    visibility_timeout: i32,
    /// Source for bare bodies re-published to a bus.
    #[arg(long, default_value = "filetrail.replay")]
    event_source: String,
}

#[derive(Args)]
struct PublishArgs {
    /// Bus name or ARN.
    #[arg(long, env = ENV_EVENT_BUS)]
    bus: String,
    /// Source of the published events.
    #[arg(long, env = ENV_EVENT_SOURCE, default_value = "filetrail.cli")]
    event_source: String,
    /// Key before the move; without it, events are read as JSON lines from standard input.
    #[arg(long)]
    file_key: Option<String>,
    /// Key after the move.
    #[arg(long)]
    new_file_key: Option<String>,
    /// Bucket the file left.
    #[arg(long)]
    source_bucket: Option<String>,
    /// Bucket the file reached.
    #[arg(long)]
    destination_bucket: Option<String>,
    /// PUT or DELETE.
    #[arg(long, default_value = "PUT")]
    action: String,
    /// When the move happened (RFC 3339 UTC); default now.
    #[arg(long)]
    occurred_at: Option<String>,
    /// Stage name to record.
    #[arg(long)]
    stage: Option<String>,
}

#[derive(Args)]
struct HistoryArgs {
    /// The file key to follow.
    file_key: String,
    /// Timestream database.
    #[arg(
        long,
        env = ENV_DATABASE,
        default_value = "sdc_aws_logs"
    )]
    database: String,
    /// Timestream table.
    #[arg(
        long,
        env = ENV_TABLE,
        default_value = "sdc_aws_s3_bucket_log_table"
    )]
    table: String,
    /// Record layout of the table.
    #[arg(long, default_value = "seed",
        value_parser = PossibleValuesParser::new(Layout::NAMES).try_map(|name| name.parse::<Layout>()))]
    layout: Layout,
    /// Where the recorder writes: `timestream`, or `influxdb` (configured by the recorder's
    /// FILETRAIL_INFLUXDB_* variables).
    #[arg(long, env = ENV_SINK, default_value = "timestream", value_parser = ["timestream", "influxdb"])]
    sink: String,
}

#[derive(Args)]
struct DlqArgs {
    /// URL of the dead-letter queue.
    #[arg(long)]
    queue: String,
    /// Seconds a scanned message stays hidden at a time (extended while the scan runs).
    #[arg(long, default_value_t = dlq::SCAN_VISIBILITY_TIMEOUT_S)]
    visibility_timeout: i32,
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn by_reason(title: &str, map: &std::collections::BTreeMap<String, usize>) {
    for (reason, n) in map {
        println!("  {title} {n:>6}  {reason}");
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    // Validation needs no AWS configuration (and must not wait for a region lookup).
    if let Command::Validate(a) = &cli.command {
        return validate::run(a, cli.json).map(exit_code);
    }
    let sdk = filetrail_aws::load_sdk_config().await;
    match cli.command {
        Command::Replay(a) => replay_cmd(&sdk, a, cli.json).await.map(exit_code),
        Command::Publish(a) => publish_cmd(&sdk, a, cli.json).await.map(exit_code),
        Command::History(a) => history_cmd(&sdk, a, cli.json).await.map(exit_code),
        Command::Dlq(a) => dlq_cmd(&sdk, a, cli.json).await.map(exit_code),
        Command::Audit(a) => audit::command(&sdk, &a, cli.json).await,
        Command::Validate(_) => unreachable!("validate ran before the SDK was loaded"),
    }
}

fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `filetrail replay`.
async fn replay_cmd(sdk: &aws_config::SdkConfig, a: ReplayArgs, json: bool) -> Result<bool> {
    let target = match (a.to_queue, a.to_bus) {
        (Some(q), None) => Target::Queue(q),
        (None, Some(b)) => Target::Bus(b),
        _ => bail!("give exactly one of --to-queue and --to-bus"),
    };
    let options = ReplayOptions {
        from: a.from,
        target,
        dry_run: a.dry_run,
        max: a.max,
        rate: a.rate,
        filters: Filters {
            reason: a.reason,
            source: a.source,
            key_pattern: a.key_pattern,
        },
        visibility_timeout_s: a.visibility_timeout,
        default_source: a.event_source,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.enable_steady_tick(Duration::from_millis(120));
        b
    });
    let progress = |s: &replay::ReplaySummary| {
        if let Some(b) = &bar {
            b.set_message(format!(
                "replayed {}  skipped {}  failed {}",
                s.replayed, s.skipped, s.failed
            ));
        }
    };
    let summary = replay::replay(
        &aws_sdk_sqs::Client::new(sdk),
        &aws_sdk_eventbridge::Client::new(sdk),
        &options,
        &progress,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}; nothing more was replayed"))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if json {
        print_json(&summary)?;
    } else {
        let verb = if summary.dry_run {
            "would replay"
        } else {
            "replayed"
        };
        println!(
            "{verb} {}, skipped {}, failed {}",
            summary.replayed, summary.skipped, summary.failed
        );
        by_reason(verb, &summary.replayed_by_reason);
        by_reason("skipped", &summary.skipped_by_reason);
        by_reason("failed", &summary.failed_by_reason);
    }
    Ok(summary.failed == 0)
}

/// `filetrail publish`.
async fn publish_cmd(sdk: &aws_config::SdkConfig, a: PublishArgs, json: bool) -> Result<bool> {
    let config = PublisherConfig {
        bus: a.bus.clone(),
        source: a.event_source,
        deadline: Duration::from_secs(30),
    };
    let eventbridge = aws_sdk_eventbridge::Client::new(sdk);
    let mut routes = publish::RouteWarnings::load(&eventbridge, &a.bus, &config.source).await;
    let publisher = Publisher::new(EventBridge::new(eventbridge, a.bus), config);
    let summary = match a.file_key {
        Some(file_key) => {
            let action_type = match a.action.to_ascii_uppercase().as_str() {
                "PUT" => ActionType::Put,
                "DELETE" => ActionType::Delete,
                other => bail!("--action: expected PUT or DELETE; got {other:?}"),
            };
            let occurred_at = match &a.occurred_at {
                Some(t) => {
                    OccurredAt::parse(t).map_err(|e| anyhow::anyhow!("--occurred-at: {e}"))?
                }
                None => OccurredAt::now(),
            };
            let mut event = FileMoved::from_move(Move {
                action_type,
                source_bucket: a.source_bucket,
                file_key,
                destination_bucket: a.destination_bucket,
                new_file_key: a.new_file_key,
                occurred_at,
            });
            event.stage = a.stage;
            event
                .validate(OccurredAt::now())
                .context("the event is not valid")?;
            publish::publish_event(&publisher, event, Some(&mut routes)).await
        }
        None => {
            publish::publish_lines(&publisher, std::io::stdin().lock(), Some(&mut routes)).await
        }
    };
    if json {
        print_json(&summary)?;
    } else {
        println!(
            "published {} of {} in {} PutEvents calls",
            summary.published, summary.lines, summary.put_events_calls
        );
        for i in &summary.invalid {
            println!("  line {}: {}", i.line, i.error);
        }
        for f in &summary.failed {
            println!("  not published {}: {}: {}", f.event_id, f.code, f.message);
        }
        for w in &summary.warnings {
            eprintln!("warning: {w}");
        }
    }
    Ok(summary.ok())
}

/// `filetrail history`.
async fn history_cmd(sdk: &aws_config::SdkConfig, a: HistoryArgs, json: bool) -> Result<bool> {
    let moves = if a.sink == "influxdb" {
        let config = filetrail_influxdb::InfluxDbConfig::from_env(&filetrail_aws::Env::process())?;
        let token = config
            .token(sdk)
            .await
            .map_err(|e| anyhow::anyhow!("InfluxDB token: {e}"))?;
        let client = filetrail_influxdb::InfluxDb::new(&config, token)
            .map_err(|e| anyhow::anyhow!("InfluxDB client: {e}"))?;
        history::trail(&history::InfluxHistory(client), &a.file_key).await
    } else {
        let client = history::timestream_query_client(sdk)
            .await
            .map_err(|e| anyhow::anyhow!("Timestream query client: {e}"))?;
        history::trail(
            &TimestreamHistory::new(client, &a.database, &a.table, a.layout),
            &a.file_key,
        )
        .await
    }
    .map_err(anyhow::Error::msg)?;
    if json {
        print_json(&moves)?;
    } else if moves.is_empty() {
        println!("no recorded moves of {:?}", a.file_key);
    } else {
        print!("{}", history::table(&moves));
    }
    Ok(true)
}

/// `filetrail dlq`.
async fn dlq_cmd(sdk: &aws_config::SdkConfig, a: DlqArgs, json: bool) -> Result<bool> {
    let status = dlq::status(
        &aws_sdk_sqs::Client::new(sdk),
        &a.queue,
        a.visibility_timeout,
    )
    .await
    .map_err(|c| anyhow::anyhow!("reading {}: {}: {}", a.queue, c.code, c.message))?;
    if json {
        print_json(&status)?;
    } else {
        let age = status
            .oldest_age_s
            .map_or("-".to_owned(), |s| format!("{s}s"));
        println!(
            "{}: {} waiting ({} in flight), oldest {age}",
            status.queue_url, status.scanned, status.approximate_in_flight
        );
        for (reason, s) in &status.by_reason {
            println!(
                "  {:>6}  {reason}  (invalid {}, oldest {}s)",
                s.count,
                s.invalid,
                s.oldest_age_s.unwrap_or(0)
            );
        }
    }
    Ok(true)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FILETRAIL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
