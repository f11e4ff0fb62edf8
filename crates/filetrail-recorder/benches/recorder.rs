//! Recorder figures for BENCHMARKS.md: `cargo bench -p filetrail-recorder --bench recorder`.
//!
//! - handler CPU per event over a 10,000-message batch, HTTP answered in-process;
//! - write calls per 1,000 events and request bytes per event, per Timestream layout and for the
//!   InfluxDB sink (line protocol, gzip; its HTTP seam answers 204 in-process);
//! - peak memory (VmHWM) of this process, which handles the 10,000-message batch;
//! - release binary start to its first Runtime API `next` request;
//! - a slow store (every WriteRecords answered after 2 s) and a DLQ that never answers, 10,000
//!   messages at concurrency 4 in a 5 s function: wall time from the event to the response;
//! - what BENCHMARKS.md's cost table needs: invocations of 100 messages (the module's default
//!   `batch_size`) with their wall time, write calls and dead-letter calls (one message in each
//!   not an event), the SQS body bytes per event, and Timestream's write metering (AWS's
//!   formula, `filetrail_recorder::metering`) of the records each layout builds for the bench's
//!   events, beside the old Python writer's one record per WriteRecords call.
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_timestreamwrite::types::{MeasureValueType, Record, TimeUnit};
use aws_smithy_http_client::test_util::infallible_client_fn;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use filetrail_aws::{Margin, work_deadline};
use filetrail_contract::{FileMoved, OccurredAt};
use filetrail_influxdb::{InfluxDb, InfluxDbConfig, Token, Transport};
use filetrail_recorder::config::DEFAULT_SAFETY_MARGIN;
use filetrail_recorder::metering::{Names, meter_write};
use filetrail_recorder::{
    DeadLetters, InfluxDbSink, Layout, MAX_RECORDS_PER_WRITE, NoDeadLetterQueue, Outcome, Recorder,
    SEED_MEASURE_NAME, Settings, Sink, SqsBatch, SqsDeadLetters, TimestreamSink, TimestreamWriter,
};
use filetrail_testkit::lambda::{Output, Spec};
use filetrail_testkit::process::{cpu_time, median, peak_rss_mb, reset_peak};
use filetrail_testkit::sdk_config_with_http;

#[path = "../tests/events.rs"]
mod events;

const BATCH: usize = 10_000;
const ROUNDS: usize = 9;
/// Messages per invocation in the cost figures: the Terraform module's default `batch_size`.
const INVOCATION: usize = 100;

/// The tests' event ([`events::event_at`]) with a size, as the stages publish it.
fn event(i: usize, base: i64) -> FileMoved {
    let mut e = events::event_at(i, base);
    e.size = Some(1_048_576);
    e
}

/// The SQS event JSON Lambda would hand the function: the test kit's records (AWS's documented
/// record, `md5OfBody` the body's), serialized one at a time (a `serde_json::Value` tree of
/// 10,000 records would itself outweigh what is measured).
fn sqs_event_json() -> String {
    let base = OccurredAt::now().millis() - 60_000;
    let mut out = String::with_capacity(BATCH * 2000);
    out.push_str("{\"Records\":[");
    for i in 0..BATCH {
        let body = filetrail_testkit::fixtures::envelope(&event(i, base));
        if i > 0 {
            out.push(',');
        }
        let id = format!("059f36b4-87a3-44ab-83d2-{i:012}");
        out.push_str(&filetrail_testkit::sqs::record(&id, &body).to_string());
    }
    out.push_str("]}");
    out
}

#[derive(Default)]
struct Wire {
    calls: AtomicUsize,
    bytes: AtomicUsize,
}

/// The InfluxDB sink's HTTP seam answered in-process: counts the request and its (gzip) body
/// bytes and answers 204, as InfluxDB does for a written batch.
struct NoContent(Arc<Wire>);

impl Transport for NoContent {
    async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, String> {
        self.0.calls.fetch_add(1, Ordering::Relaxed);
        self.0
            .bytes
            .fetch_add(request.body().len(), Ordering::Relaxed);
        Ok(http::Response::builder()
            .status(204)
            .body(Bytes::new())
            .unwrap())
    }
}

fn influxdb_recorder(wire: Arc<Wire>) -> Recorder<InfluxDbSink<NoContent>, NoDeadLetterQueue> {
    let config = InfluxDbConfig::v1("https://influxdb.example:8086", "filetrail");
    let db = InfluxDb::with_transport(&config, Some(Token::new("bench-token")), NoContent(wire));
    Recorder::new(
        InfluxDbSink::new(db),
        NoDeadLetterQueue,
        Settings::default(),
    )
}

