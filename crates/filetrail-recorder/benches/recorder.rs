//! Recorder figures for BENCHMARKS.md: `cargo bench -p filetrail-recorder --bench recorder`.
//!
//! - handler CPU per event over a 10,000-message batch, HTTP answered in-process;
//! - write calls per 1,000 events and request bytes per event, per Timestream layout and for the
//!   InfluxDB sink (line protocol, gzip; its HTTP seam answers 204 in-process);
//! - peak memory (VmHWM) of this process, which handles the 10,000-message batch;
//! - release binary start to its first Runtime API `next` request;
//! - a slow store (every WriteRecords answered after 2 s) and a DLQ that never answers, 10,000
//!   messages at concurrency 4 in a 5 s function: wall time from the event to the response.
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use aws_smithy_http_client::test_util::infallible_client_fn;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use filetrail_aws::Classified;
use filetrail_contract::{ActionType, FileMoved, Move, OccurredAt};
use filetrail_influxdb::{InfluxDb, InfluxDbConfig, Target, Token, TokenSource, Transport};
use filetrail_recorder::config::DEFAULT_SAFETY_MARGIN;
use filetrail_recorder::{
    InfluxDbSink, Layout, NoDeadLetterQueue, Recorder, Settings, Sink, SqsDeadLetters,
    TimestreamSink, TimestreamWriter, WriteOutcome, work_deadline,
};
use filetrail_testkit::runtime_api::RuntimeApi;

const BATCH: usize = 10_000;
const ROUNDS: usize = 5;

fn event(i: usize, base: i64) -> FileMoved {
    let mut e = FileMoved::from_move(Move {
        action_type: ActionType::Put,
        source_bucket: Some("hermes-incoming".into()),
        file_key: format!("hermes_eea_l0_2024{:03}-{:06}_v01.bin", i % 366 + 1, i),
        destination_bucket: Some("hermes-eea".into()),
        new_file_key: Some(format!(
            "l0/2024/01/01/hermes_eea_l0_2024{:03}-{:06}_v01.bin",
            i % 366 + 1,
            i
        )),
        occurred_at: OccurredAt::from_millis(base + i64::try_from(i).unwrap()),
    });
    e.stage = Some("sdc.sorter".into());
    e.size = Some(1_048_576);
    e
}

/// The SQS event JSON Lambda would hand the function (written directly: a `serde_json::Value`
/// tree of 10,000 records would itself outweigh what is measured).
fn sqs_event_json() -> String {
    let base = OccurredAt::now().millis() - 60_000;
    let mut out = String::with_capacity(BATCH * 1700);
    out.push_str("{\"Records\":[");
    for i in 0..BATCH {
        let e = event(i, base);
        let body = format!(
            r#"{{"version":"0","id":"env-{i}","detail-type":"FileMoved","source":"sdc.sorter","account":"111122223333","time":"2024-05-01T12:00:01Z","region":"us-east-1","resources":[],"detail":{}}}"#,
            e.to_json()
        );
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            r#"{{"messageId":"059f36b4-87a3-44ab-83d2-{i:012}","receiptHandle":"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a","body":{},"attributes":{{"ApproximateReceiveCount":"1","SentTimestamp":"1714564801000"}},"messageAttributes":{{}},"md5OfBody":"e4e68fb7bd0e697a0ae8f1bb342846b3","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:111122223333:filetrail-events","awsRegion":"us-east-1"}}"#,
            serde_json::Value::String(body)
        ));
    }
    out.push_str("]}");
    out
}

/// Reset the kernel's peak-RSS mark (VmHWM), so the next reading covers only what follows.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

fn cpu_time() -> Duration {
    // utime + stime from /proc/self/stat, in clock ticks (100 Hz on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    kb / 1024.0
}

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
    let config = InfluxDbConfig {
        url: "https://influxdb.example:8086".into(),
        target: Target::V1 {
            database: "filetrail".into(),
            retention_policy: None,
        },
        token: TokenSource::None,
        measurement: "file_moved".into(),
    };
    let db = InfluxDb::with_transport(&config, Some(Token::new("bench-token")), NoContent(wire));
    Recorder::new(
        InfluxDbSink::new(db),
        NoDeadLetterQueue,
        Settings::default(),
    )
}

