//! The write loop: send calls, apply outcomes, back off, until every record is decided or the
//! deadline comes.

use std::time::{Duration, Instant};

use filetrail_aws::Backoff;
use futures_util::StreamExt;

use filetrail_contract::{FileMoved, OccurredAt};

use crate::sink::{Exhausted, Outcome, Retry};
use crate::{DeadLetterClass, Settings, Sink};

/// Why a record is handed back when the deadline comes first.
const DEADLINE: &str = "the invocation deadline came before the record was written";

/// Where a message ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Its record was stored by this invocation.
    Written,
    /// A later copy of an event this invocation stored.
    Duplicate,
    /// Sent to the dead-letter queue with its reason.
    DeadLetter {
        reason: String,
        class: DeadLetterClass,
    },
    /// Handed back to SQS for redelivery (`batchItemFailures`).
    HandBack { reason: String },
}

/// One distinct event of the batch and the messages that carry it. Its record is prepared
/// only when a call sends it (a batch's records are never all held at once).
pub(crate) struct Group {
    /// The first message that carries the event.
    first: usize,
    /// Later messages that carry it (none, nearly always: no allocation then).
    pub(crate) copies: Vec<usize>,
    /// The event, whose record each call that sends it prepares.
    event: FileMoved,
    pub(crate) fate: Option<Fate>,
    attempts: u32,
    last_reason: String,
    /// Sent in a call of its own (the store refused a call because of some record).
    solo: bool,
    /// When the store answered that it holds the record (epoch ms).
    written_ms: Option<i64>,
}

impl Group {
    /// A group for the message at `index`: its event, and what [`Sink::check`] said of it
    /// (why its record can never be stored).
    pub(crate) fn new(index: usize, event: FileMoved, check: Result<(), String>) -> Self {
        let fate = check.err().map(|reason| Fate::DeadLetter {
            reason,
            class: DeadLetterClass::Invalid,
        });
        Self {
            first: index,
            copies: Vec::new(),
            event,
            fate,
            attempts: 0,
            last_reason: String::new(),
            solo: false,
            written_ms: None,
        }
    }

    /// The messages that carry the event, the first first.
    pub(crate) fn messages(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.first).chain(self.copies.iter().copied())
    }

    /// The event the group's messages carry.
    pub(crate) fn event(&self) -> &FileMoved {
        &self.event
    }

    /// For a record this invocation stored: how long after its move (ms).
    pub(crate) fn lag_ms(&self) -> Option<i64> {
        let written = self
            .written_ms
            .filter(|_| self.fate == Some(Fate::Written))?;
        Some(written - self.event.occurred_at.millis())
    }

    fn hand_back(&mut self, why: &str) {
        let reason = if self.last_reason.is_empty() {
            why.to_owned()
        } else {
            format!("{why}; last error: {}", self.last_reason)
        };
        self.fate = Some(Fate::HandBack { reason });
    }
}

/// What one call came back with.
enum Answer {
    /// Its slot came after the deadline: never sent.
    NotSent,
    /// Cut at the deadline.
    TimedOut,
    /// The sink's outcomes.
    Outcomes(Vec<Outcome>),
}

/// Write every group's record; returns how many record writes were sent again.
pub(crate) async fn write_all<S: Sink>(
    sink: &S,
    settings: &Settings,
    groups: &mut [Group],
    deadline: Instant,
) -> u64 {
    let mut backoff = Backoff::new(settings.backoff, deadline);
    let mut retried = 0;
    loop {
        let todo = pending(groups);
        if todo.is_empty() {
            return retried;
        }
        if Instant::now() >= deadline {
            todo.iter().for_each(|&g| groups[g].hand_back(DEADLINE));
            return retried;
        }
        let calls = plan(groups, &todo, sink.max_batch().max(1));
        let answers = send(sink, settings.concurrency, groups, calls, deadline).await;
        let asked = apply(settings, groups, answers);
        let still = pending(groups);
        if still.is_empty() {
            return retried;
        }
        if let Some(asked) = asked
            && let Err(why) = pause(&mut backoff, asked, deadline).await
        {
            still.iter().for_each(|&g| groups[g].hand_back(&why));
            return retried;
        }
        retried += still.len() as u64;
    }
}

fn pending(groups: &[Group]) -> Vec<usize> {
    (0..groups.len())
        .filter(|&g| groups[g].fate.is_none())
        .collect()
}

/// The calls of one round: records in calls of `max_batch`, isolated ones alone.
fn plan(groups: &[Group], pending: &[usize], max_batch: usize) -> Vec<Vec<usize>> {
    let (solo, packed): (Vec<usize>, Vec<usize>) = pending.iter().partition(|&&g| groups[g].solo);
    let mut calls: Vec<Vec<usize>> = packed.chunks(max_batch).map(<[usize]>::to_vec).collect();
    calls.extend(solo.into_iter().map(|g| vec![g]));
    calls
}

/// Groups whose record the sink could not prepare, each with the sink's reason.
type Unprepared = Vec<(usize, String)>;

/// One call of a round and what came of it.
struct Called {
    /// The groups whose records the call carried, in order.
    sent: Vec<usize>,
    /// Groups whose record the sink could not prepare: never sent.
    unprepared: Unprepared,
    answer: Answer,
}

