//! Integration tests of the recorder (one binary).

mod config;
mod dead_letters;
mod deadline;
mod emulator;
mod handler;
mod influxdb;
mod lag;
mod lambda;
mod layout;
mod metrics;
mod rejections;
mod replay;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};
use filetrail_contract::{ActionType, FileMoved, Move, OccurredAt};
use filetrail_recorder::{DeadLetter, DeadLetters};

/// A fixed time a few minutes before this test process started.
fn base_millis() -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| OccurredAt::now().millis() - 5 * 60 * 1000)
}

/// A valid event, distinct for each `i` and the same for the same `i` within a test process.
pub fn event(i: usize) -> FileMoved {
    let base = base_millis();
    let mut e = FileMoved::from_move(Move {
        action_type: ActionType::Put,
        source_bucket: Some("hermes-incoming".into()),
        file_key: format!("hermes_eea_l0_2024{:03}-{:06}_v01.bin", i % 366 + 1, i),
        destination_bucket: Some(format!("hermes-{}", ["eea", "nemisis", "merit"][i % 3])),
        new_file_key: Some(format!(
            "l0/2024/01/{:02}/hermes_eea_l0_2024{:03}-{:06}_v01.bin",
            i % 28 + 1,
            i % 366 + 1,
            i
        )),
        occurred_at: OccurredAt::from_millis(base + i64::try_from(i).unwrap_or(0)),
    });
    e.stage = Some("sdc.sorter".into());
    e
}

/// The EventBridge envelope an SQS target receives for `e`.
pub fn envelope(e: &FileMoved) -> String {
    serde_json::json!({
        "version": "0",
        "id": format!("env-{}", e.event_id),
        "detail-type": "FileMoved",
        "source": "sdc.sorter",
        "account": "111122223333",
        "time": e.occurred_at.to_string(),
        "region": "us-east-1",
        "resources": [],
        "detail": e,
    })
    .to_string()
}

/// An SQS message as Lambda's event source mapping delivers it.
pub fn message(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_owned());
    m.receipt_handle = Some(format!("rh-{id}"));
    m.body = Some(body.to_owned());
    m.event_source = Some("aws:sqs".into());
    m.event_source_arn = Some("arn:aws:sqs:us-east-1:111122223333:filetrail-events".into());
    m.aws_region = Some("us-east-1".into());
    m.attributes
        .insert("ApproximateReceiveCount".into(), "1".into());
    let mut a = SqsMessageAttribute::default();
    a.string_value = Some("unused".into());
    a.data_type = Some("String".into());
    m.message_attributes.insert("trace".into(), a);
    m
}

/// An SQS event from (message id, body) pairs.
pub fn sqs_event(messages: &[(String, String)]) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = messages
        .iter()
        .map(|(id, body)| message(id, body))
        .collect();
    e
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
