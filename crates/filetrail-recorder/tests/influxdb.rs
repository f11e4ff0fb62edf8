//! The InfluxDB sink through the shared recorder: a real InfluxDB (`scripts/with-influxdb.sh`),
//! scripted answers at the HTTP seam, and the binary with `FILETRAIL_SINK=influxdb`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use filetrail_contract::{FileMoved, attr};
use filetrail_influxdb::{
    ENV_DATABASE, ENV_TOKEN_SECRET_ARN, ENV_URL, InfluxDb, InfluxDbConfig, Target, Token,
    TokenSource, Transport,
};
use filetrail_recorder::config::ENV_SINK;
use filetrail_recorder::{InfluxDbSink, Recorder, Settings, SqsDeadLetters};
use filetrail_testkit::{emulator, influxdb_url, pipeline, unique_name};
use serde_json::{Value, json};

use super::{
    MemoryDlq, Messages, batch, envelope, failed_ids, handle, handle_within, recorder_binary,
};

/// A fresh database on the test InfluxDB, and a client for it.
async fn fresh_database() -> (String, InfluxDb) {
    let db = unique_name("ftrec").replace('-', "_");
    let client = InfluxDb::new(&InfluxDbConfig::v1(&influxdb_url(), &db), None).expect("client");
    client.create_database(&db).await.expect("create database");
    (db, client)
}

/// Every point of the measurement, by event_id: (time, tags and fields by column name).
async fn points(db: &InfluxDb) -> BTreeMap<String, BTreeMap<String, Value>> {
    let answer = db.query("SELECT * FROM file_moved").await.expect("query");
    let series = &answer["results"][0]["series"][0];
    let columns: Vec<String> = series["columns"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|c| c.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for row in series["values"].as_array().into_iter().flatten() {
        let row: BTreeMap<String, Value> = columns
            .iter()
            .cloned()
            .zip(row.as_array().expect("row").iter().cloned())
            .collect();
        let id = row["event_id"].as_str().expect("event_id").to_owned();
        assert!(out.insert(id, row).is_none(), "one point per event_id");
    }
    out
}

/// The 250-message batch of the emulator test, after an earlier batch of 5: every event, the
/// earlier messages, the batch.
fn batches() -> (Vec<FileMoved>, Messages, Messages) {
    let b = super::batch_of_250();
    let mut all = b.earlier;
    all.extend(b.new);
    (all, b.first, b.messages)
}

#[tokio::test]
async fn a_batch_of_250_becomes_200_distinct_points_and_a_redelivery_changes_nothing() {
    let (name, db) = fresh_database().await;
    let sdk = emulator().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dlq_url = pipeline::create_queue(&sqs, &unique_name("influx-dlq")).await;
    let sink = InfluxDbSink::new(
        InfluxDb::new(&InfluxDbConfig::v1(&influxdb_url(), &name), None).expect("client"),
    );
    let recorder = Recorder::new(
        sink,
        SqsDeadLetters::new(sqs.clone(), &dlq_url),
        Settings::default(),
    );
    let (events, first, messages) = batches();
    assert_eq!(messages.len(), 250);

    let (r, c) = handle(&recorder, &first).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(c.written, 5);

    let (response, counts) = handle(&recorder, &messages).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        failed_ids(&response)
    );
    assert_eq!(
        (
            counts.received,
            counts.written,
            counts.duplicate,
            counts.dead_lettered
        ),
        (250, 200, 45, 5)
    );

    let stored = points(&db).await;
    assert_eq!(stored.len(), 200, "200 distinct points");
    let want: BTreeSet<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(
        stored.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        want
    );
    for e in &events {
        let p = &stored[&e.event_id];
        let row = |k: &str| p.get(k).cloned().unwrap_or(Value::Null);
        assert_eq!(
            row("time"),
            json!(e.occurred_at.millis()),
            "time = occurred_at in ms"
        );
        assert_eq!(row("action_type"), "PUT");
        assert_eq!(row("source_bucket"), "hermes-incoming");
        assert_eq!(row("destination_bucket"), json!(e.destination_bucket));
        assert_eq!(row("file_key"), json!(e.file_key));
        assert_eq!(row("new_file_key"), json!(e.new_file_key));
        assert_eq!(row("stage"), "sdc.sorter");
        assert_eq!(
            row("timestamp").as_f64(),
            Some(e.occurred_at.millis() as f64 / 1000.0),
            "the seed measure: occurred_at in epoch seconds"
        );
        for absent in ["size", "etag", "version_id", "trace_id"] {
            assert_eq!(row(absent), Value::Null, "{absent} was not in the event");
        }
    }
    // The history query finds an event by its key.
    let rows = db.history(&events[42].file_key).await.expect("history");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].event_id, events[42].event_id);
    assert_eq!(rows[0].new_file_key, events[42].new_file_key);

    // The 5 malformed messages are in the dead-letter queue with their reasons.
    let letters = pipeline::drain(&sqs, &dlq_url, 5, Duration::from_secs(10)).await;
    assert_eq!(letters.len(), 5);
    for m in &letters {
        let a = m.message_attributes().expect("attributes");
        assert_eq!(a[attr::FILETRAIL_CLASS].string_value(), Some("invalid"));
    }

    // Redelivering the whole batch rewrites the same points: nothing changes.
    let (response, counts) = handle(&recorder, &messages).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((counts.written, counts.dead_lettered), (200, 5));
    assert_eq!(points(&db).await, stored, "a redelivery changes nothing");
}

