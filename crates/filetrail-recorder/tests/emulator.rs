//! Against the emulator: a real SQS dead-letter queue and a real (emulated) Timestream table.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use filetrail_contract::attr;
use filetrail_recorder::{
    Layout, Recorder, Settings, SqsDeadLetters, TimestreamSink, TimestreamWriter, timestream_client,
};
use filetrail_testkit::{emulator, moto, pipeline, unique_name};
use serde_json::Value;

use super::{envelope, later, sqs_event};

/// A fresh database and table on the emulator.
pub async fn table(sdk: &aws_config::SdkConfig) -> (String, String) {
    let ts = aws_sdk_timestreamwrite::Client::new(sdk);
    let db = unique_name("ftdb");
    let table = "sdc_aws_s3_bucket_log_table".to_owned();
    ts.create_database()
        .database_name(&db)
        .send()
        .await
        .expect("create database");
    ts.create_table()
        .database_name(&db)
        .table_name(&table)
        .send()
        .await
        .expect("create table");
    (db, table)
}

fn identity(r: &Value) -> String {
    // A record's identity in Timestream: dimensions + time (+ the measure name, common here).
    format!("{}|{}", r["Dimensions"], r["Time"])
}

#[tokio::test]
async fn a_batch_of_250_becomes_200_distinct_records_and_5_dead_letters() {
    let sdk = emulator().await;
    let (db, table) = table(&sdk).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dlq_url = pipeline::create_queue(&sqs, &unique_name("recorder-dlq")).await;
    let sink = TimestreamSink::new(
        TimestreamWriter::new(timestream_client(&sdk).await.expect("client"), &db, &table),
        Layout::Seed,
    );
    let recorder = Recorder::new(
        sink,
        SqsDeadLetters::new(sqs.clone(), &dlq_url),
        Settings::default(),
    );

    // An earlier invocation recorded 5 events.
    let earlier: Vec<_> = (1000..1005).map(super::event).collect();
    let first: Vec<(String, String)> = earlier
        .iter()
        .enumerate()
        .map(|(i, e)| (format!("early{i}"), envelope(e)))
        .collect();
    let (r, c) = recorder
        .handle(&sqs_event(&first), later())
        .await
        .expect("decided");
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(c.written, 5);

    // The batch: 195 new events, 50 redeliveries (25 of events in this batch, 25 of the earlier
    // ones), 5 malformed messages: 250 messages.
    let new: Vec<_> = (0..195).map(super::event).collect();
    let mut messages: Vec<(String, String)> = new
        .iter()
        .enumerate()
        .map(|(i, e)| (format!("new{i}"), envelope(e)))
        .collect();
    for k in 0..25 {
        messages.push((format!("again{k}"), envelope(&new[k * 7])));
        messages.push((format!("late{k}"), envelope(&earlier[k % 5])));
    }
    let mut bad_key = new[0].clone();
    bad_key.file_key = String::new();
    let mut copy = serde_json::to_value(&new[1]).expect("json");
    copy["action_type"] = "COPY".into();
    let mut old = serde_json::to_value(&new[2]).expect("json");
    old["occurred_at"] = "1969-07-20T20:17:40.000Z".into();
    let malformed = [
        ("bad-json", "{\"detail-type\": \"FileMoved\", \"detail\": "),
        ("bad-key", &envelope(&bad_key)),
        ("bad-action", &copy.to_string()),
        ("bad-time", &old.to_string()),
        ("bad-shape", "{\"Records\": []}"),
    ];
    for (i, (id, body)) in malformed.iter().enumerate() {
        messages.insert(i * 50, ((*id).to_owned(), (*body).to_owned()));
    }
    assert_eq!(messages.len(), 250);

    let (response, counts) = recorder
        .handle(&sqs_event(&messages), later())
        .await
        .expect("decided");
    assert!(
        response.batch_item_failures.is_empty(),
        "nothing must be retried: {:?}",
        super::failed_ids(&response)
    );
    assert_eq!(counts.received, 250);
    assert_eq!(
        counts.written, 200,
        "195 new + the 5 earlier events' records, re-sent once each"
    );
    assert_eq!(counts.duplicate, 45, "the other redeliveries");
    assert_eq!(counts.dead_lettered, 5);

    // What reached the table: 205 records sent (5 + 195 + 5 re-sent), 200 distinct identities.
    let records = moto::timestream_records(&db, &table);
    assert_eq!(
        records.len(),
        205,
        "in-batch redeliveries are not sent twice"
    );
    let distinct: HashSet<String> = records.iter().map(identity).collect();
    assert_eq!(distinct.len(), 200);

    // The seed layout's exact names and values, for one event.
    let e = &new[42];
    let stored = records
        .iter()
        .find(|r| {
            r["Dimensions"]
                .as_array()
                .is_some_and(|d| d.iter().any(|d| d["Value"] == e.event_id.as_str()))
        })
        .expect("event 42 stored");
    let dims: BTreeMap<String, String> = stored["Dimensions"]
        .as_array()
        .expect("dims")
        .iter()
        .map(|d| {
            (
                d["Name"].as_str().expect("n").to_owned(),
                d["Value"].as_str().expect("v").to_owned(),
            )
        })
        .collect();
    let want: BTreeMap<String, String> = [
        ("action_type", "PUT".to_owned()),
        ("source_bucket", "hermes-incoming".to_owned()),
        (
            "destination_bucket",
            e.destination_bucket.clone().expect("bucket"),
        ),
        ("file_key", e.file_key.clone()),
        ("new_file_key", e.new_file_key.clone().expect("key")),
        ("event_id", e.event_id.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(dims, want);
    assert_eq!(stored["Time"], e.occurred_at.millis().to_string());
    assert_eq!(
        stored["MeasureValue"],
        filetrail_recorder::epoch_seconds(e.occurred_at.millis())
    );

    // The dead-letter queue holds the 5 malformed messages, each with a reason naming its field.
    let letters = pipeline::drain(&sqs, &dlq_url, 5, Duration::from_secs(10)).await;
    assert_eq!(letters.len(), 5);
    let mut reasons: BTreeMap<String, String> = BTreeMap::new();
    for m in &letters {
        let a = m.message_attributes().expect("attributes");
        let get = |k: &str| {
            a.get(k)
                .and_then(|v| v.string_value())
                .expect("attribute")
                .to_owned()
        };
        assert_eq!(get(attr::FILETRAIL_CLASS), "invalid");
        let original = malformed
            .iter()
            .find(|(id, _)| *id == get(attr::FILETRAIL_MESSAGE_ID))
            .expect("known id");
        assert_eq!(m.body(), Some(original.1), "original body kept for replay");
        reasons.insert(get(attr::FILETRAIL_MESSAGE_ID), get(attr::FILETRAIL_REASON));
    }
    assert!(
        reasons["bad-json"].starts_with("body: not JSON"),
        "{reasons:?}"
    );
    assert!(
        reasons["bad-key"].starts_with("detail.file_key:"),
        "{reasons:?}"
    );
    assert!(
        reasons["bad-action"].starts_with("action_type:"),
        "{reasons:?}"
    );
    assert!(
        reasons["bad-time"].starts_with("occurred_at:"),
        "{reasons:?}"
    );
    assert!(
        reasons["bad-shape"].starts_with("body: neither"),
        "{reasons:?}"
    );
}
