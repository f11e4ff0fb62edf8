//! `filetrail publish`: events from flags, or from JSON lines on standard input.

use std::io::BufRead;

use filetrail_contract::{FileMoved, OccurredAt, SCHEMA_VERSION};
use filetrail_publisher::{FailedEntry, PublishError, Publisher, PutEvents};
use serde::Serialize;

use crate::routing::Routes;

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
    /// Published events that no enabled rule of the bus routes: EventBridge accepted them and
    /// dropped them, so they will never be recorded.
    pub unrouted: usize,
    /// Why, once per distinct reason (also when routing could not be checked).
    pub warnings: Vec<String>,
}

/// Checks, before each publish, whether the bus routes the events, and warns (never refuses)
/// when it does not: `filetrail publish` sends what it is told to, but says when EventBridge
/// will drop it.
#[derive(Debug)]
pub struct RouteWarnings {
    routes: Result<Routes, String>,
    source: String,
}

impl RouteWarnings {
    /// Read the rules of `bus`; a failure to read them becomes a warning, not an error.
    pub async fn load(eventbridge: &aws_sdk_eventbridge::Client, bus: &str, source: &str) -> Self {
        let routes = Routes::load(eventbridge, bus).await.map_err(|e| {
            format!(
                "could not check that bus {bus} routes the events (ListRules/ListTargetsByRule: {}: {}); they may be dropped",
                e.code, e.message
            )
        });
        Self {
            routes,
            source: source.to_owned(),
        }
    }

    async fn check(&mut self, events: &[FileMoved], summary: &mut PublishSummary) {
        let routes = match &mut self.routes {
            Ok(r) => r,
            Err(why) => return warn_once(summary, why.clone()),
        };
        for e in events {
            match routes.route(e, &self.source).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    summary.unrouted += 1;
                    let why = routes.unrouted(&self.source);
                    warn_once(summary, why);
                }
                Err(c) => {
                    return warn_once(
                        summary,
                        format!(
                            "could not check that bus {} routes the events (TestEventPattern: {}: {}); they may be dropped",
                            routes.bus(),
                            c.code,
                            c.message
                        ),
                    );
                }
            }
        }
    }
}

fn warn_once(summary: &mut PublishSummary, why: String) {
    if !summary.warnings.contains(&why) {
        tracing::warn!(warning = %why, "publishing events the bus may drop");
        summary.warnings.push(why);
    }
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
    routes: &mut Option<&mut RouteWarnings>,
) {
    if batch.is_empty() {
        return;
    }
    if let Some(r) = routes.as_deref_mut() {
        r.check(batch, summary).await;
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
/// hold back the valid ones. With `routes`, events no rule of the bus routes are counted and
/// warned about.
pub async fn publish_lines<C: PutEvents>(
    publisher: &Publisher<C>,
    input: impl BufRead,
    mut routes: Option<&mut RouteWarnings>,
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
            flush(publisher, &mut batch, &mut summary, &mut routes).await;
        }
    }
    flush(publisher, &mut batch, &mut summary, &mut routes).await;
    summary
}

/// Publish one event (warning, with `routes`, when no rule of the bus routes it).
pub async fn publish_event<C: PutEvents>(
    publisher: &Publisher<C>,
    event: FileMoved,
    mut routes: Option<&mut RouteWarnings>,
) -> PublishSummary {
    let mut summary = PublishSummary {
        lines: 1,
        ..PublishSummary::default()
    };
    flush(publisher, &mut vec![event], &mut summary, &mut routes).await;
    summary
}
