//! Against the emulator: a real SQS dead-letter queue and a real (emulated) Timestream table.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use filetrail_contract::attr;
use filetrail_recorder::{
    Layout, Recorder, Settings, SqsDeadLetters, TimestreamSink, TimestreamWriter, timestream_client,
};
use filetrail_testkit::{emulator, moto, pipeline, unique_name};
use serde_json::Value;

use super::handle;

/// A fresh database and table on the emulator.
pub async fn table(sdk: &aws_config::SdkConfig) -> (String, String) {
    let db = unique_name("ftdb");
    let table = pipeline::TABLE.to_owned();
    pipeline::timestream_table(sdk, &db, &table)
        .await
        .expect("database and table");
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

    // An earlier invocation recorded 5 events; then the batch of 250.
    let super::Batch250 {
        first,
        new,
        messages,
        malformed,
        ..
    } = super::batch_of_250();
    let (r, c) = handle(&recorder, &first).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(c.written, 5);

    assert_eq!(messages.len(), 250);

    let (response, counts) = handle(&recorder, &messages).await;
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
        assert_eq!(
            m.body(),
            Some(original.1.as_str()),
            "original body kept for replay"
        );
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
