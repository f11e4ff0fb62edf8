//! One soak run: publish, route, record under faults, replay the DLQ, check.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use filetrail_cli::replay::{Filters, ReplayOptions, ReplaySummary, Target};
use filetrail_contract::{FileMoved, OccurredAt};
use filetrail_publisher::{EventBridge, PublishError, Publisher, PublisherConfig};
use filetrail_recorder::config::{ENV_DATABASE, ENV_DEAD_LETTER_QUEUE_URL, ENV_TABLE};
use filetrail_recorder::{
    Counts, Layout, Recorder, Settings, SqsDeadLetters, TimestreamSink, TimestreamWriter,
    timestream_client,
};
use futures_util::StreamExt;

use crate::check;
use crate::function::{Binary, InProcess, KillStats};
use crate::mapping::{Mapping, MappingSettings};
use crate::pipeline::{self, Names, Pipeline, QueueSettings};
use crate::report::{PublishFigures, ReplayFigures, SoakReport};
use crate::{FaultKind, FaultPlan, Proxy, SoakError, events, sdk_config, sdk_config_with};

/// Replay rounds after which a DLQ that still yields valid events counts as stuck. A round at
/// 50 % resets or timeouts often sees only part of the DLQ (a receive whose answer is dropped
/// hides its messages from it), and the run goes round again until one sees all of it: eight
/// rounds were seen in one matrix cell.
pub const MAX_REPLAY_ROUNDS: usize = 30;
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
            while pipeline::held(sqs, &pipeline.events_queue_url).await? > options.max_backlog {
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
            // A receive whose answer was lost (a timeout or reset the proxy injected after
            // forwarding) hid its messages for the visibility timeout, and this round never saw
            // them: they may still be in flight, or visible again by the time a round slowed by
            // timeouts ends. Done only when the DLQ holds just what this round left there on
            // purpose (the invalid messages it skipped); else wait for them and go again.
            let dlq = filetrail_cli::sqs::queue_counts(sqs_direct, &pipeline.dlq_url)
                .await
                .map_err(|e| SoakError::Stuck(format!("reading the DLQ's counts: {e:?}")))?;
            if dlq.in_flight == 0 && dlq.visible <= summary.skipped as u64 {
                return Ok(figures);
            }
            if dlq.in_flight > 0
                && !pipeline::none_in_flight(sqs_direct, &pipeline.dlq_url, options.settle_timeout)
                    .await
                    .map_err(|e| SoakError::Stuck(e.0))?
            {
                return Err(SoakError::Stuck(format!(
                    "{} DLQ message(s) stayed in flight for {:?}",
                    dlq.in_flight, options.settle_timeout
                )));
            }
            continue;
        }
        settled(
            sqs_direct,
            &pipeline.events_queue_url,
            options.settle_timeout,
        )
        .await?;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Wait until `queue_url` holds nothing (checked twice, half a second apart); a run that does
/// not settle within `timeout` is stuck.
async fn settled(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    timeout: Duration,
) -> Result<(), SoakError> {
    pipeline::drained(sqs, queue_url, Duration::from_millis(500), timeout)
        .await
        .map_err(|e| SoakError::Stuck(e.0))
}

/// What a run has set up: the pipeline, the proxy and the clients on either side of it, the
/// traffic, and the mapping with what its recorder counts.
struct Run {
    pipeline: Pipeline,
    proxy: Arc<Proxy>,
    /// Ends the Timestream outage (when there is one).
    outage_end: Option<tokio::task::JoinHandle<()>>,
    via: aws_config::SdkConfig,
    sqs_direct: aws_sdk_sqs::Client,
    sqs_via: aws_sdk_sqs::Client,
    eb_via: aws_sdk_eventbridge::Client,
    valid: Vec<FileMoved>,
    poison: Vec<String>,
    mapping: Arc<Mapping>,
    counts: Arc<Mutex<Counts>>,
    kills: Arc<Mutex<KillStats>>,
}

/// The plan the proxy starts with: `plan`, or every Timestream call answering HTTP 500 while
/// the outage lasts.
fn first_plan(options: &SoakOptions, plan: &FaultPlan) -> FaultPlan {
    match options.outage {
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
    }
}

