//! One soak run: publish, route, record under faults, replay the DLQ, check.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use filetrail_cli::replay::{Filters, ReplayOptions, ReplaySummary, Target};
use filetrail_contract::{FileMoved, OccurredAt};
use filetrail_publisher::{EventBridge, PublishError, Publisher, PublisherConfig};
use filetrail_recorder::{
    Counts, Layout, Recorder, Settings, SqsDeadLetters, TimestreamSink, TimestreamWriter,
    timestream_client,
};
use futures_util::StreamExt;
use serde::Serialize;

use crate::check::{self, DlqCheck, TableCheck};
use crate::function::{Binary, InProcess, KillStats};
use crate::mapping::{Mapping, MappingSettings, MappingStats};
use crate::pipeline::{self, Pipeline, QueueSettings};
use crate::{FaultKind, FaultPlan, Proxy, SoakError, events, sdk_config, sdk_config_with};

/// Replay rounds after which a DLQ that still yields valid events counts as stuck.
pub const MAX_REPLAY_ROUNDS: usize = 10;
/// Times the producer re-publishes events the publisher reported as failed (a stage whose
/// publish failed fails its invocation and is retried; the soak does the same).
pub const MAX_PRODUCER_ROUNDS: usize = 50;

/// How the recorder runs.
#[derive(Debug, Clone, PartialEq)]
pub enum RecorderMode {
    /// `Recorder::handle` in this process, with `pollers` concurrent invocations.
    InProcess {
        /// Concurrent pollers (Lambda's mapping starts with five).
        pollers: usize,
    },
    /// The real `filetrail-recorder` binary under a local Runtime API, one invocation at a
    /// time, SIGKILLed at a random moment of a `kill_rate` share of batches and restarted.
    Binary {
        /// Path of the binary.
        exe: PathBuf,
        /// Share of invocations during which the process is killed.
        kill_rate: f64,
        /// Where the binary's logs go (discarded when `None`).
        log: Option<PathBuf>,
    },
}

/// Everything one run needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SoakOptions {
    /// A name for the report.
    pub label: String,
    /// Valid events to publish.
    pub events: usize,
    /// Seed of every random choice (events, faults, duplicates, kills).
    pub seed: u64,
    /// What the proxy injects.
    pub faults: FaultPlan,
    /// Share of messages delivered twice.
    pub duplicate_rate: f64,
    /// Poison messages sent per valid event.
    pub poison_rate: f64,
    /// How the recorder runs.
    pub recorder: RecorderMode,
    /// Messages per invocation.
    pub batch_size: usize,
    /// The events queue's visibility timeout.
    pub visibility_timeout: Duration,
    /// The function timeout (the deadline of each invocation).
    pub function_timeout: Duration,
    /// The events queue's `maxReceiveCount`.
    pub max_receive_count: u32,
    /// Events per `publish` call (a stage publishes one page of moves at a time).
    pub publish_chunk: usize,
    /// Concurrent producers.
    pub producers: usize,
    /// Longest a queue may take to drain before the run counts as stuck.
    pub settle_timeout: Duration,
    /// Producers wait while the events queue holds more than this many messages (in flight
    /// included): the emulator's receive recomputes every queue attribute, each a scan of the
    /// whole queue, for every message it returns, so its cost grows with the square of the
    /// backlog, and an unbounded backlog would make the emulator, not filetrail, the thing
    /// measured (a real queue has no such limit).
    pub max_backlog: u64,
    /// Per-attempt timeout of the clients behind the proxy; the proxy holds timed-out requests
    /// half a second longer.
    pub attempt_timeout: Duration,
    /// A Timestream outage at the start of the run: every Timestream call answers HTTP 500 for
    /// this long, then `faults` apply. Messages received `max_receive_count` times meanwhile
    /// are redriven to the DLQ, and the replay must bring them back.
    pub outage: Option<Duration>,
}

impl SoakOptions {
    /// The soak of the issue for `events` events: 5% of PutEvents entries throttled, 10% of
    /// Timestream calls faulted, 20% of messages delivered twice, 1% poison, the recorder
    /// in-process with 4 pollers.
    pub fn new(events: usize, seed: u64) -> Self {
        Self {
            label: format!("soak of {events} events"),
            events,
            seed,
            faults: FaultPlan::soak(seed),
            duplicate_rate: 0.20,
            poison_rate: 0.01,
            recorder: RecorderMode::InProcess { pollers: 4 },
            batch_size: 10,
            visibility_timeout: Duration::from_secs(6),
            function_timeout: Duration::from_secs(5),
            max_receive_count: 5,
            publish_chunk: 50,
            producers: 2,
            settle_timeout: Duration::from_secs(120 + events as u64 / 10),
            max_backlog: 60,
            attempt_timeout: crate::ATTEMPT_TIMEOUT,
            outage: None,
        }
    }