/// Handle `ROUNDS` batches of `BATCH` messages: (CPU, wall time, peak memory in MB).
fn measure<S: Sink>(
    rt: &tokio::runtime::Runtime,
    recorder: &Recorder<S, NoDeadLetterQueue>,
) -> (Duration, Duration, f64) {
    let mut peak: f64 = 0.0;
    let (mut cpu, mut wall) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..ROUNDS {
        let json = sqs_event_json();
        reset_peak();
        let (c0, w0) = (cpu_time(), Instant::now());
        // As lambda_runtime does: deserialize the event, drop the raw bytes, run the handler.
        // Both steps are counted.
        let event: SqsEvent = serde_json::from_str(&json).unwrap();
        drop(json);
        let (response, counts) = rt
            .block_on(recorder.handle(&event, Instant::now() + Duration::from_secs(60)))
            .unwrap();
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(counts.written, BATCH as u64);
        cpu += cpu_time() - c0;
        wall += w0.elapsed();
        drop(event);
        peak = peak.max(peak_rss_mb());
    }
    (cpu, wall, peak)
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
    let sdk =
        filetrail_aws::sdk::configure(aws_config::defaults(aws_config::BehaviorVersion::latest()))
            .http_client(http)
            .endpoint_url("https://ingest.timestream.invalid")
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(filetrail_testkit::test_credentials())
            .load()
            .await;
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
    async fn write(&self, records: Vec<S::Record>) -> Result<Vec<WriteOutcome>, Classified> {
        tokio::time::sleep(SLOW_STORE).await;
        self.0.write(records).await
    }
}

/// A slow store and a DLQ that never answers: (wall time to the response, messages handed back,
/// messages written). 50 of the messages are not events, so the DLQ has letters to hang on.
async fn slow_store() -> (Duration, u64, u64) {
    let wire = Arc::new(Wire {
        calls: AtomicUsize::new(0),
        bytes: AtomicUsize::new(0),
    });
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
    let mut event: SqsEvent = serde_json::from_str(&sqs_event_json()).unwrap();
    for i in 0..50 {
        event.records[i * 200].body = Some(format!("not an event {i}"));
    }
    let start = Instant::now();
    let lambda_deadline = std::time::SystemTime::now() + SLOW_FUNCTION_TIMEOUT;
    let (response, counts) = slow
        .handle(
            &event,
            work_deadline(lambda_deadline, DEFAULT_SAFETY_MARGIN),
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
    let mut samples = Vec::new();
    for _ in 0..20 {
        let api = RuntimeApi::start().await;
        let start = Instant::now();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_filetrail-recorder"))
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "filetrail-recorder")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let first = api
            .wait_first_next(Duration::from_secs(5))
            .await
            .expect("the binary polled for work");
        samples.push(first - start);
        child.kill().await.unwrap();
    }
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`. Test runners (`cargo test --all-targets`, nextest) list or
    // run bench targets as tests: this binary has no tests, so it answers with none.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
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
            "peak memory (VmHWM) from raw event to response, 10,000 messages, whole process (MB)"
                .into(),
            vec![],
        ),
    ];
    for sink in ["seed", "multi", "influxdb"] {
        let wire = Arc::new(Wire {
            calls: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
        });
        let (cpu, wall, peak) = match sink {
            "seed" => measure(&rt, &rt.block_on(recorder(Layout::Seed, wire.clone()))),
            "multi" => measure(&rt, &rt.block_on(recorder(Layout::Multi, wire.clone()))),
            _ => measure(&rt, &influxdb_recorder(wire.clone())),
        };
        let events = (BATCH * ROUNDS) as f64;
        let calls = wire.calls.load(Ordering::Relaxed) as f64;
        rows[0]
            .1
            .push(format!("{:.2}", cpu.as_secs_f64() * 1e6 / events));
        rows[1]
            .1
            .push(format!("{:.2}", wall.as_secs_f64() * 1e6 / events));
        rows[2].1.push(format!("{:.1}", calls * 1000.0 / events));
        rows[3].1.push(format!(
            "{:.0}",
            wire.bytes.load(Ordering::Relaxed) as f64 / events
        ));
        rows[4].1.push(format!("{peak:.1}"));
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
}
