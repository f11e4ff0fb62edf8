//! The recorder measures how far the trail lags: `written − occurred_at` of what it stored and
//! the age of the oldest message of the batch (its `SentTimestamp`).

use std::time::Instant;

use filetrail_contract::{FileMoved, OccurredAt};
use filetrail_recorder::lag::{FIRST_RECEIVE_TIMESTAMP, SENT_TIMESTAMP};
use filetrail_recorder::{Outcome, Recorder, Settings, Sink};

use super::{MemoryDlq, envelope, event, later, sqs_event};

/// Stores every record, except those whose key says `REFUSED`.
struct Store;

impl Sink for Store {
    type Record = String;
    fn name(&self) -> &'static str {
        "store"
    }
    fn max_batch(&self) -> usize {
        100
    }
    fn prepare(&self, event: &FileMoved) -> Result<String, String> {
        Ok(event.file_key.clone())
    }
    async fn write(&self, records: Vec<String>) -> Vec<Outcome> {
        records
            .iter()
            .map(|k| match k.contains("REFUSED") {
                true => Outcome::Reject("refused".into()),
                false => Outcome::Written,
            })
            .collect()
    }
}

fn recorder() -> Recorder<Store, MemoryDlq> {
    Recorder::new(Store, MemoryDlq::default(), Settings::default())
}

#[tokio::test]
async fn lag_is_measured_from_the_events_stored_and_the_oldest_message() {
    let now = OccurredAt::now().millis();
    let since_now = Instant::now();
    // Moves 10 minutes, 5 minutes and 1 minute ago; the last one is refused by the store.
    let ages_ms = [600_000, 300_000, 60_000];
    let mut events: Vec<FileMoved> = ages_ms
        .iter()
        .enumerate()
        .map(|(i, age)| {
            let mut e = event(i);
            e.occurred_at = OccurredAt::from_millis(now - age);
            e
        })
        .collect();
    events[0].file_key = "hermes_eea_l0_2024001-000000_v01_REFUSED.bin".into();
    for e in &mut events {
        e.event_id = e.to_move().event_id();
    }
    let messages: Vec<(String, String)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| (format!("m{i}"), envelope(e)))
        .collect();
    let mut batch = sqs_event(&messages);
    // Sent 2 minutes ago, 30 seconds ago, and one with only the first-receive time (90 s ago):
    // the kit's records carry both attributes (at now), so the last one loses its
    // SentTimestamp.
    for (m, (attribute, age_ms)) in batch.records.iter_mut().zip([
        (SENT_TIMESTAMP, 120_000),
        (SENT_TIMESTAMP, 30_000),
        (FIRST_RECEIVE_TIMESTAMP, 90_000),
    ]) {
        m.attributes
            .insert(attribute.into(), (now - age_ms).to_string());
    }
    assert!(batch.records[2].attributes.remove(SENT_TIMESTAMP).is_some());
    let started = Instant::now();
    let (_, counts) = recorder().handle(&batch, later()).await.expect("handled");
    let slack = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX) + 5;
    assert_eq!((counts.written, counts.dead_lettered), (2, 1));
    let within = |measured: Option<u64>, expected: i64| {
        let m = i64::try_from(measured.expect("measured")).expect("ms");
        assert!(
            (expected..=expected + slack).contains(&m),
            "{m} ms, expected {expected} ms (+{slack})"
        );
    };
    // Stored: the 5-minute and the 1-minute move; the refused 10-minute one does not count.
    within(counts.lag.max_ms, 300_000);
    within(counts.lag.p50_ms, 60_000);
    within(counts.lag.oldest_message_age_ms, 120_000);

    // The first-receive-only message alone: its age is the fallback's, 90 s.
    batch.records.drain(..2);
    let (_, counts) = recorder().handle(&batch, later()).await.expect("handled");
    let slack = i64::try_from(since_now.elapsed().as_millis()).unwrap_or(i64::MAX) + 5;
    let age = i64::try_from(counts.lag.oldest_message_age_ms.expect("measured")).expect("ms");
    assert!(
        (90_000..=90_000 + slack).contains(&age),
        "{age} ms, expected 90000 ms from ApproximateFirstReceiveTimestamp (+{slack})"
    );
}

#[tokio::test]
async fn nothing_stored_means_no_lag_rather_than_zero() {
    let mut e = event(7);
    e.file_key = "hermes_eea_l0_2024001-000007_v01_REFUSED.bin".into();
    e.event_id = e.to_move().event_id();
    let mut batch = sqs_event(&[("m0".into(), envelope(&e))]);
    for attribute in [SENT_TIMESTAMP, FIRST_RECEIVE_TIMESTAMP] {
        assert!(batch.records[0].attributes.remove(attribute).is_some());
    }
    let (_, counts) = recorder().handle(&batch, later()).await.expect("handled");
    assert_eq!(counts.dead_lettered, 1);
    assert_eq!((counts.lag.max_ms, counts.lag.p50_ms), (None, None));
    assert_eq!(
        counts.lag.oldest_message_age_ms, None,
        "the message carries no timestamp"
    );
}