/// Create the pipeline, start the proxy (and the outage), and draw the traffic.
async fn set_up(options: &SoakOptions) -> Result<Run, SoakError> {
    let endpoint = emulator_endpoint()?;
    let direct = sdk_config(&endpoint).await;
    let settings = QueueSettings {
        visibility_timeout: options.visibility_timeout,
        max_receive_count: options.max_receive_count,
    };
    let pipeline = pipeline::create(&direct, &Names::unique("soak"), settings).await?;
    let mut plan = options.faults.clone();
    plan.hold = plan
        .hold
        .max(options.attempt_timeout + Duration::from_millis(500));
    let proxy = Arc::new(Proxy::start(&endpoint, first_plan(options, &plan)).await?);
    let outage_end = options.outage.map(|d| {
        let proxy = proxy.clone();
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            let _ = proxy.set_plan(plan);
        })
    });
    let via = sdk_config_with(proxy.url(), options.attempt_timeout).await;
    let now = OccurredAt::now();
    let sqs_direct = aws_sdk_sqs::Client::new(&direct);
    let mapping = Arc::new(Mapping::new(
        sqs_direct.clone(),
        &pipeline.events_queue_url,
        &pipeline.events_queue_arn,
        MappingSettings {
            batch_size: options.batch_size,
            duplicate_rate: options.duplicate_rate,
            seed: options.seed,
        },
    ));
    Ok(Run {
        pipeline,
        proxy,
        outage_end,
        sqs_via: aws_sdk_sqs::Client::new(&via),
        eb_via: aws_sdk_eventbridge::Client::new(&via),
        via,
        sqs_direct,
        valid: events::valid(options.events, options.seed, now),
        poison: (0..events::poison_count(options.events, options.poison_rate))
            .map(|k| events::poison(k, now))
            .collect(),
        mapping,
        counts: Arc::new(Mutex::new(Counts::default())),
        kills: Arc::new(Mutex::new(KillStats::default())),
    })
}

/// Start the mapping's pollers with the recorder `options` asks for; its mode's name.
async fn start_recorder(
    options: &SoakOptions,
    run: &Run,
    pollers: &mut Vec<tokio::task::JoinHandle<()>>,
) -> Result<&'static str, SoakError> {
    let p = &run.pipeline;
    match &options.recorder {
        RecorderMode::InProcess { pollers: n } => {
            let ts = timestream_client(&run.via)
                .await
                .map_err(|e| SoakError::emulator("Timestream client", e))?;
            let recorder = Arc::new(Recorder::new(
                TimestreamSink::new(
                    TimestreamWriter::new(ts, &p.database, &p.table),
                    Layout::Seed,
                ),
                SqsDeadLetters::new(run.sqs_via.clone(), &p.dlq_url),
                // The deployed recorder's settings.
                Settings::default(),
            ));
            for _ in 0..(*n).max(1) {
                let margin = Duration::from_millis(500);
                let mut f = InProcess::new(
                    recorder.clone(),
                    options.function_timeout,
                    margin,
                    run.counts.clone(),
                );
                let m = run.mapping.clone();
                pollers.push(tokio::spawn(async move { m.poll(&mut f).await }));
            }
            Ok("in-process")
        }
        RecorderMode::Binary {
            exe,
            kill_rate,
            log,
        } => {
            let env = vec![
                (ENV_DATABASE, p.database.clone()),
                (ENV_TABLE, p.table.clone()),
                (ENV_DEAD_LETTER_QUEUE_URL, p.dlq_url.clone()),
            ];
            let (proxy, kills, seed) = (run.proxy.clone(), run.kills.clone(), options.seed);
            let mut f = Binary::start(
                exe.clone(),
                env,
                proxy,
                *kill_rate,
                seed,
                kills,
                log.clone(),
            )
            .await?;
            let m = run.mapping.clone();
            pollers.push(tokio::spawn(async move { m.poll(&mut f).await }));
            Ok("binary")
        }
    }
}

/// How long the phases took.
struct Timings {
    publish_seconds: f64,
    end_to_end: f64,
}