/// Handle `ROUNDS` batches of `BATCH` messages, after one unmeasured: the median round's CPU
/// and wall time (a shared machine's neighbours inflate some rounds), and the peak memory in
/// MB. The wire counts cover the measured rounds only.
fn measure<S: Sink>(
    rt: &tokio::runtime::Runtime,
    recorder: &Recorder<S, NoDeadLetterQueue>,
    wire: &Wire,
) -> (Duration, Duration, f64) {
    let mut peak: f64 = 0.0;
    let (mut cpu, mut wall) = (Vec::new(), Vec::new());
    let template = sqs_event_json().into_bytes();
    // One round unmeasured first: the process's heap grows to its working size (page faults,
    // the allocator's arenas), which a long-lived Lambda process pays once, not per batch.
    for round in 0..=ROUNDS {
        if round == 1 {
            wire.calls.store(0, Ordering::Relaxed);
            wire.bytes.store(0, Ordering::Relaxed);
        }
        let json = template.clone();
        reset_peak();
        let (c0, w0) = (cpu_time(), Instant::now());
        // As lambda_runtime does: deserialize the event, drop the raw bytes, run the handler.
        // Both steps are counted.
        let event = runtime_deserialize(&json);
        drop(json);
        let (response, counts) = rt
            .block_on(recorder.handle(&event, Instant::now() + Duration::from_secs(60)))
            .unwrap();
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(counts.written, BATCH as u64);
        if round > 0 {
            cpu.push(cpu_time() - c0);
            wall.push(w0.elapsed());
        }
        drop(event);
        if round > 0 {
            peak = peak.max(peak_rss_mb());
        }
    }
    (median(cpu), median(wall), peak)
}

/// The invocation's payload read as `lambda_runtime` reads it before calling the handler: from
/// the bytes, through `serde_path_to_error` (lambda_runtime 1.5, `src/deserializer.rs`), so the
/// figures include what the deployed function pays for the runtime's error paths.
fn runtime_deserialize(payload: &[u8]) -> SqsBatch {
    let de = &mut serde_json::Deserializer::from_slice(payload);
    serde_path_to_error::deserialize(de).unwrap()
}

async fn recorder(
    layout: Layout,
    wire: Arc<Wire>,
) -> Recorder<TimestreamSink<TimestreamWriter>, NoDeadLetterQueue> {
    let w = wire.clone();
    let http = infallible_client_fn(move |req: http::Request<SdkBody>| {
        w.calls.fetch_add(1, Ordering::Relaxed);
        w.bytes
            .fetch_add(req.body().bytes().map_or(0, <[u8]>::len), Ordering::Relaxed);
        http::Response::builder()
            .status(200)
            .body(SdkBody::from(
                r#"{"RecordsIngested":{"Total":100,"MemoryStore":100,"MagneticStore":0}}"#,
            ))
            .unwrap()
    });
    let sdk = sdk_config_with_http(http, "https://ingest.timestream.invalid").await;
    let client = filetrail_recorder::timestream_client(&sdk).await.unwrap();
    let sink = TimestreamSink::new(
        TimestreamWriter::new(client, "sdc_aws_logs", "sdc_aws_s3_bucket_log_table"),
        layout,
    );
    Recorder::new(sink, NoDeadLetterQueue, Settings::default())
}

/// How long the slow store takes to answer each call.
const SLOW_STORE: Duration = Duration::from_secs(2);
/// The function timeout of the slow-store run.
const SLOW_FUNCTION_TIMEOUT: Duration = Duration::from_secs(5);

/// A sink that answers every call [`SLOW_STORE`] late (the real Timestream sink behind it).
struct Slow<S>(S);

impl<S: Sink> Sink for Slow<S> {
    type Record = S::Record;
    fn name(&self) -> &'static str {
        "slow"
    }
    fn max_batch(&self) -> usize {
        self.0.max_batch()
    }
    fn prepare(&self, event: &FileMoved) -> Result<S::Record, String> {
        self.0.prepare(event)
    }
    fn check(&self, event: &FileMoved) -> Result<(), String> {
        self.0.check(event)
    }
    async fn write(&self, records: Vec<S::Record>) -> Vec<Outcome> {
        tokio::time::sleep(SLOW_STORE).await;
        self.0.write(records).await
    }
}