/// One request the scripted transport received, its gzip body decompressed.
#[derive(Debug, Clone)]
struct Seen {
    uri: String,
    authorization: Option<String>,
    lines: Vec<String>,
}

type Responder = Box<dyn Fn(usize, &Seen) -> (u16, Option<&'static str>, String) + Send + Sync>;

/// InfluxDB's answers, scripted at the HTTP seam.
struct Scripted {
    respond: Responder,
    seen: Mutex<Vec<Seen>>,
}

impl Scripted {
    fn new(
        respond: impl Fn(usize, &Seen) -> (u16, Option<&'static str>, String) + Send + Sync + 'static,
    ) -> Self {
        Self {
            respond: Box::new(respond),
            seen: Mutex::new(Vec::new()),
        }
    }

    fn answers(list: Vec<(u16, Option<&'static str>, String)>) -> Self {
        let list = Mutex::new(VecDeque::from(list));
        Self::new(move |_, _| {
            list.lock()
                .expect("lock")
                .pop_front()
                .unwrap_or((204, None, String::new()))
        })
    }
}

impl Transport for Scripted {
    async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, String> {
        assert_eq!(request.headers()["content-encoding"], "gzip");
        let mut body = String::new();
        flate2::read::GzDecoder::new(&request.body()[..])
            .read_to_string(&mut body)
            .expect("a gzip body");
        let seen = Seen {
            uri: request.uri().to_string(),
            authorization: request
                .headers()
                .get("authorization")
                .map(|v| v.to_str().expect("ascii").to_owned()),
            lines: body.lines().map(str::to_owned).collect(),
        };
        let (status, retry_after, text) = {
            let mut all = self.seen.lock().expect("lock");
            all.push(seen.clone());
            (self.respond)(all.len() - 1, &seen)
        };
        let mut b = http::Response::builder().status(status);
        if let Some(r) = retry_after {
            b = b.header("retry-after", r);
        }
        Ok(b.body(Bytes::from(text)).expect("response"))
    }
}

fn v2() -> InfluxDbConfig {
    InfluxDbConfig {
        url: "https://influx.example:8086".into(),
        target: Target::V2 {
            org: "hermes".into(),
            bucket: "filetrail".into(),
        },
        token: TokenSource::None,
        measurement: filetrail_influxdb::line::DEFAULT_MEASUREMENT.into(),
    }
}

fn recorder(t: Scripted) -> Recorder<InfluxDbSink<Scripted>, MemoryDlq> {
    let db = InfluxDb::with_transport(&v2(), Some(Token::new("tok-v2")), t);
    let settings = super::quick_settings();
    Recorder::new(InfluxDbSink::new(db), MemoryDlq::default(), settings)
}

fn seen(r: &Recorder<InfluxDbSink<Scripted>, MemoryDlq>) -> Vec<Seen> {
    r.sink()
        .client()
        .transport()
        .seen
        .lock()
        .expect("lock")
        .clone()
}

fn line_of(r: &Recorder<InfluxDbSink<Scripted>, MemoryDlq>, e: &FileMoved) -> String {
    r.sink().client().point(e).expect("point")
}

#[tokio::test]
async fn the_v2_endpoint_gets_every_distinct_event_once() {
    let r = recorder(Scripted::answers(vec![]));
    let (events, mut messages) = batch(12);
    messages.push(("again".into(), envelope(&events[3])));
    let (response, counts) = handle(&r, &messages).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((counts.written, counts.duplicate), (12, 1));
    let seen = seen(&r);
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].uri,
        "https://influx.example:8086/api/v2/write?org=hermes&bucket=filetrail&precision=ms"
    );
    assert_eq!(seen[0].authorization.as_deref(), Some("Token tok-v2"));
    let want: Vec<String> = events.iter().map(|e| line_of(&r, e)).collect();
    assert_eq!(seen[0].lines, want);
}

#[tokio::test]
async fn a_429_waits_what_retry_after_says_then_writes() {
    let r = recorder(Scripted::answers(vec![(
        429,
        Some("1"),
        r#"{"code":"too many requests","message":"write limit"}"#.into(),
    )]));
    let (_, messages) = batch(4);
    let start = Instant::now();
    let (response, counts) = handle(&r, &messages).await;
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        start.elapsed()
    );
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((counts.written, counts.retried), (4, 4));
    let seen = seen(&r);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].lines, seen[1].lines, "the same points sent again");
}

