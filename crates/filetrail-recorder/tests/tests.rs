//! Integration tests of the recorder (one binary).

mod config;
mod dead_letters;
mod deadline;
mod emulator;
mod events;
mod handler;
mod influxdb;
mod lag;
mod lambda;
mod layout;
mod metrics;
mod prepare;
mod rejections;
mod replay;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use filetrail_contract::{FileMoved, OccurredAt};
use filetrail_recorder::{Counts, DeadLetter, DeadLetters, Recorder, Sink};

/// A fixed time a few minutes before this test process started.
fn base_millis() -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| OccurredAt::now().millis() - 5 * 60 * 1000)
}

/// A valid event, distinct for each `i` and the same for the same `i` within a test process.
pub fn event(i: usize) -> FileMoved {
    events::event_at(i, base_millis())
}

/// The EventBridge envelope an SQS target receives for an event, from the sorter (the test kit's
/// one builder).
pub use filetrail_testkit::fixtures::envelope;

/// An SQS event from (message id, body) pairs, as Lambda's event source mapping delivers it:
/// the test kit's wire JSON (each message with a string attribute, unused by the recorder),
/// read as `lambda_runtime` reads it.
pub fn sqs_event(messages: &[(String, String)]) -> SqsEvent {
    let records = messages.iter().map(|(id, body)| {
        filetrail_testkit::sqs::with_string_attribute(
            filetrail_testkit::sqs::record(id, body),
            "trace",
            "unused",
        )
    });
    serde_json::from_value(filetrail_testkit::sqs::event_of(records)).expect("an SQS event")
}

/// The built recorder binary, reaching the emulator, its output piped.
pub fn recorder_binary() -> filetrail_testkit::lambda::Spec {
    filetrail_testkit::lambda::Spec::new(env!("CARGO_BIN_EXE_filetrail-recorder"))
        .aws_endpoint(&filetrail_testkit::endpoint())
}

/// The first EMF line (a JSON object with `_aws`) among `lines`.
pub fn emf_line<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<serde_json::Value> {
    lines
        .into_iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v.get("_aws").is_some())
}

/// `n` events ([`event`] 0..n) and their messages, ids `m0`, `m1`, ….
pub fn batch(n: usize) -> (Vec<FileMoved>, Messages) {
    let events: Vec<_> = (0..n).map(event).collect();
    let messages = events
        .iter()
        .enumerate()
        .map(|(i, e)| (format!("m{i}"), envelope(e)))
        .collect();
    (events, messages)
}

/// SQS messages as (message id, body).
pub type Messages = Vec<(String, String)>;

/// The emulator tests' batch: after an earlier invocation recorded 5 events (`first`), 250
/// messages: 195 new events, 50 redeliveries (25 of events in this batch, 25 of the earlier
/// ones), 5 malformed messages (`malformed`, by id), every 50th.
pub struct Batch250 {
    /// The 5 events of the earlier invocation.
    pub earlier: Vec<FileMoved>,
    /// The 195 new events.
    pub new: Vec<FileMoved>,
    /// The earlier invocation's messages.
    pub first: Messages,
    /// The 250 messages.
    pub messages: Messages,
    /// The malformed messages, (id, body).
    pub malformed: Vec<(&'static str, String)>,
}

/// The [`Batch250`].
pub fn batch_of_250() -> Batch250 {
    let earlier: Vec<_> = (1000..1005).map(event).collect();
    let first: Messages = earlier
        .iter()
        .enumerate()
        .map(|(i, e)| (format!("early{i}"), envelope(e)))
        .collect();
    let new: Vec<_> = (0..195).map(event).collect();
    let mut messages: Messages = new
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
    let malformed = vec![
        (
            "bad-json",
            "{\"detail-type\": \"FileMoved\", \"detail\": ".to_owned(),
        ),
        ("bad-key", envelope(&bad_key)),
        ("bad-action", copy.to_string()),
        ("bad-time", old.to_string()),
        ("bad-shape", "{\"Records\": []}".to_owned()),
    ];
    for (i, (id, body)) in malformed.iter().enumerate() {
        messages.insert(i * 50, ((*id).to_owned(), body.clone()));
    }
    Batch250 {
        earlier,
        new,
        first,
        messages,
        malformed,
    }
}

/// Handle `messages` with a deadline far away ([`later`]); the response and the counts.
pub async fn handle<S: Sink, D: DeadLetters>(
    recorder: &Recorder<S, D>,
    messages: &[(String, String)],
) -> (SqsBatchResponse, Counts) {
    recorder
        .handle(&sqs_event(messages), later())
        .await
        .expect("decided")
}

/// Handle `messages` with a deadline `deadline` from now; the response, the counts, and how
/// long the call took.
pub async fn handle_within<S: Sink, D: DeadLetters>(
    recorder: &Recorder<S, D>,
    messages: &[(String, String)],
    deadline: Duration,
) -> (SqsBatchResponse, Counts, Duration) {
    let start = Instant::now();
    let (response, counts) = recorder
        .handle(&sqs_event(messages), Instant::now() + deadline)
        .await
        .expect("decided");
    (response, counts, start.elapsed())
}

/// The default settings with a backoff of milliseconds, so tests of retries stay fast.
pub fn quick_settings() -> filetrail_recorder::Settings {
    filetrail_recorder::Settings {
        backoff: filetrail_aws::BackoffSettings {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            factor: 2.0,
        },
        ..filetrail_recorder::Settings::default()
    }
}

/// A deadline far enough away for any test.
pub fn later() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

/// Message ids in a batch response.
pub fn failed_ids(r: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    r.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// A dead-letter queue in memory: keeps every letter, or refuses them all.
#[derive(Debug, Default)]
pub struct MemoryDlq {
    letters: Mutex<Vec<DeadLetter>>,
    refuse: bool,
}

impl MemoryDlq {
    /// A queue that refuses every letter (as a DLQ the role may not send to does).
    pub fn refusing() -> Self {
        Self {
            refuse: true,
            ..Self::default()
        }
    }

    /// The letters it accepted, in order.
    pub fn letters(&self) -> Vec<DeadLetter> {
        self.letters.lock().expect("lock").clone()
    }
}

impl DeadLetters for MemoryDlq {
    async fn send(&self, letters: &[DeadLetter], _deadline: Instant) -> Vec<Result<(), String>> {
        if self.refuse {
            return vec![Err("AccessDenied".into()); letters.len()];
        }
        self.letters
            .lock()
            .expect("lock")
            .extend_from_slice(letters);
        vec![Ok(()); letters.len()]
    }
}
