//! The retry/partition logic against a scripted client: property tests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use filetrail_publisher::limits::{MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES};
use filetrail_publisher::{
    CallError, Entry, EntryOutcome, PublishError, PublishReport, Publisher, PutEvents, pack_batches,
};
use proptest::prelude::*;

/// What one entry answers on each attempt; past the end of its script it answers the last step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Ok,
    Throttle,
    Internal,
    Invalid,
}

struct Scripted {
    scripts: HashMap<String, Vec<Step>>,
    attempts: Mutex<HashMap<String, usize>>,
    calls: Mutex<Vec<Vec<String>>>,
}

impl PutEvents for Scripted {
    async fn put_events(&self, entries: &[Entry]) -> Result<Vec<EntryOutcome>, CallError> {
        assert!(entries.len() <= MAX_ENTRIES_PER_CALL);
        assert!(entries.iter().map(Entry::size).sum::<usize>() <= MAX_REQUEST_BYTES);
        self.calls
            .lock()
            .expect("lock")
            .push(entries.iter().map(|e| e.event_id.clone()).collect());
        let mut attempts = self.attempts.lock().expect("lock");
        Ok(entries
            .iter()
            .map(|e| {
                let n = attempts.entry(e.event_id.clone()).or_default();
                let script = &self.scripts[&e.event_id];
                let step = script[(*n).min(script.len() - 1)];
                *n += 1;
                match step {
                    Step::Ok => EntryOutcome::Delivered {
                        envelope_id: format!("env-{}", e.event_id),
                    },
                    Step::Throttle => fail("ThrottlingException"),
                    Step::Internal => fail("InternalFailure"),
                    Step::Invalid => fail("InvalidArgument"),
                }
            })
            .collect())
    }
}

fn fail(code: &str) -> EntryOutcome {
    EntryOutcome::Failed {
        code: code.into(),
        message: format!("{code} for this entry"),
    }
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![4 => Just(Step::Ok), 2 => Just(Step::Throttle), 1 => Just(Step::Internal), 1 => Just(Step::Invalid)]
}

fn run(
    scripts: Vec<Vec<Step>>,
) -> (
    Result<PublishReport, PublishError>,
    Publisher<Scripted>,
    Vec<String>,
) {
    let events = super::events(scripts.len());
    let ids: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
    let client = Scripted {
        scripts: ids.iter().cloned().zip(scripts).collect(),
        attempts: Mutex::default(),
        calls: Mutex::default(),
    };
    let publisher = Publisher::new(client, super::config("bus"))
        .with_backoff(super::fast_backoff())
        .with_deadline(Duration::from_millis(40));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let result = rt.block_on(publisher.publish(&events));
    (result, publisher, ids)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every entry ends as exactly one of delivered / reported failed, and nothing is sent
    /// again once it was delivered or failed for good.
    #[test]
    fn every_entry_ends_delivered_or_reported(scripts in prop::collection::vec(prop::collection::vec(step(), 1..4), 1..40)) {
        let (result, publisher, ids) = run(scripts.clone());
        let client = publisher.client();
        let failed: Vec<String> = match &result {
            Ok(_) => vec![],
            Err(PublishError::Failed { failures, .. }) => failures.iter().map(|f| f.event_id.clone()).collect(),
        };
        let report = match &result { Ok(r) => *r, Err(PublishError::Failed { report, .. }) => *report };
        prop_assert_eq!(report.delivered + failed.len(), ids.len());

        let calls = client.calls.lock().expect("lock").clone();
        prop_assert_eq!(report.calls, calls.len());
        let attempts = client.attempts.lock().expect("lock").clone();
        for (id, script) in ids.iter().zip(&scripts) {
            // The first final answer in its script decides the entry; it is sent exactly up to it.
            let final_at = script.iter().position(|s| matches!(s, Step::Ok | Step::Invalid));
            let sent = attempts.get(id).copied().unwrap_or(0);
            match final_at {
                Some(k) => {
                    prop_assert_eq!(sent, k + 1, "sent until its final answer, never after");
                    let delivered = script[k] == Step::Ok;
                    prop_assert_eq!(failed.contains(id), !delivered);
                }
                None => {
                    // Retryable forever: it ends failed at the deadline, with the last code.
                    prop_assert!(failed.contains(id));
                    prop_assert!(sent >= 1);
                }
            }
        }
        // Each failure carries a code.
        if let Err(PublishError::Failed { failures, .. }) = &result {
            for f in failures {
                prop_assert!(["ThrottlingException", "InternalFailure", "InvalidArgument"].contains(&f.code.as_str()));
            }
        }
    }

    /// Batches never exceed the entry or byte limit, keep order, and cover every entry once.
    #[test]
    fn batches_respect_limits(sizes in prop::collection::vec(1usize..120_000, 0..60)) {
        let idx: Vec<usize> = (0..sizes.len()).collect();
        let batches = pack_batches(&idx, |i| sizes[i]);
        let flat: Vec<usize> = batches.iter().flatten().copied().collect();
        prop_assert_eq!(flat, idx);
        for b in &batches {
            prop_assert!(!b.is_empty() && b.len() <= MAX_ENTRIES_PER_CALL);
            prop_assert!(b.iter().map(|&i| sizes[i]).sum::<usize>() <= MAX_REQUEST_BYTES);
        }
    }
}

#[test]
fn twenty_five_small_entries_take_three_calls() {
    let idx: Vec<usize> = (0..25).collect();
    let batches = pack_batches(&idx, |_| 600);
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![10, 10, 5]
    );
}

#[test]
fn invalid_and_oversized_events_never_reach_eventbridge() {
    let mut events = super::events(3);
    events[1].file_key = String::new();
    let client = Scripted {
        scripts: events
            .iter()
            .map(|e| (e.event_id.clone(), vec![Step::Ok]))
            .collect(),
        attempts: Mutex::default(),
        calls: Mutex::default(),
    };
    let publisher = Publisher::new(client, super::config("bus"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let err = rt
        .block_on(publisher.publish(&events))
        .expect_err("one is invalid");
    let PublishError::Failed { failures, report } = err;
    assert_eq!(report.delivered, 2, "its neighbours are still published");
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].code, "InvalidEvent");
    assert!(
        failures[0]
            .message
            .starts_with("file_key: must not be empty"),
        "{}",
        failures[0].message
    );
    let sent: Vec<String> = publisher.client().calls.lock().expect("lock").concat();
    assert!(!sent.contains(&events[1].event_id));
}