#[tokio::test]
async fn a_retry_after_past_the_deadline_hands_everything_back_at_once() {
    let r = recorder(Scripted::answers(vec![(429, Some("3600"), "{}".into())]));
    let (_, messages) = batch(3);
    let (response, counts, took) = handle_within(&r, &messages, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(1), "did not sleep: {took:?}");
    assert_eq!(failed_ids(&response), ["m0", "m1", "m2"]);
    assert_eq!(counts.dead_lettered, 0);
    assert_eq!(seen(&r).len(), 1);
}

#[tokio::test]
async fn a_500_is_retried_until_written() {
    let err = r#"{"error":"engine: cache maximum memory size exceeded"}"#;
    let r = recorder(Scripted::answers(vec![
        (500, None, err.into()),
        (503, None, "unavailable".into()),
    ]));
    let (_, messages) = batch(5);
    let (response, counts) = handle(&r, &messages).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(counts.written, 5);
    assert_eq!(seen(&r).len(), 3);
}

#[tokio::test]
async fn a_partial_write_400_dead_letters_the_named_point_and_resends_the_others() {
    let (events, messages) = batch(5);
    let r = recorder(Scripted::new(|call, seen| {
        if call == 0 {
            let body = json!({"error": format!("partial write: unable to parse '{}': invalid number dropped=0", seen.lines[2])});
            (400, None, body.to_string())
        } else {
            (204, None, String::new())
        }
    }));
    let (response, counts) = handle(&r, &messages).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((counts.written, counts.dead_lettered), (4, 1));
    let letters = r.dead_letters().letters();
    assert_eq!(letters[0].message_id, "m2");
    assert_eq!(letters[0].class.as_str(), "rejected");
    assert_eq!(
        letters[0].reason,
        "InfluxDB refused the point (400): invalid number"
    );
    assert_eq!(
        letters[0].body, messages[2].1,
        "original body kept for replay"
    );
    let seen = seen(&r);
    assert_eq!(seen.len(), 2);
    let others: Vec<String> = [0, 1, 3, 4]
        .iter()
        .map(|&i| line_of(&r, &events[i]))
        .collect();
    assert_eq!(
        seen[1].lines, others,
        "only the points not named are sent again"
    );
}

