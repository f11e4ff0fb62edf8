//! `filetrail replay`: re-deliver dead-lettered events, deleting each only once delivered.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use filetrail_contract::{BodyShape, FileMoved, OccurredAt};
use filetrail_publisher::{EventBridge, Publisher, PublisherConfig};
use serde::Serialize;

use crate::routing::Routes;
use crate::sqs::{DeadLetterMessage, Scan};

/// Where replayed events go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Send the original body to this SQS queue (e.g. the recorder's queue).
    Queue(String),
    /// Re-publish the original detail to this bus (EventBridge assigns a new envelope id).
    Bus(String),
}

/// Which messages to replay; the others are left in the DLQ.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Only messages whose DLQ reason contains this text (case-insensitive).
    pub reason: Option<String>,
    /// Only events whose envelope `source` is this.
    pub source: Option<String>,
    /// Only events whose `file_key` matches this glob (`*`, `?`).
    pub key_pattern: Option<String>,
}

/// Everything `replay` needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOptions {
    /// The DLQ URL.
    pub from: String,
    /// Where to re-deliver.
    pub target: Target,
    /// List what would be replayed, consume nothing.
    pub dry_run: bool,
    /// Stop after this many replayed messages.
    pub max: Option<usize>,
    /// At most this many re-deliveries per second.
    pub rate: Option<f64>,
    /// Which messages to replay.
    pub filters: Filters,
    /// How long a message being handled stays hidden in the DLQ, in seconds.
    pub visibility_timeout_s: i32,
    /// `Source` for bare bodies re-published to a bus (envelopes keep theirs).
    pub default_source: String,
}

/// Why a replay did not run at all (nothing was deleted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// An SQS or EventBridge call failed.
    #[error("{what}: {}: {}", .error.code, .error.message)]
    Call {
        /// Which call.
        what: String,
        /// The classified error.
        error: filetrail_aws::Classified,
    },
}

impl ReplayError {
    fn call(what: impl Into<String>) -> impl FnOnce(filetrail_aws::Classified) -> Self {
        let what = what.into();
        move |error| Self::Call { what, error }
    }
}

/// What a replay did, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplaySummary {
    /// Whether this was a dry run (nothing consumed).
    pub dry_run: bool,
    /// Messages re-delivered and deleted (dry run: that would be).
    pub replayed: usize,
    /// Messages left in the DLQ (invalid, or filtered out).
    pub skipped: usize,
    /// Messages whose re-delivery or deletion failed (they stay in the DLQ).
    pub failed: usize,
    /// `replayed` by DLQ reason.
    pub replayed_by_reason: BTreeMap<String, usize>,
    /// `skipped` by why they were left.
    pub skipped_by_reason: BTreeMap<String, usize>,
    /// `failed` by error.
    pub failed_by_reason: BTreeMap<String, usize>,
    /// Distinct messages the scan read.
    pub read: usize,
    /// Whether the scan read the whole DLQ (false only past SQS's in-flight limit).
    pub complete: bool,
}

enum Decision {
    Replay(Box<FileMoved>, Option<String>),
    Skip(String),
}

fn decide(m: &DeadLetterMessage, f: &Filters) -> Decision {
    let inbound = match &m.parsed {
        Ok(i) => i,
        Err(e) => return Decision::Skip(format!("invalid event: {e}")),
    };
    let source = match &inbound.shape {
        BodyShape::Envelope { source, .. } => Some(source.clone()),
        BodyShape::Bare => None,
    };
    if let Some(r) = &f.reason
        && !m.reason().to_lowercase().contains(&r.to_lowercase())
    {
        return Decision::Skip("filtered out: reason".into());
    }
    if let Some(s) = &f.source
        && source.as_deref() != Some(s.as_str())
    {
        return Decision::Skip("filtered out: source".into());
    }
    if let Some(p) = &f.key_pattern
        && !glob_match(p, &inbound.event.file_key)
    {
        return Decision::Skip("filtered out: file key".into());
    }
    Decision::Replay(Box::new(inbound.event.clone()), source)
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Re-deliver the DLQ's messages to `target`. A message is deleted from the DLQ only after its
/// re-delivery is confirmed; killed at any point, a later run picks up whatever is left (a
/// message delivered but not yet deleted is delivered again, and the recorder absorbs it).
/// To a bus, an entry is sent only when an enabled rule with a target matches it
/// ([`Routes`]); one that no rule would route stays in the DLQ and counts as failed.
pub async fn replay(
    sqs_client: &aws_sdk_sqs::Client,
    eventbridge: &aws_sdk_eventbridge::Client,
    options: &ReplayOptions,
    progress: &dyn Fn(&ReplaySummary),
) -> Result<ReplaySummary, ReplayError> {
    let routes = match &options.target {
        Target::Bus(bus) => Some(
            Routes::load(eventbridge, bus)
                .await
                .map_err(ReplayError::call(format!("reading the rules of bus {bus}")))?,
        ),
        Target::Queue(_) => None,
    };
    let mut r = Replayer {
        sqs: sqs_client,
        eventbridge,
        options,
        routes,
        publishers: HashMap::new(),
        started: Instant::now(),
        summary: ReplaySummary {
            dry_run: options.dry_run,
            ..ReplaySummary::default()
        },
    };
    let mut scan = Scan::start(sqs_client, &options.from, options.visibility_timeout_s)
        .await
        .map_err(ReplayError::call(format!("reading {}", options.from)))?;
    let outcome = r.run(&mut scan, progress).await;
    // What was only looked at becomes visible again now rather than after the timeout.
    let end = scan.finish().await;
    outcome?;
    r.summary.read = end.read;
    r.summary.complete = end.complete();
    Ok(r.summary)
}

/// One replay's clients, options and running summary.
struct Replayer<'a> {
    sqs: &'a aws_sdk_sqs::Client,
    eventbridge: &'a aws_sdk_eventbridge::Client,
    options: &'a ReplayOptions,
    routes: Option<Routes>,
    publishers: HashMap<String, Publisher<EventBridge>>,
    started: Instant,
    summary: ReplaySummary,
}

