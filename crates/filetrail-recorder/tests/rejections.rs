//! Rejection texts, as seen in public reports, classified once.

use filetrail_recorder::{Outcome, Rejection, classify_rejection};

fn classify(reason: &str, existing_version: Option<i64>) -> Outcome {
    classify_rejection(&Rejection {
        index: 0,
        reason: reason.into(),
        existing_version,
    })
}

/// AWS rejects a record for its identity only when the stored values differ (an identical
/// re-write is a success), and the identity contains `event_id`: a conflict, never "written".
#[test]
fn existing_versions_are_conflicts_never_written() {
    let lower = "The record version 2 is lower than the existing version 200. A higher version is required to update the measure value.";
    match classify(lower, Some(200)) {
        Outcome::Conflict(reason) => assert!(
            reason.contains(lower) && reason.contains("stored version 200"),
            "{reason}"
        ),
        other => panic!("expected Conflict, got {other:?}"),
    }
    let exists = "A record already exists with the same time, dimensions, measure name, and record version. A higher record version must be specified in order to update the measure value.";
    match classify(exists, None) {
        Outcome::Conflict(reason) => assert!(
            reason.contains(exists) && reason.contains("conflict"),
            "{reason}"
        ),
        other => panic!("expected Conflict, got {other:?}"),
    }
}

/// Time-range rejections can follow a retention change for a while: retried in the invocation
/// first, with the raw reason kept.
#[test]
fn time_window_refusals_are_transient_with_the_raw_reason() {
    let raw = "The record timestamp is outside the time range [2024-04-30T12:00:00.000Z, 2024-05-01T12:15:00.000Z) of the memory store.";
    match classify(raw, None) {
        Outcome::Retry(filetrail_recorder::Retry {
            reason,
            exhausted: filetrail_recorder::Exhausted::DeadLetter,
            ..
        }) => assert!(
            reason.contains(raw)
                && reason.contains("time range")
                && reason.contains("retried first"),
            "{reason}"
        ),
        other => panic!("expected Transient, got {other:?}"),
    }
}

/// Past the magnetic store's retention, or more than 15 minutes ahead, a record never passes.
#[test]
fn records_outside_the_magnetic_window_or_in_the_future_are_dead_lettered_at_once() {
    for raw in [
        "Record is older than the magnetic store retention period.",
        "The record timestamp is too far in the future.",
    ] {
        match classify(raw, None) {
            Outcome::Reject(reason) => assert!(reason.contains(raw), "{reason}"),
            other => panic!("expected Reject for {raw:?}, got {other:?}"),
        }
    }
}

#[test]
fn invalid_records_are_dead_lettered() {
    assert!(matches!(
        classify("Measure value is not a valid double.", None),
        Outcome::Reject(_)
    ));
    assert!(matches!(
        classify(
            "Dimension value exceeds the maximum size of 2048 bytes.",
            None
        ),
        Outcome::Reject(_)
    ));
}

#[test]
fn unknown_reasons_are_retried() {
    assert!(matches!(
        classify("Something unexpected happened.", None),
        Outcome::Retry(_)
    ));
}