#[tokio::test]
async fn an_influxdb_3_partial_write_names_lines_by_number() {
    let (_, messages) = batch(3);
    let r = recorder(Scripted::answers(vec![(
        400,
        None,
        json!({"error": "partial write of line protocol occurred", "data": [
            {"original_line": "…", "line_number": 1, "error_message": "invalid column type for column 'size'"}]})
        .to_string(),
    )]));
    let (_, counts) = handle(&r, &messages).await;
    assert_eq!((counts.written, counts.dead_lettered), (2, 1));
    assert_eq!(r.dead_letters().letters()[0].message_id, "m0");
}

#[tokio::test]
async fn a_refusal_naming_no_line_is_isolated_to_its_point() {
    let (events, messages) = batch(6);
    let culprit = events[4].event_id.clone();
    let r = recorder(Scripted::new(move |_, seen| {
        if seen.lines.iter().any(|l| l.contains(&culprit)) {
            let body = r#"{"error":"partial write: field type conflict: input field \"size\" on measurement \"file_moved\" is type integer, already exists as type float dropped=1"}"#;
            (400, None, body.into())
        } else {
            (204, None, String::new())
        }
    }));
    let (response, counts) = handle(&r, &messages).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((counts.written, counts.dead_lettered), (5, 1));
    let letters = r.dead_letters().letters();
    assert_eq!(letters[0].message_id, "m4");
    assert!(
        letters[0].reason.contains("field type conflict"),
        "{}",
        letters[0].reason
    );
    let seen = seen(&r);
    assert_eq!(seen.len(), 7, "one batch, then each point alone");
    assert!(seen[1..].iter().all(|s| s.lines.len() == 1));
}

#[tokio::test]
async fn a_401_hands_every_message_back_without_dead_lettering() {
    let r = recorder(Scripted::answers(vec![(
        401,
        None,
        r#"{"code":"unauthorized","message":"unauthorized access"}"#.into(),
    )]));
    let (_, messages) = batch(3);
    let (response, counts) = handle(&r, &messages).await;
    assert_eq!(failed_ids(&response), ["m0", "m1", "m2"]);
    assert_eq!((counts.dead_lettered, counts.failed), (0, 3));
    assert_eq!(seen(&r).len(), 1, "not retried within the invocation");
}

#[tokio::test]
async fn the_binary_writes_to_influxdb_when_filetrail_sink_says_so() {
    let (db_name, db) = fresh_database().await;
    let sdk = emulator().await;
    // The token comes from Secrets Manager, as in Lambda.
    let secret = aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(unique_name("influx-token"))
        .secret_string("tok-from-secret")
        .send()
        .await
        .expect("secret");
    let mut lambda = recorder_binary()
        .envs([
            (ENV_SINK, "influxdb".to_owned()),
            (ENV_URL, influxdb_url()),
            (ENV_DATABASE, db_name.clone()),
            (ENV_TOKEN_SECRET_ARN, secret.arn().expect("arn").to_owned()),
        ])
        .start()
        .await
        .expect("spawn the recorder binary");
    let (events, _) = batch(2);
    let body = filetrail_testkit::sqs::event([
        ("m-good", envelope(&events[0])),
        ("m-good-2", envelope(&events[1])),
        ("m-bad", "Test message.".to_owned()),
    ]);
    let answer = lambda
        .invoke(&body.to_string(), Duration::from_secs(20))
        .await
        .expect("the function answered");
    let response: Value = serde_json::from_str(&answer.body).expect("json");
    // No dead-letter queue configured: the malformed message goes back to SQS's redrive.
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "m-bad"}]})
    );
    lambda.stop().await;
    let stored = points(&db).await;
    assert_eq!(
        stored.keys().cloned().collect::<BTreeSet<_>>(),
        events.iter().map(|e| e.event_id.clone()).collect()
    );

    // A bad value stops start-up with a message naming the variable.
    let lambda = recorder_binary()
        .envs([(ENV_SINK, "influxdb"), (ENV_DATABASE, "x")])
        .start()
        .await
        .expect("spawn the recorder binary");
    let (status, out) = lambda.exit(Duration::from_secs(20)).await;
    let status = status.expect("exits");
    assert!(!status.success());
    let output = format!("{}{}", out.stdout, out.stderr);
    assert!(
        output.contains(&format!("{ENV_URL}: must be set")),
        "{output}"
    );
}