/// A slow store and a DLQ that never answers: (wall time to the response, messages handed back,
/// messages written). 50 of the messages are not events, so the DLQ has letters to hang on.
async fn slow_store() -> (Duration, u64, u64) {
    let wire = Arc::new(Wire::default());
    let fast = recorder(Layout::Seed, wire).await;
    let hanging = filetrail_testkit::hanging_endpoint().await;
    let sdk = filetrail_testkit::sdk_config_at(&hanging).await;
    let dlq = SqsDeadLetters::new(
        aws_sdk_sqs::Client::new(&sdk),
        format!("{hanging}/000000000000/dlq"),
    );
    let settings = Settings {
        concurrency: 4,
        ..Settings::default()
    };
    let slow = Recorder::new(Slow(fast.sink().clone()), dlq, settings);
    let mut event: SqsBatch = serde_json::from_str(&sqs_event_json()).unwrap();
    for i in 0..50 {
        event.records[i * 200].body = Some(format!("not an event {i}"));
    }
    let start = Instant::now();
    let lambda_deadline = std::time::SystemTime::now() + SLOW_FUNCTION_TIMEOUT;
    let (response, counts) = slow
        .handle(
            &event,
            work_deadline(lambda_deadline, Margin::Fixed(DEFAULT_SAFETY_MARGIN)),
        )
        .await
        .unwrap();
    let elapsed = start.elapsed();
    assert!(
        elapsed < SLOW_FUNCTION_TIMEOUT,
        "outlived the deadline: {elapsed:?}"
    );
    assert_eq!(counts.dead_lettered, 0, "the DLQ never answered");
    assert_eq!(response.batch_item_failures.len() as u64, counts.failed);
    (elapsed, counts.failed, counts.written)
}

async fn start_to_first_next() -> Duration {
    let spec = Spec::new(env!("CARGO_BIN_EXE_filetrail-recorder"))
        .aws_endpoint("http://127.0.0.1:9")
        .output(Output::Discard);
    let mut samples = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let lambda = spec.start().await.unwrap();
        let first = lambda
            .api()
            .wait_first_next(Duration::from_secs(5))
            .await
            .expect("the binary polled for work");
        samples.push(first - start);
        lambda.stop().await;
    }
    samples.sort();
    samples[samples.len() / 2]
}

