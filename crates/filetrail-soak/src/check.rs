//! The end-of-run check: what reached the table, and what waits in the DLQ.
//!
//! A Timestream record's identity is its dimensions, time and measure name: two writes with the
//! same identity are one record (the emulator appends both; Timestream keeps one). So:
//!
//! - **lost**: a valid event whose record identity (as the recorder's layout builds it) is not
//!   among the stored identities;
//! - **doubled**: a stored identity that is not exactly one valid event's record (a second
//!   record for an event, a record of a poison message, a record with a changed field).
//!
//! Every poison message must wait in the DLQ with the recorder's reason, and no valid event
//! may be left there once replay has run.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_timestreamwrite::types::Record;
use filetrail_cli::sqs::{self, DeadLetterMessage, EMPTY_RECEIVES_TO_STOP};
use filetrail_contract::{Delivery, FileMoved, OccurredAt};
use filetrail_recorder::Layout;
use filetrail_testkit::pipeline;
use serde::Serialize;
use serde_json::Value;

use crate::SoakError;

/// How many example ids a failed check lists.
const EXAMPLES: usize = 10;

fn identity(dims: &mut [(String, String)], time: &str, measure: &str) -> String {
    dims.sort();
    let dims: Vec<String> = dims.iter().map(|(n, v)| format!("{n}={v}")).collect();
    format!("{}|{time}|{measure}", dims.join("\u{1f}"))
}

fn common_measure(layout: Layout) -> String {
    layout
        .common_attributes()
        .measure_name()
        .unwrap_or_default()
        .to_owned()
}

