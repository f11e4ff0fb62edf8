//! `filetrail publish`: events from flags, or from JSON lines on standard input.

use std::io::BufRead;

use filetrail_contract::{FileMoved, OccurredAt, SCHEMA_VERSION};
use filetrail_publisher::{FailedEntry, PublishError, Publisher, PutEvents};
use serde::Serialize;

/// Events published per `publish` call while reading standard input (bounds memory).
pub const CHUNK: usize = 500;

/// A line that is not a valid event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidLine {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, naming the field.
    pub error: String,
}

/// What `publish` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PublishSummary {
    /// Non-blank lines read.
    pub lines: usize,
    /// Events EventBridge accepted.
    pub published: usize,
    /// PutEvents calls made.
    pub put_events_calls: usize,
    /// Lines that were not valid events (not sent).
    pub invalid: Vec<InvalidLine>,
    /// Events EventBridge did not accept, with their codes.
    pub failed: Vec<FailedEvent>,
}

/// An event EventBridge did not accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedEvent {
    /// Its `event_id`.
    pub event_id: String,
    /// The error code.
    pub code: String,
    /// The error message.
    pub message: String,
}

impl From<FailedEntry> for FailedEvent {
    fn from(f: FailedEntry) -> Self {
        Self {
            event_id: f.event_id,
            code: f.code,
            message: f.message,
        }
    }
}

impl PublishSummary {
    /// Whether anything failed (invalid lines included).
    pub fn ok(&self) -> bool {
        self.invalid.is_empty() && self.failed.is_empty()
    }
}

/// One JSON line into a valid event. `schema_version` may be left out (it is 1) and so may
/// `event_id` (it is derived); when given, `event_id` must be the derived one.
pub fn parse_line(line: &str, now: OccurredAt) -> Result<FileMoved, String> {
    let mut value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let obj = value.as_object_mut().ok_or("not a JSON object")?;
    obj.entry("schema_version").or_insert(SCHEMA_VERSION.into());
    let derive = !obj.contains_key("event_id");
    if derive {
        obj.insert("event_id".into(), "".into());
    }
    let mut event = FileMoved::from_json(&value.to_string()).map_err(|e| e.to_string())?;
    if derive {
        event.event_id = event.to_move().event_id();
    }
    event.validate(now).map_err(|e| e.to_string())?;
    Ok(event)
}

async fn flush<C: PutEvents>(
    publisher: &Publisher<C>,
    batch: &mut Vec<FileMoved>,
    summary: &mut PublishSummary,
) {
    if batch.is_empty() {
        return;
    }
    match publisher.publish(batch).await {
        Ok(r) => {
            summary.published += r.delivered;
            summary.put_events_calls += r.calls;
        }
        Err(PublishError::Failed { failures, report }) => {
            summary.published += report.delivered;
            summary.put_events_calls += report.calls;
            summary
                .failed
                .extend(failures.into_iter().map(FailedEvent::from));
        }
    }
    batch.clear();
}

/// Publish every valid line of `input`; invalid lines are reported with their number and never
/// hold back the valid ones.
pub async fn publish_lines<C: PutEvents>(
    publisher: &Publisher<C>,
    input: impl BufRead,
) -> PublishSummary {
    let mut summary = PublishSummary::default();
    let mut batch = Vec::with_capacity(CHUNK);
    for (i, line) in input.lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                summary.invalid.push(InvalidLine {
                    line: i + 1,
                    error: format!("unreadable: {e}"),
                });
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        summary.lines += 1;
        match parse_line(&line, OccurredAt::now()) {
            Ok(event) => batch.push(event),
            Err(error) => summary.invalid.push(InvalidLine { line: i + 1, error }),
        }
        if batch.len() >= CHUNK {
            flush(publisher, &mut batch, &mut summary).await;
        }
    }
    flush(publisher, &mut batch, &mut summary).await;
    summary
}

/// Publish one event.
pub async fn publish_event<C: PutEvents>(
    publisher: &Publisher<C>,
    event: FileMoved,
) -> PublishSummary {
    let mut summary = PublishSummary {
        lines: 1,
        ..PublishSummary::default()
    };
    flush(publisher, &mut vec![event], &mut summary).await;
    summary
}
