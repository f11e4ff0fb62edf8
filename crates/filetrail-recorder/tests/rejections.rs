//! Rejection texts, as seen in public reports, classified once.

use filetrail_recorder::{Rejection, WriteOutcome, classify_rejection};

fn classify(reason: &str, existing_version: Option<i64>) -> WriteOutcome {
    classify_rejection(&Rejection {
        index: 0,
        reason: reason.into(),
        existing_version,
    })
}

#[test]
fn existing_records_are_duplicates() {
    assert_eq!(
        classify(
            "The record version 2 is lower than the existing version 200. A higher version is required to update the measure value.",
            Some(200)
        ),
        WriteOutcome::Duplicate
    );
    assert_eq!(
        classify(
            "A record already exists with the same time, dimensions, measure name, and record version. A higher record version must be specified in order to update the measure value.",
            None
        ),
        WriteOutcome::Duplicate
    );
}

#[test]
fn time_window_refusals_are_dead_lettered_with_the_raw_reason() {
    let raw = "The record timestamp is outside the time range [2024-04-30T12:00:00.000Z, 2024-05-01T12:15:00.000Z) of the memory store.";
    match classify(raw, None) {
        WriteOutcome::Reject(reason) => assert!(
            reason.contains(raw) && reason.contains("time window"),
            "{reason}"
        ),
        other => panic!("expected Reject, got {other:?}"),
    }
    assert!(matches!(
        classify(
            "Record is older than the magnetic store retention period.",
            None
        ),
        WriteOutcome::Reject(_)
    ));
}

#[test]
fn invalid_records_are_dead_lettered() {
    assert!(matches!(
        classify("Measure value is not a valid double.", None),
        WriteOutcome::Reject(_)
    ));
    assert!(matches!(
        classify(
            "Dimension value exceeds the maximum size of 2048 bytes.",
            None
        ),
        WriteOutcome::Reject(_)
    ));
}

#[test]
fn unknown_reasons_are_retried() {
    assert!(matches!(
        classify("Something unexpected happened.", None),
        WriteOutcome::Retry(_)
    ));
}