/// Send every call, `concurrency` at a time, each call's records prepared as it starts (so at
/// most `concurrency` calls' records exist at once). Every call ends by `deadline`, however
/// late it starts (calls past the limit wait for a slot); one whose slot comes after it is not
/// sent.
async fn send<S: Sink>(
    sink: &S,
    concurrency: usize,
    groups: &[Group],
    calls: Vec<Vec<usize>>,
    deadline: Instant,
) -> Vec<Called> {
    let jobs = calls.into_iter().map(|call| async move {
        if Instant::now() >= deadline {
            return Called {
                sent: call,
                unprepared: Vec::new(),
                answer: Answer::NotSent,
            };
        }
        let (sent, records, unprepared) = prepare(sink, groups, call);
        let answer = if records.is_empty() {
            Answer::Outcomes(Vec::new())
        } else {
            match tokio::time::timeout_at(deadline.into(), sink.write(records)).await {
                Ok(outcomes) => Answer::Outcomes(outcomes),
                Err(_elapsed) => Answer::TimedOut,
            }
        };
        Called {
            sent,
            unprepared,
            answer,
        }
    });
    futures_util::stream::iter(jobs)
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

/// The records of `call`'s groups, prepared now: the groups they belong to, the records, and
/// the groups whose record the sink could not prepare (its check passed, so never, for a pure
/// `prepare`) with the sink's reason.
fn prepare<S: Sink>(
    sink: &S,
    groups: &[Group],
    call: Vec<usize>,
) -> (Vec<usize>, Vec<S::Record>, Unprepared) {
    let mut sent = Vec::with_capacity(call.len());
    let mut records = Vec::with_capacity(call.len());
    let mut unprepared = Vec::new();
    for g in call {
        match sink.prepare(&groups[g].event) {
            Ok(record) => {
                sent.push(g);
                records.push(record);
            }
            Err(reason) => unprepared.push((g, reason)),
        }
    }
    (sent, records, unprepared)
}

/// Apply the answers of a round; returns, when some record is to be sent again, the least
/// delay a store asked for before the next round.
fn apply(settings: &Settings, groups: &mut [Group], answers: Vec<Called>) -> Option<Duration> {
    let mut asked: Option<Duration> = None;
    let mut ask = |wait: Duration| asked = Some(asked.map_or(wait, |a| a.max(wait)));
    let now_ms = OccurredAt::now().millis();
    for Called {
        sent: call,
        unprepared,
        answer,
    } in answers
    {
        // A record that cannot be built can never be stored: invalid, as a check refusal is.
        for (g, reason) in unprepared {
            groups[g].fate = Some(Fate::DeadLetter {
                reason,
                class: DeadLetterClass::Invalid,
            });
        }
        let outcomes = match answer {
            Answer::NotSent => continue,
            Answer::TimedOut => {
                vec![
                    Outcome::retry("the write call did not finish before the deadline");
                    call.len()
                ]
            }
            Answer::Outcomes(o) if o.len() == call.len() => o,
            Answer::Outcomes(o) => {
                let why = format!(
                    "the sink answered {} outcomes for {} records",
                    o.len(),
                    call.len()
                );
                vec![Outcome::retry(why); call.len()]
            }
        };
        let alone = call.len() == 1;
        for (&g, outcome) in call.iter().zip(outcomes) {
            let group = &mut groups[g];
            if let Some(wait) = decide(settings, group, outcome, alone) {
                ask(wait);
            }
            if group.fate == Some(Fate::Written) {
                group.written_ms.get_or_insert(now_ms);
            }
        }
    }
    asked
}

/// Apply one outcome to its group; returns a wait when the record is to be sent again.
fn decide(settings: &Settings, g: &mut Group, outcome: Outcome, alone: bool) -> Option<Duration> {
    let dead_letter = |reason, class| Some(Fate::DeadLetter { reason, class });
    match outcome {
        Outcome::Written => g.fate = Some(Fate::Written),
        Outcome::Conflict(reason) => g.fate = dead_letter(reason, DeadLetterClass::Conflict),
        Outcome::Reject(reason) => g.fate = dead_letter(reason, DeadLetterClass::Rejected),
        Outcome::Isolate(reason) if alone => {
            g.fate = dead_letter(reason, DeadLetterClass::Rejected)
        }
        Outcome::Isolate(_) => g.solo = true,
        Outcome::HandBack(reason) => g.fate = Some(Fate::HandBack { reason }),
        Outcome::Retry(retry) => return again(settings, g, retry),
    }
    None
}

/// Count an attempt; when they run out, decide the record as its retry says.
fn again(settings: &Settings, g: &mut Group, retry: Retry) -> Option<Duration> {
    g.attempts += 1;
    if g.attempts >= settings.max_attempts {
        let n = g.attempts;
        g.fate = Some(match retry.exhausted {
            Exhausted::HandBack => Fate::HandBack {
                reason: format!("{} (after {n} attempts)", retry.reason),
            },
            Exhausted::DeadLetter => Fate::DeadLetter {
                reason: format!("{} (refused {n} times in one invocation)", retry.reason),
                class: DeadLetterClass::Rejected,
            },
        });
    }
    g.last_reason = retry.reason;
    Some(retry.after.unwrap_or_default())
}

/// Wait before the next round: the backoff's delay, or longer if a store asked; `Err` with the
/// reason when that would pass the deadline.
async fn pause(backoff: &mut Backoff, asked: Duration, deadline: Instant) -> Result<(), String> {
    let Some(delay) = backoff.next_delay() else {
        return Err(DEADLINE.into());
    };
    if Instant::now() + delay.max(asked) >= deadline {
        return Err(if asked > delay {
            format!(
                "the store asked to wait {} ms (Retry-After), past the invocation deadline",
                asked.as_millis()
            )
        } else {
            DEADLINE.into()
        });
    }
    let delay = delay.max(asked);
    tracing::info!(
        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        "retrying records"
    );
    tokio::time::sleep(delay).await;
    Ok(())
}
