//! The handler's decisions against a scripted sink and dead-letter queue.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use filetrail_aws::BackoffSettings;
use filetrail_contract::FileMoved;
use filetrail_recorder::{Counts, DeadLetter, HandlerError, Outcome, Recorder, Settings, Sink};
use proptest::prelude::*;

use super::{MemoryDlq, batch, envelope, failed_ids, handle, handle_within, later, sqs_event};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Ok,
    Conflict,
    Retry,
    Transient,
    Reject,
}

/// A sink whose answer per event follows a script (the last step repeats).
#[derive(Default)]
struct ScriptedSink {
    scripts: HashMap<String, Vec<Step>>,
    attempts: Mutex<HashMap<String, usize>>,
    calls: Mutex<Vec<Vec<String>>>,
    /// Whole calls containing this event id are refused without saying which record (as a
    /// Timestream ValidationException is).
    poison: Option<String>,
    /// Every call's every record ends so (as a store's configuration error does).
    call_error: Option<Outcome>,
}

impl Sink for ScriptedSink {
    type Record = String;
    fn name(&self) -> &'static str {
        "scripted"
    }
    fn max_batch(&self) -> usize {
        7
    }
    fn prepare(&self, event: &FileMoved) -> Result<String, String> {
        if event.file_key.contains("TOO-BIG") {
            return Err("record is 4096 bytes; the limit is 2048".into());
        }
        Ok(event.event_id.clone())
    }
    async fn write(&self, records: Vec<String>) -> Vec<Outcome> {
        assert!(records.len() <= 7);
        self.calls.lock().expect("lock").push(records.clone());
        if let Some(o) = &self.call_error {
            return vec![o.clone(); records.len()];
        }
        if self.poison.as_ref().is_some_and(|p| records.contains(p)) {
            return vec![Outcome::Isolate("ValidationException: bad record".into()); records.len()];
        }
        let mut attempts = self.attempts.lock().expect("lock");
        records
            .iter()
            .map(|id| {
                let n = attempts.entry(id.clone()).or_default();
                let script = self
                    .scripts
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| vec![Step::Ok]);
                let step = script[(*n).min(script.len() - 1)];
                *n += 1;
                match step {
                    Step::Ok => Outcome::Written,
                    Step::Conflict => Outcome::Conflict("another event holds this id".into()),
                    Step::Retry => Outcome::retry("throttled"),
                    Step::Transient => Outcome::transient("outside the time range"),
                    Step::Reject => Outcome::Reject("outside the time window".into()),
                }
            })
            .collect()
    }
}

fn settings() -> Settings {
    Settings {
        concurrency: 3,
        backoff: BackoffSettings {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(3),
            factor: 2.0,
        },
        max_attempts: 5,
        ..Settings::default()
    }
}

fn assert_balanced(c: &Counts) {
    assert_eq!(
        c.written + c.duplicate + c.dead_lettered + c.failed,
        c.received,
        "{c:?}"
    );
}

#[tokio::test]
async fn malformed_messages_never_fail_their_neighbours() {
    let (_, mut messages) = batch(20);
    messages.insert(3, ("bad-json".into(), "not json at all".into()));
    messages.insert(
        9,
        (
            "bad-key".into(),
            envelope(&super::event(99)).replace("\"file_key\":\"", "\"file_key\":\"\",\"x\":\""),
        ),
    );
    messages.insert(12, ("empty".into(), String::new()));
    let recorder = Recorder::new(ScriptedSink::default(), MemoryDlq::default(), settings());
    let (response, counts) = handle(&recorder, &messages).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "nothing to redeliver: {:?}",
        failed_ids(&response)
    );
    assert_eq!(counts.written, 20);
    assert_eq!(counts.dead_lettered, 3);
    assert_balanced(&counts);
}

#[tokio::test]
async fn dead_letters_carry_the_original_body_and_the_reason() {
    let messages = vec![
        ("m0".to_owned(), envelope(&super::event(0))),
        ("bad".to_owned(), "{\"schema_version\":1}".to_owned()),
    ];
    let dlq = MemoryDlq::default();
    let recorder = Recorder::new(ScriptedSink::default(), dlq, settings());
    handle(&recorder, &messages).await;
    let letters = recorder_dlq(&recorder);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].message_id, "bad");
    assert_eq!(letters[0].body, "{\"schema_version\":1}");
    assert!(
        letters[0].reason.contains("missing field"),
        "{}",
        letters[0].reason
    );
}