/// The in-process SQS that takes the recorder's dead letters: answers every SendMessageBatch
/// entry `Successful` in AWS's JSON shape, counting calls and request bytes.
async fn counted_dead_letters(wire: Arc<Wire>) -> SqsDeadLetters {
    let http = infallible_client_fn(move |req: http::Request<SdkBody>| {
        let body = req.body().bytes().unwrap_or_default();
        wire.calls.fetch_add(1, Ordering::Relaxed);
        wire.bytes.fetch_add(body.len(), Ordering::Relaxed);
        let request: serde_json::Value = serde_json::from_slice(body).unwrap();
        let ok: Vec<serde_json::Value> = request["Entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| serde_json::json!({"Id": e["Id"], "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274", "MD5OfMessageBody": "0"}))
            .collect();
        http::Response::builder()
            .status(200)
            .header("content-type", "application/x-amz-json-1.0")
            .body(SdkBody::from(
                serde_json::json!({"Successful": ok, "Failed": []}).to_string(),
            ))
            .unwrap()
    });
    let sdk = sdk_config_with_http(http, "https://sqs.invalid").await;
    SqsDeadLetters::new(
        aws_sdk_sqs::Client::new(&sdk),
        "https://sqs.us-east-1.amazonaws.com/111122223333/filetrail-recorder-dlq",
    )
}

/// What invocations of [`INVOCATION`] messages cost the recorder.
struct Invocations {
    /// Mean wall time of one invocation, deserializing its event included.
    wall: Duration,
    /// Messages in all invocations.
    messages: usize,
    /// Messages dead-lettered.
    dead_lettered: u64,
}

/// [`BATCH`] messages handed to `recorder` as Lambda's event source mapping hands them with
/// `batch_size` = [`INVOCATION`]; with `poison`, the first message of each is not an event.
fn invocations<S: Sink, D: DeadLetters>(
    rt: &tokio::runtime::Runtime,
    recorder: &Recorder<S, D>,
    poison: bool,
) -> Invocations {
    let full: SqsEvent = serde_json::from_str(&sqs_event_json()).unwrap();
    let events: Vec<String> = full
        .records
        .chunks(INVOCATION)
        .enumerate()
        .map(|(n, chunk)| {
            let mut event: SqsEvent = serde_json::from_str(r#"{"Records":[]}"#).unwrap();
            event.records = chunk.to_vec();
            if poison {
                event.records[0].body = Some(format!("not an event {n}"));
            }
            serde_json::to_string(&event).unwrap()
        })
        .collect();
    let (mut wall, mut dead_lettered) = (Duration::ZERO, 0);
    for json in &events {
        let w0 = Instant::now();
        let event = runtime_deserialize(json.as_bytes());
        let (response, counts) = rt
            .block_on(recorder.handle(&event, Instant::now() + Duration::from_secs(60)))
            .unwrap();
        wall += w0.elapsed();
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(counts.written + counts.dead_lettered, INVOCATION as u64);
        dead_lettered += counts.dead_lettered;
    }
    Invocations {
        wall: wall / u32::try_from(events.len()).unwrap(),
        messages: BATCH,
        dead_lettered,
    }
}

/// Mean SQS body bytes per message of the bench's SQS event (the EventBridge envelope).
fn body_bytes_per_event() -> f64 {
    let event: SqsEvent = serde_json::from_str(&sqs_event_json()).unwrap();
    let total: usize = event
        .records
        .iter()
        .map(|m| m.body.as_deref().map_or(0, str::len))
        .sum();
    total as f64 / event.records.len() as f64
}

/// AWS's write metering of `records`, [`MAX_RECORDS_PER_WRITE`] to a WriteRecords call sharing
/// `common`: (mean metered bytes per record, metered bytes of the common attributes, 1 KiB
/// writes per 1,000 records).
fn metered(common: Option<&Record>, records: &[Record], per_call: usize, names: Names) -> Metered {
    let (mut bytes, mut writes, mut common_bytes) = (0, 0, 0);
    for call in records.chunks(per_call) {
        let m = meter_write(common, call, names);
        bytes += m.record_bytes.iter().sum::<usize>();
        writes += m.writes;
        common_bytes = m.common_bytes;
    }
    let n = records.len() as f64;
    Metered {
        bytes_per_record: bytes as f64 / n,
        common_bytes,
        writes_per_1000: writes as f64 * 1000.0 / n,
    }
}

/// AWS's write metering of a run of records.
struct Metered {
    /// Mean metered bytes per record.
    bytes_per_record: f64,
    /// Metered bytes of the common attributes.
    common_bytes: usize,
    /// 1 KiB writes per 1,000 records.
    writes_per_1000: f64,
}

/// A layout's metering with names metered and with names free.
struct LayoutMetering {
    names: Metered,
    free: Metered,
}

/// The record the old Python writer wrote for `event` (ARCHITECTURE.md's seed shape): the five
/// seed dimensions without `event_id`, measure `timestamp` = epoch seconds as a DOUBLE, all in
/// the record (no `CommonAttributes`), one record per WriteRecords call. Built from the seed
/// layout's own record so the names and values are the same strings.
fn python_writer_record(event: &FileMoved) -> Record {
    let seed = Layout::Seed.record(event).unwrap();
    let dimensions = seed
        .dimensions()
        .iter()
        .filter(|d| d.name() != "event_id")
        .cloned()
        .collect();
    Record::builder()
        .set_dimensions(Some(dimensions))
        .measure_name(SEED_MEASURE_NAME)
        .measure_value(seed.measure_value().unwrap())
        .measure_value_type(MeasureValueType::Double)
        .time(seed.time().unwrap())
        .time_unit(TimeUnit::Milliseconds)
        .build()
}

/// The bench's events, as the recorder's records would meter them.
fn metering_rows() -> Vec<(String, Vec<String>)> {
    let base = OccurredAt::now().millis() - 60_000;
    let events: Vec<FileMoved> = (0..BATCH).map(|i| event(i, base)).collect();
    let mut layouts = Vec::new();
    for layout in [Layout::Seed, Layout::Multi] {
        let records: Vec<Record> = events.iter().map(|e| layout.record(e).unwrap()).collect();
        let common = layout.common_attributes();
        let names = metered(
            Some(&common),
            &records,
            MAX_RECORDS_PER_WRITE,
            Names::Metered,
        );
        let free = metered(Some(&common), &records, MAX_RECORDS_PER_WRITE, Names::Free);
        layouts.push(LayoutMetering { names, free });
    }
    let old: Vec<Record> = events.iter().map(python_writer_record).collect();
    let old_names = metered(None, &old, 1, Names::Metered);
    let old_free = metered(None, &old, 1, Names::Free);
    let cols =
        |f: &dyn Fn(&LayoutMetering) -> String| vec![f(&layouts[0]), f(&layouts[1]), String::new()];
    vec![
        (
            "Timestream metered bytes per record (AWS's write metering: timestamp 8 + dimension names and values + measure names and values)".into(),
            cols(&|m| format!("{:.1}", m.names.bytes_per_record)),
        ),
        (
            "Timestream metered bytes of the CommonAttributes, counted once per 1 KiB write".into(),
            cols(&|m| m.names.common_bytes.to_string()),
        ),
        (
            "Timestream 1 KiB writes per 1,000 events (AWS's write metering, 100 records per WriteRecords)".into(),
            cols(&|m| format!("{:.1}", m.names.writes_per_1000)),
        ),
        (
            "Timestream 1 KiB writes per 1,000 events, dimension and measure names not metered (AWS, July 2022)".into(),
            cols(&|m| format!("{:.1}", m.free.writes_per_1000)),
        ),
        (
            "old Python writer (one record per WriteRecords, no CommonAttributes): Timestream metered bytes per record".into(),
            vec![format!("{:.1}", old_names.bytes_per_record), String::new(), String::new()],
        ),
        (
            "old Python writer: Timestream 1 KiB writes per 1,000 events".into(),
            vec![format!("{:.1}", old_names.writes_per_1000), String::new(), String::new()],
        ),
        (
            "old Python writer: Timestream 1 KiB writes per 1,000 events, names not metered (AWS, July 2022)".into(),
            vec![format!("{:.1}", old_free.writes_per_1000), String::new(), String::new()],
        ),
    ]
}

/// Set on a child run of this bench: the one sink it measures.
const SINK_VAR: &str = "FILETRAIL_BENCH_SINK";

/// [`sink_figures`] in a process of its own, as a Lambda function runs one sink: a sink measured
/// after another in one process would count the heap the first left behind in its peak memory.
fn sink_figures_apart(sink: &str) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .arg("--bench")
        .env(SINK_VAR, sink)
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "the {sink} run failed");
    let cells: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .split('\t')
        .map(str::to_owned)
        .collect();
    assert_eq!(cells.len(), 5, "the {sink} run's figures: {cells:?}");
    cells
}