/// Publish through the real publisher, wait for the queue to drain, replay the DLQ.
async fn drive(
    options: &SoakOptions,
    run: &Run,
    started: Instant,
) -> Result<(Published, Timings, ReplayFigures), SoakError> {
    let publisher = Publisher::new(
        EventBridge::new(run.eb_via.clone(), &run.pipeline.bus),
        PublisherConfig {
            bus: run.pipeline.bus.clone(),
            source: "sdc.sorter".into(),
            deadline: Duration::from_secs(10),
        },
    );
    let (sqs, p) = (&run.sqs_direct, &run.pipeline);
    let published = publish(options, &publisher, sqs, p, &run.valid, &run.poison).await?;
    let publish_seconds = started.elapsed().as_secs_f64();
    settled(sqs, &p.events_queue_url, options.settle_timeout).await?;
    let end_to_end = started.elapsed().as_secs_f64();
    let replay = replay_all(options, &run.sqs_via, &run.eb_via, sqs, p).await?;
    let timings = Timings {
        publish_seconds,
        end_to_end,
    };
    Ok((published, timings, replay))
}

/// Check what reached the table and the DLQ, and write the report.
async fn report(
    options: &SoakOptions,
    run: &Run,
    mode: &str,
    (published, timings, replay): (Published, Timings, ReplayFigures),
    total_seconds: f64,
) -> Result<SoakReport, SoakError> {
    let (db, table) = (run.pipeline.database.clone(), run.pipeline.table.clone());
    let stored = tokio::task::spawn_blocking(move || {
        filetrail_testkit::moto::timestream_records(&db, &table)
    })
    .await
    .map_err(|e| SoakError::emulator("read the table", e))?;
    let table = check::table(&run.valid, &stored, Layout::Seed);
    let dlq = check::dlq(&run.sqs_direct, &run.pipeline.dlq_url, &run.poison).await?;
    let stats = run.proxy.stats();
    let events = options.events;
    let in_process = matches!(options.recorder, RecorderMode::InProcess { .. });
    let mut report = SoakReport {
        label: options.label.clone(),
        seed: options.seed,
        recorder_mode: mode.into(),
        events,
        poison: run.poison.len(),
        publish: PublishFigures {
            seconds: timings.publish_seconds,
            events_per_second: events as f64 / timings.publish_seconds.max(1e-9),
            calls: published.calls,
            calls_per_1000_events: published.calls as f64 * 1000.0 / events as f64,
            http_requests: stats.requests("PutEvents"),
            entries_throttled: stats.get("PutEvents", "entries-throttled"),
            producer_republished: published.republished,
            unpublished: published.unpublished,
        },
        mapping: run.mapping.stats(),
        recorder: in_process.then(|| *lock(&run.counts)),
        kills: (!in_process).then(|| *lock(&run.kills)),
        faults: (stats.by_kind().into_iter())
            .map(|(k, n)| (k.name().to_owned(), n))
            .collect(),
        proxy: stats.0.clone(),
        replay,
        table,
        dlq,
        end_to_end_seconds: timings.end_to_end,
        end_to_end_events_per_second: events as f64 / timings.end_to_end.max(1e-9),
        total_seconds,
        problems: Vec::new(),
    };
    report.find_problems();
    Ok(report)
}

/// Run one soak against the emulator at `AWS_ENDPOINT_URL`: set up, start the recorder,
/// publish and replay, stop, check.
pub async fn run(options: &SoakOptions) -> Result<SoakReport, SoakError> {
    options.validate()?;
    let run = set_up(options).await?;
    let mut pollers = Vec::new();
    let started = Instant::now();
    let outcome = match start_recorder(options, &run, &mut pollers).await {
        Ok(mode) => drive(options, &run, started).await.map(|o| (mode, o)),
        Err(e) => Err(e),
    };
    run.mapping.stop();
    for p in pollers {
        let _ = p.await;
    }
    if let Some(task) = &run.outage_end {
        task.abort();
    }
    let (mode, phases) = outcome?;
    let total_seconds = started.elapsed().as_secs_f64();
    report(options, &run, mode, phases, total_seconds).await
}