fn recorder_dlq(r: &Recorder<ScriptedSink, MemoryDlq>) -> Vec<DeadLetter> {
    r.dead_letters().letters()
}

#[tokio::test]
async fn a_refusing_dead_letter_queue_hands_messages_back_to_sqs() {
    let messages = vec![
        ("m0".to_owned(), envelope(&super::event(0))),
        ("bad".to_owned(), "nope".to_owned()),
    ];
    let recorder = Recorder::new(ScriptedSink::default(), MemoryDlq::refusing(), settings());
    let (response, counts) = handle(&recorder, &messages).await;
    assert_eq!(failed_ids(&response), ["bad"]);
    assert_eq!(
        (counts.written, counts.failed, counts.dead_lettered),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn redeliveries_in_one_batch_are_written_once() {
    let e = super::event(7);
    let messages: Vec<(String, String)> = (0..5).map(|i| (format!("m{i}"), envelope(&e))).collect();
    let recorder = Recorder::new(ScriptedSink::default(), MemoryDlq::default(), settings());
    let (_, counts) = handle(&recorder, &messages).await;
    assert_eq!((counts.written, counts.duplicate), (1, 4));
    assert_eq!(
        recorder.sink().calls.lock().expect("lock").concat(),
        vec![e.event_id.clone()]
    );
}

#[tokio::test]
async fn a_whole_call_validation_error_is_isolated_to_its_record() {
    let (_, messages) = batch(20);
    let poison = super::event(11).event_id;
    let sink = ScriptedSink {
        poison: Some(poison.clone()),
        ..ScriptedSink::default()
    };
    let recorder = Recorder::new(sink, MemoryDlq::default(), settings());
    let (response, counts) = handle(&recorder, &messages).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((counts.written, counts.dead_lettered), (19, 1));
    let letters = recorder
        .dead_letters()
        .letters
        .lock()
        .expect("lock")
        .clone();
    assert_eq!(letters[0].message_id, "m11");
    assert!(
        letters[0].reason.contains("ValidationException"),
        "{}",
        letters[0].reason
    );
}

#[tokio::test]
async fn permanent_call_errors_hand_everything_back_without_dead_lettering() {
    let (_, messages) = batch(4);
    let sink = ScriptedSink {
        call_error: Some(Outcome::HandBack(
            "ResourceNotFoundException: The table does not exist.".into(),
        )),
        ..ScriptedSink::default()
    };
    let recorder = Recorder::new(sink, MemoryDlq::default(), settings());
    let (response, counts) = handle(&recorder, &messages).await;
    assert_eq!(failed_ids(&response), ["m0", "m1", "m2", "m3"]);
    assert_eq!(counts.dead_lettered, 0);
    assert_eq!(
        recorder.sink().calls.lock().expect("lock").len(),
        1,
        "not retried in the invocation"
    );
}

#[tokio::test]
async fn the_deadline_hands_unwritten_records_back() {
    let (_, messages) = batch(3);
    let sink = ScriptedSink {
        scripts: (0..3)
            .map(|i| (super::event(i).event_id, vec![Step::Retry]))
            .collect(),
        ..ScriptedSink::default()
    };
    let s = Settings {
        max_attempts: 1000,
        ..settings()
    };
    let recorder = Recorder::new(sink, MemoryDlq::default(), s);
    let (response, counts, took) =
        handle_within(&recorder, &messages, Duration::from_millis(150)).await;
    assert!(
        took < Duration::from_millis(1000),
        "returned near the deadline: {took:?}"
    );
    assert_eq!(failed_ids(&response), ["m0", "m1", "m2"]);
    assert!(counts.retried > 0);
}

#[tokio::test]
async fn a_message_without_id_that_needs_redelivery_fails_the_invocation() {
    let sink = ScriptedSink {
        call_error: Some(Outcome::HandBack("AccessDeniedException: denied".into())),
        ..ScriptedSink::default()
    };
    let recorder = Recorder::new(sink, MemoryDlq::default(), settings());
    let mut event = sqs_event(&[("m0".into(), envelope(&super::event(0)))]);
    event.records[0].message_id = None;
    let err = recorder
        .handle(&event, later())
        .await
        .expect_err("cannot be decided");
    assert_eq!(err, HandlerError::MissingMessageId { index: 0 });
}

#[tokio::test]
async fn records_over_a_store_limit_are_dead_lettered_as_invalid() {
    let mut e = super::event(3);
    e.file_key = "TOO-BIG".into();
    let e = FileMoved {
        event_id: e.to_move().event_id(),
        ..e
    };
    let recorder = Recorder::new(ScriptedSink::default(), MemoryDlq::default(), settings());
    let (_, counts) = recorder
        .handle(&sqs_event(&[("m".into(), envelope(&e))]), later())
        .await
        .expect("decided");
    assert_eq!(counts.dead_lettered, 1);
    assert_eq!(
        recorder.dead_letters().letters()[0].class.as_str(),
        "invalid"
    );
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![5 => Just(Step::Ok), 1 => Just(Step::Conflict), 2 => Just(Step::Retry), 1 => Just(Step::Transient), 1 => Just(Step::Reject)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// For any mix of outcomes, redeliveries and malformed messages: every message ends exactly
    /// once as written, duplicate, dead-lettered or handed back; nothing is written twice; and
    /// only records that did not end are handed back (a record refused as transient until the
    /// attempts ran out is dead-lettered, not handed back).
    #[test]
    fn every_message_ends_exactly_once(
        scripts in prop::collection::vec(prop::collection::vec(step(), 1..4), 1..30),
        copies in prop::collection::vec(1usize..4, 30),
        malformed in 0usize..4,
    ) {
        let events: Vec<FileMoved> = (0..scripts.len()).map(super::event).collect();
        let mut messages = Vec::new();
        for (i, e) in events.iter().enumerate() {
            for c in 0..copies[i] {
                messages.push((format!("m{i}-{c}"), envelope(e)));
            }
        }
        for k in 0..malformed {
            messages.insert(k * 3 % (messages.len() + 1), (format!("bad{k}"), format!("{{\"garbage\":{k}}}")));
        }
        let sink = ScriptedSink {
            scripts: events.iter().map(|e| e.event_id.clone()).zip(scripts.clone()).collect(),
            ..ScriptedSink::default()
        };
        let recorder = Recorder::new(sink, MemoryDlq::default(), Settings { max_attempts: 3, ..settings() });
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("rt");
        let (response, counts) = rt.block_on(recorder.handle(&sqs_event(&messages), later())).expect("decided");

        prop_assert_eq!(counts.received as usize, messages.len());
        prop_assert_eq!(counts.written + counts.duplicate + counts.dead_lettered + counts.failed, counts.received);
        let attempts = recorder.sink().attempts.lock().expect("lock").clone();
        let failed = failed_ids(&response);
        for (i, e) in events.iter().enumerate() {
            let script = &scripts[i];
            let end = script.iter().position(|s| !matches!(s, Step::Retry | Step::Transient));
            let sent = attempts.get(&e.event_id).copied().unwrap_or(0);
            let last_try = script[2.min(script.len() - 1)];
            let prefix = format!("m{i}-");
            match end {
                Some(k) if k < 3 => {
                    prop_assert_eq!(sent, k + 1, "sent until decided, never after");
                    prop_assert!(!failed.iter().any(|id| id.starts_with(&prefix)));
                }
                _ if last_try == Step::Transient => {
                    prop_assert_eq!(sent, 3, "retried up to max_attempts");
                    prop_assert!(!failed.iter().any(|id| id.starts_with(&prefix)), "dead-lettered, not handed back");
                }
                _ => {
                    prop_assert_eq!(sent, 3, "retried up to max_attempts");
                    for c in 0..copies[i] {
                        let id = format!("m{i}-{c}");
                        prop_assert!(failed.contains(&id));
                    }
                }
            }
        }
        prop_assert!(failed.iter().all(|id| !id.starts_with("bad")), "malformed messages are dead-lettered, not retried");
    }
}