/// The recorder table's five cells for `sink` (`seed`, `multi`, `influxdb`): CPU and wall time
/// per event (the median round's), write calls per 1,000 events and request bytes per event
/// (all measured rounds), peak memory.
fn sink_figures(rt: &tokio::runtime::Runtime, sink: &str) -> [String; 5] {
    let wire = Arc::new(Wire::default());
    let (cpu, wall, peak) = match sink {
        "seed" => measure(
            rt,
            &rt.block_on(recorder(Layout::Seed, wire.clone())),
            &wire,
        ),
        "multi" => measure(
            rt,
            &rt.block_on(recorder(Layout::Multi, wire.clone())),
            &wire,
        ),
        "influxdb" => measure(rt, &influxdb_recorder(wire.clone()), &wire),
        other => panic!("no sink {other:?}"),
    };
    let (round, events) = (BATCH as f64, (BATCH * ROUNDS) as f64);
    let calls = wire.calls.load(Ordering::Relaxed) as f64;
    [
        format!("{:.2}", cpu.as_secs_f64() * 1e6 / round),
        format!("{:.2}", wall.as_secs_f64() * 1e6 / round),
        format!("{:.1}", calls * 1000.0 / events),
        format!("{:.0}", wire.bytes.load(Ordering::Relaxed) as f64 / events),
        format!("{peak:.1}"),
    ]
}