    /// The same run with one fault kind alone at `rate` on every service it applies to.
    pub fn only(events: usize, seed: u64, kind: FaultKind, rate: f64) -> Self {
        let mut o = Self::new(events, seed);
        o.label = format!("{kind} alone at {:.0}%", rate * 100.0);
        o.faults = FaultPlan::only(seed, kind, rate);
        o
    }

    fn validate(&self) -> Result<(), SoakError> {
        self.faults.validate()?;
        let rate = |r: f64| (0.0..=1.0).contains(&r);
        if self.events == 0 || !rate(self.duplicate_rate) || !rate(self.poison_rate) {
            return Err(SoakError::Options(
                "events must be positive, duplicate and poison rates in [0, 1]".into(),
            ));
        }
        if self.batch_size == 0 || self.publish_chunk == 0 || self.producers == 0 {
            return Err(SoakError::Options(
                "batch size, publish chunk and producers must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// The recorder's own counts, summed over invocations (in-process runs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RecorderCounts {
    /// Messages received.
    pub received: u64,
    /// Messages whose record an invocation stored.
    pub written: u64,
    /// Messages whose record was already stored.
    pub duplicate: u64,
    /// Record writes retried within an invocation.
    pub retried: u64,
    /// Messages dead-lettered with their reason.
    pub dead_lettered: u64,
    /// Messages handed back to SQS.
    pub failed: u64,
}

impl From<Counts> for RecorderCounts {
    fn from(c: Counts) -> Self {
        Self {
            received: c.received,
            written: c.written,
            duplicate: c.duplicate,
            retried: c.retried,
            dead_lettered: c.dead_lettered,
            failed: c.failed,
        }
    }
}

/// The publishing phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PublishFigures {
    /// Seconds from the first publish to the last event accepted.
    pub seconds: f64,
    /// Events accepted per second (through the proxy, on the emulator).
    pub events_per_second: f64,
    /// PutEvents calls the publisher made (its own retries included).
    pub calls: u64,
    /// PutEvents calls per 1,000 events.
    pub calls_per_1000_events: f64,
    /// PutEvents HTTP requests that reached the proxy (the SDK's retries included).
    pub http_requests: u64,
    /// Entries the proxy answered with a per-entry `ThrottlingException`.
    pub entries_throttled: u64,
    /// Events the producer published again after the publisher gave up on them.
    pub producer_republished: u64,
    /// Events never published (must be 0).
    pub unpublished: u64,
}

/// The DLQ replays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReplayFigures {
    /// `filetrail replay` runs (the last one finds nothing left to replay).
    pub rounds: u64,
    /// Messages re-delivered to the events queue.
    pub replayed: u64,
    /// Messages left in the DLQ (not valid events).
    pub skipped: u64,
    /// Re-deliveries that failed (retried by the next round).
    pub failed: u64,
    /// Replay runs that stopped on an SQS error (run again).
    pub errors: u64,
}

/// What one run did and found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SoakReport {
    /// The run's name.
    pub label: String,
    /// The seed.
    pub seed: u64,
    /// `in-process` or `binary`.
    pub recorder_mode: String,
    /// Valid events published.
    pub events: usize,
    /// Poison messages sent.
    pub poison: usize,
    /// The publishing phase.
    pub publish: PublishFigures,
    /// What the event source mapping did.
    pub mapping: MappingStats,
    /// The recorder's counts (in-process runs).
    pub recorder: Option<RecorderCounts>,
    /// Where the kills landed (binary runs).
    pub kills: Option<KillStats>,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u64>,
    /// Everything the proxy counted (`operation/outcome`).
    pub proxy: BTreeMap<String, u64>,
    /// The DLQ replays.
    pub replay: ReplayFigures,
    /// The table check.
    pub table: TableCheck,
    /// The DLQ check.
    pub dlq: DlqCheck,
    /// Seconds from the first publish until the events queue first drained.
    pub end_to_end_seconds: f64,
    /// Valid events per second over `end_to_end_seconds`.
    pub end_to_end_events_per_second: f64,
    /// Seconds of the whole run, replays included (set-up excluded).
    pub total_seconds: f64,
    /// What is off; empty when the run passed.
    pub problems: Vec<String>,
}

impl SoakReport {
    /// Whether nothing was lost, nothing doubled, and every poison message is dead-lettered.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    fn find_problems(&mut self) {
        let mut p = Vec::new();
        if self.publish.unpublished > 0 {
            p.push(format!(
                "{} event(s) could not be published",
                self.publish.unpublished
            ));
        }
        if self.table.lost > 0 {
            p.push(format!(
                "{} event(s) lost, e.g. {:?}",
                self.table.lost, self.table.lost_examples
            ));
        }
        if self.table.doubled > 0 {
            p.push(format!(
                "{} record(s) doubled or unexpected, e.g. {:?}",
                self.table.doubled, self.table.doubled_examples
            ));
        }
        if self.dlq.poison_missing > 0 {
            p.push(format!(
                "{} poison message(s) are not in the DLQ",
                self.dlq.poison_missing
            ));
        }
        if self.dlq.poison_without_reason > 0 {
            p.push(format!(
                "{} poison message(s) are in the DLQ without the recorder's reason",
                self.dlq.poison_without_reason
            ));
        }
        if self.dlq.valid_left > 0 {
            p.push(format!(
                "{} valid event(s) are still in the DLQ after replay",
                self.dlq.valid_left
            ));
        }
        self.problems = p;
    }
}