/// The identity of a record as the emulator stored it (`CommonAttributes` dropped, so the
/// measure name comes from the layout when the record has none).
pub fn stored_identity(record: &Value, layout: Layout) -> String {
    let mut dims: Vec<(String, String)> = record["Dimensions"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|d| {
                    (
                        d["Name"].as_str().unwrap_or_default().to_owned(),
                        d["Value"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let measure = record["MeasureName"]
        .as_str()
        .map_or_else(|| common_measure(layout), str::to_owned);
    identity(
        &mut dims,
        record["Time"].as_str().unwrap_or_default(),
        &measure,
    )
}

/// The identity of the record the layout builds for an event.
pub fn record_identity(record: &Record, layout: Layout) -> String {
    let mut dims: Vec<(String, String)> = record
        .dimensions()
        .iter()
        .map(|d| (d.name().to_owned(), d.value().to_owned()))
        .collect();
    let measure = record
        .measure_name()
        .map_or_else(|| common_measure(layout), str::to_owned);
    identity(&mut dims, record.time().unwrap_or_default(), &measure)
}

/// What reached the table, against the valid events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableCheck {
    /// Records the emulator stored, re-writes included.
    pub stored_records: usize,
    /// Distinct record identities stored.
    pub distinct_records: usize,
    /// Valid events (each must have exactly one identity).
    pub expected: usize,
    /// Valid events without their record.
    pub lost: usize,
    /// Stored identities that are not exactly one valid event's record.
    pub doubled: usize,
    /// Some lost `event_id`s.
    pub lost_examples: Vec<String>,
    /// Some doubled identities.
    pub doubled_examples: Vec<String>,
}

/// Compare the stored records with the records of `events` in `layout`.
pub fn table(events: &[FileMoved], stored: &[Value], layout: Layout) -> TableCheck {
    let stored_ids: BTreeSet<String> = stored.iter().map(|r| stored_identity(r, layout)).collect();
    let mut expected: HashMap<String, &str> = HashMap::with_capacity(events.len());
    for e in events {
        match layout.record(e) {
            Ok(r) => {
                expected.insert(record_identity(&r, layout), &e.event_id);
            }
            Err(why) => {
                // A valid event whose record breaks a limit is not soak traffic.
                tracing::error!(event_id = %e.event_id, why = %why, "soak event has no record");
            }
        }
    }
    let lost: Vec<String> = expected
        .iter()
        .filter(|(id, _)| !stored_ids.contains(*id))
        .map(|(_, e)| (*e).to_owned())
        .collect();
    let doubled: Vec<String> = stored_ids
        .iter()
        .filter(|id| !expected.contains_key(*id))
        .cloned()
        .collect();
    TableCheck {
        stored_records: stored.len(),
        distinct_records: stored_ids.len(),
        expected: events.len(),
        lost: lost.len() + (events.len() - expected.len()),
        doubled: doubled.len(),
        lost_examples: lost.into_iter().take(EXAMPLES).collect(),
        doubled_examples: doubled.into_iter().take(EXAMPLES).collect(),
    }
}

/// What waits in the DLQ, against the poison messages sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DlqCheck {
    /// Messages in the DLQ (copies of one poison message included).
    pub messages: usize,
    /// Messages by why they are there (`recorder: invalid`, `redrive: ...`).
    pub by_reason: BTreeMap<String, usize>,
    /// Poison messages sent.
    pub poison_sent: usize,
    /// Poison messages found, each at least once, with the recorder's reason.
    pub poison_with_reason: usize,
    /// Poison messages found only without the recorder's reason (moved by the redrive policy).
    pub poison_without_reason: usize,
    /// Poison messages not in the DLQ at all.
    pub poison_missing: usize,
    /// Valid events still in the DLQ (replay should have taken them all).
    pub valid_left: usize,
    /// Some reasons given to poison messages.
    pub reason_examples: Vec<String>,
}

fn group(d: &Delivery) -> String {
    match d {
        Delivery::RecorderDeadLetter { class, .. } => {
            format!("recorder: {}", class.as_deref().unwrap_or("unclassified"))
        }
        other => other.reason(),
    }
}

/// Longest the check waits for DLQ messages another reader holds (e.g. a replay whose release
/// failed) to become visible again.
pub const IN_FLIGHT_WAIT: Duration = Duration::from_secs(60);

/// Read the whole DLQ (every message is released again) and check it against `poison`.
/// Messages another reader still holds are waited for first, so every message is seen.
pub async fn dlq(
    sqs_client: &aws_sdk_sqs::Client,
    url: &str,
    poison: &[String],
) -> Result<DlqCheck, SoakError> {
    // After the wait the read goes on either way: what is still held is not counted.
    pipeline::none_in_flight(sqs_client, url, IN_FLIGHT_WAIT).await?;
    let now = OccurredAt::now();
    let mut check = DlqCheck {
        poison_sent: poison.len(),
        ..DlqCheck::default()
    };
    let mut reasons: HashMap<&str, Option<String>> = HashMap::new();
    let wanted: BTreeSet<&str> = poison.iter().map(String::as_str).collect();
    let mut handles = Vec::new();
    let mut empty = 0;
    while empty < EMPTY_RECEIVES_TO_STOP {
        let messages = sqs::receive(sqs_client, url, 60)
            .await
            .map_err(|c| SoakError::emulator("receive from the DLQ", c.message))?;
        if messages.is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        for m in &messages {
            let d = DeadLetterMessage::from_message(m, now);
            check.messages += 1;
            *check.by_reason.entry(group(&d.delivery)).or_default() += 1;
            if d.parsed.is_ok() {
                check.valid_left += 1;
            }
            if let Some(body) = wanted.get(d.body.as_str()) {
                let slot = reasons.entry(body).or_default();
                if let Delivery::RecorderDeadLetter { reason, .. } = &d.delivery
                    && !reason.is_empty()
                {
                    *slot = Some(reason.clone());
                }
            }
            handles.push(d.receipt_handle);
        }
    }
    sqs::release(sqs_client, url, &handles).await;
    for p in &wanted {
        match reasons.get(p) {
            Some(Some(reason)) => {
                check.poison_with_reason += 1;
                if check.reason_examples.len() < EXAMPLES {
                    check.reason_examples.push(reason.clone());
                }
            }
            Some(None) => check.poison_without_reason += 1,
            None => check.poison_missing += 1,
        }
    }
    Ok(check)
}