/// What became of one message.
enum Step {
    /// Past `--max`: left in the DLQ without being looked at.
    NotLookedAt,
    /// Delivered and deleted (dry run: would be).
    Replayed,
    /// Left in the DLQ, and why.
    Skipped(String),
    /// Not delivered or not deleted, and why; left in the DLQ.
    Failed(String),
}

impl Replayer<'_> {
    fn full(&self) -> bool {
        self.options.max.is_some_and(|m| self.summary.replayed >= m)
    }

    async fn run(
        &mut self,
        scan: &mut Scan<'_>,
        progress: &dyn Fn(&ReplaySummary),
    ) -> Result<(), ReplayError> {
        while !self.full() {
            let from = &self.options.from;
            let Some(messages) = scan
                .next()
                .await
                .map_err(ReplayError::call(format!("reading {from}")))?
            else {
                return Ok(());
            };
            let now = OccurredAt::now();
            for m in &messages {
                let d = DeadLetterMessage::from_message(m, now);
                let step = if self.full() {
                    Step::NotLookedAt
                } else {
                    self.one(&d).await?
                };
                if !matches!(step, Step::Replayed) || self.options.dry_run {
                    scan.hold(&d.message_id, &d.receipt_handle);
                }
                self.count(&d, step);
                progress(&self.summary);
            }
        }
        Ok(())
    }

    /// Decide, check the route, deliver and delete one message.
    async fn one(&mut self, d: &DeadLetterMessage) -> Result<Step, ReplayError> {
        let (event, source) = match decide(d, &self.options.filters) {
            Decision::Skip(why) => return Ok(Step::Skipped(why)),
            Decision::Replay(event, source) => (event, source),
        };
        let source = source.unwrap_or_else(|| self.options.default_source.clone());
        if let Some(routes) = self.routes.as_mut() {
            let what = format!("checking the rules of bus {}", routes.bus());
            if routes
                .route(&event, &source)
                .await
                .map_err(ReplayError::call(what))?
                .is_none()
            {
                let why = routes.unrouted(&source);
                tracing::error!(message_id = %d.message_id, source = %source, reason = %why, "not replayed");
                return Ok(Step::Failed(why));
            }
        }
        if self.options.dry_run {
            return Ok(Step::Replayed);
        }
        self.pace().await;
        let outcome = match self.deliver(d, &event, source).await {
            Ok(()) => self.delete(d).await,
            Err(e) => Err(e),
        };
        Ok(match outcome {
            Ok(()) => Step::Replayed,
            Err(e) => {
                tracing::warn!(message_id = %d.message_id, error = %e, "replay failed");
                Step::Failed(e)
            }
        })
    }

    /// Wait for the `--rate` slot of the next re-delivery.
    async fn pace(&self) {
        if let Some(rate) = self.options.rate.filter(|r| *r > 0.0) {
            let done = (self.summary.replayed + self.summary.failed) as f64;
            let due = self.started + Duration::from_secs_f64(done / rate);
            tokio::time::sleep_until(due.into()).await;
        }
    }

    async fn deliver(
        &mut self,
        d: &DeadLetterMessage,
        event: &FileMoved,
        source: String,
    ) -> Result<(), String> {
        match &self.options.target {
            Target::Queue(url) => self
                .sqs
                .send_message()
                .queue_url(url)
                .message_body(&d.body)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    format!(
                        "SendMessage: {}",
                        filetrail_aws::classify(filetrail_aws::Service::Sqs, &e).code
                    )
                }),
            Target::Bus(bus) => {
                let eventbridge = self.eventbridge;
                let publisher = self.publishers.entry(source.clone()).or_insert_with(|| {
                    let config = PublisherConfig {
                        bus: bus.clone(),
                        source,
                        deadline: Duration::from_secs(10),
                    };
                    Publisher::new(EventBridge::new(eventbridge.clone(), bus.clone()), config)
                });
                publisher
                    .publish_one(event)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("PutEvents: {e}"))
            }
        }
    }

    async fn delete(&self, d: &DeadLetterMessage) -> Result<(), String> {
        self.sqs
            .delete_message()
            .queue_url(&self.options.from)
            .receipt_handle(&d.receipt_handle)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "delivered, but DeleteMessage failed ({}); it will be delivered again",
                    filetrail_aws::classify(filetrail_aws::Service::Sqs, &e).code
                )
            })
    }

    fn count(&mut self, d: &DeadLetterMessage, step: Step) {
        let s = &mut self.summary;
        match step {
            Step::Replayed => {
                s.replayed += 1;
                *s.replayed_by_reason.entry(d.reason()).or_default() += 1;
            }
            Step::NotLookedAt => {}
            Step::Skipped(why) => {
                s.skipped += 1;
                *s.skipped_by_reason.entry(why).or_default() += 1;
            }
            Step::Failed(why) => {
                s.failed += 1;
                *s.failed_by_reason.entry(why).or_default() += 1;
            }
        }
    }
}