impl fmt::Display for SoakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.table;
        let m = &self.mapping;
        writeln!(
            f,
            "{} (seed {}, recorder {})",
            self.label, self.seed, self.recorder_mode
        )?;
        writeln!(
            f,
            "  published   {} valid events in {:.1} s ({:.0} events/s), {} PutEvents calls ({:.1} per 1,000 events), {} HTTP requests, {} entries throttled, {} re-published by the producer",
            self.events,
            self.publish.seconds,
            self.publish.events_per_second,
            self.publish.calls,
            self.publish.calls_per_1000_events,
            self.publish.http_requests,
            self.publish.entries_throttled,
            self.publish.producer_republished
        )?;
        writeln!(
            f,
            "  poison      {} messages sent to the queue",
            self.poison
        )?;
        let faults: Vec<String> = self
            .faults
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        writeln!(f, "  faults      {}", faults.join(", "))?;
        writeln!(
            f,
            "  mapping     {} invocations, {} messages, {} deleted, {} item failures, {} failed and {} crashed invocations; delivered twice: {} lost deletes + {} copies of {} distinct messages ({:.1}%)",
            m.invocations,
            m.messages,
            m.deleted,
            m.item_failures,
            m.failed_invocations,
            m.crashed_invocations,
            m.lost_deletes,
            m.copies,
            m.distinct_messages,
            100.0 * (m.lost_deletes + m.copies) as f64 / (m.distinct_messages.max(1)) as f64
        )?;
        if let Some(c) = &self.recorder {
            writeln!(
                f,
                "  recorder    {} received, {} written, {} duplicate, {} retried, {} dead-lettered, {} handed back",
                c.received, c.written, c.duplicate, c.retried, c.dead_lettered, c.failed
            )?;
        }
        if let Some(k) = &self.kills {
            writeln!(
                f,
                "  kills       {} SIGKILLs of {} drawn ({} before any call, {} during a call, {} between calls), {} process starts",
                k.kills, k.drawn, k.before_any_call, k.during_a_call, k.between_calls, k.starts
            )?;
        }
        writeln!(
            f,
            "  replay      {} rounds, {} replayed, {} left (invalid), {} failed, {} errors",
            self.replay.rounds,
            self.replay.replayed,
            self.replay.skipped,
            self.replay.failed,
            self.replay.errors
        )?;
        writeln!(
            f,
            "  table       {} records stored ({} re-writes absorbed), {} distinct, {} expected: lost {}, doubled {}",
            t.stored_records,
            t.stored_records - t.distinct_records.min(t.stored_records),
            t.distinct_records,
            t.expected,
            t.lost,
            t.doubled
        )?;
        let reasons: Vec<String> = self
            .dlq
            .by_reason
            .iter()
            .map(|(r, n)| format!("{n} x {r}"))
            .collect();
        writeln!(
            f,
            "  dlq         {} messages ({}); poison: {} of {} with the recorder's reason, {} without, {} missing; valid events left {}",
            self.dlq.messages,
            reasons.join(", "),
            self.dlq.poison_with_reason,
            self.dlq.poison_sent,
            self.dlq.poison_without_reason,
            self.dlq.poison_missing,
            self.dlq.valid_left
        )?;
        writeln!(
            f,
            "  time        end to end {:.1} s ({:.0} events/s), total {:.1} s",
            self.end_to_end_seconds, self.end_to_end_events_per_second, self.total_seconds
        )?;
        if self.passed() {
            write!(
                f,
                "  PASSED: 0 lost, 0 doubled, every poison message dead-lettered with its reason"
            )
        } else {
            write!(f, "  FAILED: {}", self.problems.join("; "))
        }
    }
}

