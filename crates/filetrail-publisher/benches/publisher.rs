//! Publisher figures for BENCHMARKS.md: `cargo bench -p filetrail-publisher --bench publisher`.
//!
//! One `publish` of 10,000 events through the real EventBridge adapter and SDK (request
//! serialization, SigV4 signing, response parsing), the HTTP layer answered in-process: events
//! per second, CPU per event, PutEvents calls per 1,000 events and request bytes per event,
//! without faults and with 5% of entries answered `ThrottlingException` (retried by the
//! publisher), and each entry's size as AWS computes it (`Entry::size`; EventBridge bills each
//! 64 KB chunk of an entry as one event, BENCHMARKS.md's cost table). The emulator's figures
//! come from the soak (`make soak`).
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_smithy_http_client::test_util::infallible_client_fn;
use aws_smithy_types::body::SdkBody;
use filetrail_aws::BackoffSettings;
use filetrail_contract::{ActionType, DETAIL_TYPE, FileMoved, Move, OccurredAt};
use filetrail_publisher::{Entry, EventBridge, Publisher, PublisherConfig};
use filetrail_testkit::process::cpu_time;
use serde_json::{Value, json};

const EVENTS: usize = 10_000;
const ROUNDS: usize = 5;

fn events(base: i64) -> Vec<FileMoved> {
    (0..EVENTS)
        .map(|i| {
            let name = format!("hermes_EEA_l0_2024{:03}-{:06}_v01.bin", i % 366 + 1, i);
            let mut e = FileMoved::from_move(Move {
                action_type: ActionType::Put,
                source_bucket: Some("hermes-incoming".into()),
                file_key: name.clone(),
                destination_bucket: Some("hermes-eea".into()),
                new_file_key: Some(format!("l0/2024/01/01/{name}")),
                occurred_at: OccurredAt::from_millis(base + i64::try_from(i).unwrap()),
            });
            e.stage = Some("sdc.sorter".into());
            e.size = Some(1_048_576);
            e
        })
        .collect()
}

#[derive(Default)]
struct Wire {
    calls: AtomicUsize,
    bytes: AtomicUsize,
    entries: AtomicUsize,
    /// Sum of every entry's size as AWS computes it.
    entry_bytes: AtomicUsize,
    /// The largest entry, as AWS computes its size.
    largest_entry: AtomicUsize,
}

/// An entry of a PutEvents request body, sized as AWS computes it (`Entry::size`).
fn entry_size(entry: &Value) -> usize {
    assert_eq!(entry["DetailType"], DETAIL_TYPE);
    assert!(entry.get("Resources").is_none() && entry.get("Time").is_none());
    Entry {
        event_id: String::new(),
        source: entry["Source"].as_str().unwrap().to_owned(),
        detail_type: DETAIL_TYPE,
        detail: entry["Detail"].as_str().unwrap().to_owned(),
    }
    .size()
}

/// An EventBridge answering every PutEvents in AWS's shape; with `throttle_every` = n, every
/// n-th entry it sees fails with `ThrottlingException`.
async fn publisher(wire: Arc<Wire>, throttle_every: Option<usize>) -> Publisher<EventBridge> {
    let w = wire.clone();
    let http = infallible_client_fn(move |req: http::Request<SdkBody>| {
        let body = req.body().bytes().unwrap_or_default();
        w.calls.fetch_add(1, Ordering::Relaxed);
        w.bytes.fetch_add(body.len(), Ordering::Relaxed);
        let request: Value = serde_json::from_slice(body).unwrap();
        let sent = request["Entries"].as_array().unwrap();
        let n = sent.len();
        for entry in sent {
            let size = entry_size(entry);
            w.entry_bytes.fetch_add(size, Ordering::Relaxed);
            w.largest_entry.fetch_max(size, Ordering::Relaxed);
        }
        let mut failed = 0;
        let entries: Vec<Value> = (0..n)
            .map(|_| {
                let seen = w.entries.fetch_add(1, Ordering::Relaxed) + 1;
                if throttle_every.is_some_and(|k| seen.is_multiple_of(k)) {
                    failed += 1;
                    json!({"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"})
                } else {
                    json!({"EventId": format!("00000000-0000-0000-0000-{seen:012}")})
                }
            })
            .collect();
        http::Response::builder()
            .status(200)
            .header("content-type", "application/x-amz-json-1.1")
            .body(SdkBody::from(
                json!({"FailedEntryCount": failed, "Entries": entries}).to_string(),
            ))
            .unwrap()
    });
    let sdk = filetrail_testkit::sdk_config_with_http(http, "https://events.invalid").await;
    let client = aws_sdk_eventbridge::Client::new(&sdk);
    Publisher::new(
        EventBridge::new(client, "filetrail-bench"),
        PublisherConfig {
            bus: "filetrail-bench".into(),
            source: "sdc.sorter".into(),
            deadline: Duration::from_secs(60),
        },
    )
    .with_backoff(BackoffSettings {
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        factor: 2.0,
    })
}

fn main() {
    // Nothing to do for a test runner listing bench targets as tests.
    let Some(rt) = filetrail_testkit::bench::runtime() else {
        return;
    };
    let mut columns: Vec<[String; 6]> = Vec::new();
    for throttle_every in [None, Some(20)] {
        let wire = Arc::new(Wire::default());
        let p = rt.block_on(publisher(wire.clone(), throttle_every));
        let (mut cpu, mut wall, mut calls) = (Duration::ZERO, Duration::ZERO, 0);
        for _ in 0..ROUNDS {
            let evs = events(OccurredAt::now().millis() - 3_600_000);
            let (c0, w0) = (cpu_time(), Instant::now());
            let report = rt.block_on(p.publish(&evs)).unwrap();
            cpu += cpu_time() - c0;
            wall += w0.elapsed();
            assert_eq!(report.delivered, EVENTS);
            calls += report.calls;
        }
        let n = (EVENTS * ROUNDS) as f64;
        columns.push([
            format!("{:.0}", n / wall.as_secs_f64()),
            format!("{:.1}", cpu.as_secs_f64() * 1e6 / n),
            format!("{:.1}", calls as f64 * 1000.0 / n),
            format!("{:.0}", wire.bytes.load(Ordering::Relaxed) as f64 / n),
            format!(
                "{:.0}",
                wire.entry_bytes.load(Ordering::Relaxed) as f64
                    / wire.entries.load(Ordering::Relaxed) as f64
            ),
            wire.largest_entry.load(Ordering::Relaxed).to_string(),
        ]);
    }
    println!("| figure | no faults | 5% of entries throttled |\n| --- | --- | --- |");
    let names = [
        "events per second, one `publish` of 10,000 events (HTTP answered in-process)",
        "publisher CPU per event (µs)",
        "PutEvents calls per 1,000 events",
        "request bytes sent per event (all attempts)",
        "PutEvents entry size as AWS computes it (Source + DetailType + Detail; mean bytes per entry sent)",
        "largest PutEvents entry, as AWS computes its size (bytes)",
    ];
    for (i, name) in names.iter().enumerate() {
        println!("| {name} | {} | {} |", columns[0][i], columns[1][i]);
    }
}