fn main() {
    // Nothing to do for a test runner listing bench targets as tests.
    let Some(rt) = filetrail_testkit::bench::runtime() else {
        return;
    };
    // `FILETRAIL_BENCH_PROFILE=seed`: only the seed handler, many rounds, for `perf record`
    // (BENCHMARKS.md, "Where the time goes").
    if std::env::var("FILETRAIL_BENCH_PROFILE").as_deref() == Ok("seed") {
        let wire = Arc::new(Wire::default());
        let recorder = rt.block_on(recorder(Layout::Seed, wire.clone()));
        for _ in 0..8 {
            let (cpu, _, _) = measure(&rt, &recorder, &wire);
            eprintln!(
                "seed handler CPU per event: {:.2} µs",
                cpu.as_secs_f64() * 1e6 / BATCH as f64
            );
        }
        return;
    }
    // A child run for one sink: its five cells, tab-separated.
    if let Ok(sink) = std::env::var(SINK_VAR) {
        println!("{}", sink_figures(&rt, &sink).join("\t"));
        return;
    }
    println!("| figure | seed | multi | influxdb |\n| --- | --- | --- | --- |");
    let mut rows: Vec<(String, Vec<String>)> = vec![
        (
            "handler CPU per event, 10,000-message batch (µs)".into(),
            vec![],
        ),
        ("handler wall time per event (µs)".into(), vec![]),
        ("write calls per 1,000 events".into(), vec![]),
        ("request bytes sent per event".into(), vec![]),
        (
            "peak memory (VmHWM) from raw event to response, 10,000 messages, whole process, one sink per process (MB)"
                .into(),
            vec![],
        ),
    ];
    for sink in ["seed", "multi", "influxdb"] {
        for (row, cell) in rows.iter_mut().zip(sink_figures_apart(sink)) {
            row.1.push(cell);
        }
    }
    for (name, values) in rows {
        println!("| {name} | {} |", values.join(" | "));
    }
    let start = rt.block_on(start_to_first_next());
    println!(
        "| release binary start to first Runtime API `next` (ms, median of 20) | {:.1} | | |",
        start.as_secs_f64() * 1e3
    );
    let (wall, handed_back, written) = rt.block_on(slow_store());
    println!(
        "| slow store (each call answered after 2 s) and a DLQ that never answers, 10,000 messages, concurrency 4, 5 s function: wall time to the response (s; handed back / written) | {:.2} ({handed_back} / {written}) | | |",
        wall.as_secs_f64()
    );

    // The cost table's figures: invocations of the module's default batch_size.
    let mut cost: Vec<(String, Vec<String>)> = vec![
        (
            "invocation of 100 messages (the module's default batch_size): handler wall time, event deserialization included (ms, mean of 100)".into(),
            vec![],
        ),
        (
            "write calls per 1,000 events, invocations of 100 messages".into(),
            vec![],
        ),
    ];
    for sink in ["seed", "multi", "influxdb"] {
        let wire = Arc::new(Wire::default());
        let run = match sink {
            "seed" => invocations(
                &rt,
                &rt.block_on(recorder(Layout::Seed, wire.clone())),
                false,
            ),
            "multi" => invocations(
                &rt,
                &rt.block_on(recorder(Layout::Multi, wire.clone())),
                false,
            ),
            _ => invocations(&rt, &influxdb_recorder(wire.clone()), false),
        };
        cost[0]
            .1
            .push(format!("{:.3}", run.wall.as_secs_f64() * 1e3));
        cost[1].1.push(format!(
            "{:.1}",
            wire.calls.load(Ordering::Relaxed) as f64 * 1000.0 / run.messages as f64
        ));
    }
    let store = Arc::new(Wire::default());
    let sqs = Arc::new(Wire::default());
    let poisoned = {
        let seed = rt.block_on(recorder(Layout::Seed, store));
        let dlq = rt.block_on(counted_dead_letters(sqs.clone()));
        let r = Recorder::new(seed.sink().clone(), dlq, Settings::default());
        invocations(&rt, &r, true)
    };
    assert_eq!(poisoned.dead_lettered, (BATCH / INVOCATION) as u64);
    let dlq_calls = sqs.calls.load(Ordering::Relaxed);
    cost.push((
        "dead-letter SendMessageBatch calls per 1,000 events, invocations of 100 messages with 1 not an event (request bytes per call)".into(),
        vec![
            format!(
                "{:.1} ({:.0})",
                dlq_calls as f64 * 1000.0 / poisoned.messages as f64,
                sqs.bytes.load(Ordering::Relaxed) as f64 / dlq_calls.max(1) as f64
            ),
            String::new(),
            String::new(),
        ],
    ));
    cost.push((
        "SQS message body bytes per event (the EventBridge envelope in the events queue)".into(),
        vec![
            format!("{:.0}", body_bytes_per_event()),
            String::new(),
            String::new(),
        ],
    ));
    cost.extend(metering_rows());
    for (name, values) in cost {
        println!("| {name} | {} |", values.join(" | "));
    }
}