/// The emulator's endpoint, or an error saying how to start it.
pub fn emulator_endpoint() -> Result<String, SoakError> {
    let endpoint = std::env::var(filetrail_testkit::ENDPOINT_VAR).map_err(|_| {
        SoakError::Emulator(format!(
            "{} is not set: run through `make soak` or `scripts/with-emulator.sh`",
            filetrail_testkit::ENDPOINT_VAR
        ))
    })?;
    Ok(endpoint.trim_end_matches('/').to_owned())
}

struct Published {
    calls: u64,
    republished: u64,
    unpublished: u64,
}

/// Publish `events` as a stage does, re-publishing what the publisher gives up on; the poison
/// messages go into the queue along the way.
async fn publish(
    options: &SoakOptions,
    publisher: &Publisher<EventBridge>,
    sqs: &aws_sdk_sqs::Client,
    pipeline: &Pipeline,
    events: &[FileMoved],
    poison: &[String],
) -> Result<Published, SoakError> {
    let chunks: Vec<&[FileMoved]> = events.chunks(options.publish_chunk).collect();
    let per_chunk = poison.len().div_ceil(chunks.len().max(1)).max(1);
    let totals = Mutex::new(Published {
        calls: 0,
        republished: 0,
        unpublished: 0,
    });
    let jobs = chunks.iter().enumerate().map(|(j, chunk)| {
        let totals = &totals;
        let poison: Vec<&String> = poison.iter().skip(j * per_chunk).take(per_chunk).collect();
        async move {
            while pipeline::depth(sqs, &pipeline.events_queue_url).await? > options.max_backlog {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let mut pending: Vec<FileMoved> = chunk.to_vec();
            let mut round = 0;
            while !pending.is_empty() {
                match publisher.publish(&pending).await {
                    Ok(report) => {
                        totals.lock().unwrap_or_else(PoisonError::into_inner).calls +=
                            report.calls as u64;
                        pending.clear();
                    }
                    Err(PublishError::Failed { failures, report }) => {
                        let failed: HashSet<&str> =
                            failures.iter().map(|f| f.event_id.as_str()).collect();
                        pending.retain(|e| failed.contains(e.event_id.as_str()));
                        round += 1;
                        let mut t = totals.lock().unwrap_or_else(PoisonError::into_inner);
                        t.calls += report.calls as u64;
                        if round >= MAX_PRODUCER_ROUNDS {
                            t.unpublished += pending.len() as u64;
                            break;
                        }
                        t.republished += pending.len() as u64;
                    }
                }
            }
            for body in poison {
                sqs.send_message()
                    .queue_url(&pipeline.events_queue_url)
                    .message_body(body)
                    .send()
                    .await
                    .map_err(|e| SoakError::emulator("send a poison message", e))?;
            }
            Ok::<(), SoakError>(())
        }
    });
    let results: Vec<Result<(), SoakError>> = futures_util::stream::iter(jobs)
        .buffer_unordered(options.producers)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(totals.into_inner().unwrap_or_else(PoisonError::into_inner))
}

/// Run `filetrail replay` from the DLQ to the events queue until it finds nothing to replay,
/// waiting for the queue to drain after each round.
async fn replay_all(
    options: &SoakOptions,
    sqs_via: &aws_sdk_sqs::Client,
    eb_via: &aws_sdk_eventbridge::Client,
    sqs_direct: &aws_sdk_sqs::Client,
    pipeline: &Pipeline,
) -> Result<ReplayFigures, SoakError> {
    let mut figures = ReplayFigures::default();
    let replay = ReplayOptions {
        from: pipeline.dlq_url.clone(),
        target: Target::Queue(pipeline.events_queue_url.clone()),
        dry_run: false,
        max: None,
        rate: None,
        filters: Filters::default(),
        visibility_timeout_s: 10,
        default_source: "filetrail.replay".into(),
    };
    let mut errors_in_a_row = 0;
    loop {
        if figures.rounds as usize >= MAX_REPLAY_ROUNDS {
            return Err(SoakError::Stuck(format!(
                "the DLQ still yielded valid events after {MAX_REPLAY_ROUNDS} replays"
            )));
        }
        let summary: ReplaySummary =
            match filetrail_cli::replay::replay(sqs_via, eb_via, &replay, &|_| {}).await {
                Ok(s) => s,
                Err(e) => {
                    figures.errors += 1;
                    errors_in_a_row += 1;
                    tracing::warn!(error = %e, "replay stopped on an error; running it again");
                    if errors_in_a_row > 50 {
                        return Err(SoakError::Stuck(format!(
                            "replay failed 50 times in a row: {e}"
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
        errors_in_a_row = 0;
        figures.rounds += 1;
        figures.replayed += summary.replayed as u64;
        figures.skipped = summary.skipped as u64;
        figures.failed += summary.failed as u64;
        if summary.replayed == 0 && summary.failed == 0 {
            return Ok(figures);
        }
        pipeline::drained(
            sqs_direct,
            &pipeline.events_queue_url,
            Duration::from_millis(500),
            options.settle_timeout,
        )
        .await?;
    }
}

/// Run one soak against the emulator at `AWS_ENDPOINT_URL`.
pub async fn run(options: &SoakOptions) -> Result<SoakReport, SoakError> {
    options.validate()?;
    let endpoint = emulator_endpoint()?;
    let direct = sdk_config(&endpoint).await;
    let pipeline = pipeline::create(
        &direct,
        "soak",
        QueueSettings {
            visibility_timeout: options.visibility_timeout,
            max_receive_count: options.max_receive_count,
        },
    )
    .await?;
    let mut plan = options.faults.clone();
    plan.hold = plan
        .hold
        .max(options.attempt_timeout + Duration::from_millis(500));
    let first_plan = match options.outage {
        Some(_) => FaultPlan {
            rates: [(
                crate::Service::Timestream,
                crate::Rates {
                    server_error: 1.0,
                    ..crate::Rates::default()
                },
            )]
            .into(),
            ..plan.clone()
        },
        None => plan.clone(),
    };
    let proxy = Arc::new(Proxy::start(&endpoint, first_plan).await?);
    let outage_end = options.outage.map(|d| {
        let proxy = proxy.clone();
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            let _ = proxy.set_plan(plan);
        })
    });
    let via = sdk_config_with(proxy.url(), options.attempt_timeout).await;
    let sqs_direct = aws_sdk_sqs::Client::new(&direct);
    let sqs_via = aws_sdk_sqs::Client::new(&via);
    let eb_via = aws_sdk_eventbridge::Client::new(&via);

    let now = OccurredAt::now();
    let valid = events::valid(options.events, options.seed, now);
    let poison: Vec<String> = (0..events::poison_count(options.events, options.poison_rate))
        .map(|k| events::poison(k, now))
        .collect();

    let mapping = Arc::new(Mapping::new(
        sqs_direct.clone(),
        &pipeline,
        MappingSettings {
            batch_size: options.batch_size,
            duplicate_rate: options.duplicate_rate,
            seed: options.seed,
        },
    ));
    let counts = Arc::new(Mutex::new(Counts::default()));
    let kills = Arc::new(Mutex::new(KillStats::default()));
    let mut pollers = Vec::new();
    let mode = match &options.recorder {
        RecorderMode::InProcess { pollers: n } => {
            let ts = timestream_client(&via)
                .await
                .map_err(|e| SoakError::emulator("Timestream client", e))?;
            let recorder = Arc::new(Recorder::new(
                TimestreamSink::new(
                    TimestreamWriter::new(ts, &pipeline.database, &pipeline.table),
                    Layout::Seed,
                ),
                SqsDeadLetters::new(sqs_via.clone(), &pipeline.dlq_url),
                // The deployed recorder's settings.
                Settings::default(),
            ));
            for _ in 0..(*n).max(1) {
                let mut f = InProcess::new(
                    recorder.clone(),
                    options.function_timeout,
                    Duration::from_millis(500),
                    counts.clone(),
                );
                let m = mapping.clone();
                pollers.push(tokio::spawn(async move { m.poll(&mut f).await }));
            }
            "in-process"
        }
        RecorderMode::Binary {
            exe,
            kill_rate,
            log,
        } => {
            let env = vec![
                (
                    "FILETRAIL_TIMESTREAM_DATABASE".to_owned(),
                    pipeline.database.clone(),
                ),
                (
                    "FILETRAIL_TIMESTREAM_TABLE".to_owned(),
                    pipeline.table.clone(),
                ),
                (
                    "FILETRAIL_DEAD_LETTER_QUEUE_URL".to_owned(),
                    pipeline.dlq_url.clone(),
                ),
            ];
            let mut f = Binary::start(
                exe.clone(),
                env,
                proxy.clone(),
                *kill_rate,
                options.seed,
                kills.clone(),
                log.clone(),
            )
            .await?;
            let m = mapping.clone();
            pollers.push(tokio::spawn(async move { m.poll(&mut f).await }));
            "binary"
        }
    };

    let publisher = Publisher::new(
        EventBridge::new(eb_via.clone(), &pipeline.bus),
        PublisherConfig {
            bus: pipeline.bus.clone(),
            source: "sdc.sorter".into(),
            deadline: Duration::from_secs(10),
        },
    );

    let started = Instant::now();
    let outcome = async {
        let published =
            publish(options, &publisher, &sqs_direct, &pipeline, &valid, &poison).await?;
        let publish_seconds = started.elapsed().as_secs_f64();
        pipeline::drained(
            &sqs_direct,
            &pipeline.events_queue_url,
            Duration::from_millis(500),
            options.settle_timeout,
        )
        .await?;
        let end_to_end = started.elapsed().as_secs_f64();
        let replay = replay_all(options, &sqs_via, &eb_via, &sqs_direct, &pipeline).await?;
        Ok::<_, SoakError>((published, publish_seconds, end_to_end, replay))
    }
    .await;
    mapping.stop();
    for p in pollers {
        let _ = p.await;
    }
    if let Some(task) = outage_end {
        task.abort();
    }
    let (published, publish_seconds, end_to_end, replay) = outcome?;
    let total_seconds = started.elapsed().as_secs_f64();

    let (db, table) = (pipeline.database.clone(), pipeline.table.clone());
    let stored = tokio::task::spawn_blocking(move || {
        filetrail_testkit::moto::timestream_records(&db, &table)
    })
    .await
    .map_err(|e| SoakError::emulator("read the table", e))?;
    let table = check::table(&valid, &stored, Layout::Seed);
    let dlq = check::dlq(&sqs_direct, &pipeline.dlq_url, &poison).await?;

    let stats = proxy.stats();
    let events = options.events;
    let mut report = SoakReport {
        label: options.label.clone(),
        seed: options.seed,
        recorder_mode: mode.into(),
        events,
        poison: poison.len(),
        publish: PublishFigures {
            seconds: publish_seconds,
            events_per_second: events as f64 / publish_seconds.max(1e-9),
            calls: published.calls,
            calls_per_1000_events: published.calls as f64 * 1000.0 / events as f64,
            http_requests: stats.requests("PutEvents"),
            entries_throttled: stats.get("PutEvents", "entries-throttled"),
            producer_republished: published.republished,
            unpublished: published.unpublished,
        },
        mapping: mapping.stats(),
        recorder: matches!(options.recorder, RecorderMode::InProcess { .. })
            .then(|| (*counts.lock().unwrap_or_else(PoisonError::into_inner)).into()),
        kills: matches!(options.recorder, RecorderMode::Binary { .. })
            .then(|| *kills.lock().unwrap_or_else(PoisonError::into_inner)),
        faults: stats
            .by_kind()
            .into_iter()
            .map(|(k, n)| (k.name().to_owned(), n))
            .collect(),
        proxy: stats.0.clone(),
        replay,
        table,
        dlq,
        end_to_end_seconds: end_to_end,
        end_to_end_events_per_second: events as f64 / end_to_end.max(1e-9),
        total_seconds,
        problems: Vec::new(),
    };
    report.find_problems();
    Ok(report)
}
