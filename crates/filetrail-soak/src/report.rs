//! What one soak run did and found, and its printed form.

use std::collections::BTreeMap;
use std::fmt;

use filetrail_recorder::Counts;
use serde::Serialize;

use crate::check::{DlqCheck, TableCheck};
use crate::function::KillStats;
use crate::mapping::MappingStats;

/// The publishing phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PublishFigures {
    /// Seconds from the first publish to the last event accepted.
    pub seconds: f64,
    /// Events accepted per second (through the proxy, on the emulator).
    pub events_per_second: f64,
    /// PutEvents calls the publisher made (its own retries included).
    pub calls: u64,
    /// PutEvents calls per 1,000 events.
    pub calls_per_1000_events: f64,
    /// PutEvents HTTP requests that reached the proxy (the SDK's retries included).
    pub http_requests: u64,
    /// Entries the proxy answered with a per-entry `ThrottlingException`.
    pub entries_throttled: u64,
    /// Events the producer published again after the publisher gave up on them.
    pub producer_republished: u64,
    /// Events never published (must be 0).
    pub unpublished: u64,
}

/// The DLQ replays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReplayFigures {
    /// `filetrail replay` runs (the last one finds nothing left to replay).
    pub rounds: u64,
    /// Messages re-delivered to the events queue.
    pub replayed: u64,
    /// Messages left in the DLQ (not valid events).
    pub skipped: u64,
    /// Re-deliveries that failed (retried by the next round).
    pub failed: u64,
    /// Replay runs that stopped on an SQS error (run again).
    pub errors: u64,
}

/// What one run did and found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SoakReport {
    /// The run's name.
    pub label: String,
    /// The seed.
    pub seed: u64,
    /// `in-process` or `binary`.
    pub recorder_mode: String,
    /// Valid events published.
    pub events: usize,
    /// Poison messages sent.
    pub poison: usize,
    /// The publishing phase.
    pub publish: PublishFigures,
    /// What the event source mapping did.
    pub mapping: MappingStats,
    /// The recorder's counts, summed over invocations (in-process runs; the lag is per invocation
    /// and not kept).
    pub recorder: Option<Counts>,
    /// Where the kills landed (binary runs).
    pub kills: Option<KillStats>,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u64>,
    /// Everything the proxy counted (`operation/outcome`).
    pub proxy: BTreeMap<String, u64>,
    /// The DLQ replays.
    pub replay: ReplayFigures,
    /// The table check.
    pub table: TableCheck,
    /// The DLQ check.
    pub dlq: DlqCheck,
    /// Seconds from the first publish until the events queue first drained.
    pub end_to_end_seconds: f64,
    /// Valid events per second over `end_to_end_seconds`.
    pub end_to_end_events_per_second: f64,
    /// Seconds of the whole run, replays included (set-up excluded).
    pub total_seconds: f64,
    /// What is off; empty when the run passed.
    pub problems: Vec<String>,
}

impl SoakReport {
    /// Whether nothing was lost, nothing doubled, and every poison message is dead-lettered.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// Name what is off in [`SoakReport::problems`].
    pub fn find_problems(&mut self) {
        let (table, dlq) = (&self.table, &self.dlq);
        let found = [
            (
                self.publish.unpublished,
                "event(s) could not be published".to_owned(),
            ),
            (
                table.lost as u64,
                format!("event(s) lost, e.g. {:?}", table.lost_examples),
            ),
            (
                table.doubled as u64,
                format!(
                    "record(s) doubled or unexpected, e.g. {:?}",
                    table.doubled_examples
                ),
            ),
            (
                dlq.poison_missing as u64,
                "poison message(s) are not in the DLQ".to_owned(),
            ),
            (
                dlq.poison_without_reason as u64,
                "poison message(s) are in the DLQ without the recorder's reason".to_owned(),
            ),
            (
                dlq.valid_left as u64,
                "valid event(s) are still in the DLQ after replay".to_owned(),
            ),
        ];
        self.problems = found
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
    }
}

impl SoakReport {
    fn fmt_publish(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.publish;
        writeln!(
            f,
            "  published   {} valid events in {:.1} s ({:.0} events/s), {} PutEvents calls ({:.1} per 1,000 events), {} HTTP requests, {} entries throttled, {} re-published by the producer",
            self.events,
            p.seconds,
            p.events_per_second,
            p.calls,
            p.calls_per_1000_events,
            p.http_requests,
            p.entries_throttled,
            p.producer_republished
        )?;
        writeln!(
            f,
            "  poison      {} messages sent to the queue",
            self.poison
        )?;
        let faults: Vec<String> = self
            .faults
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        writeln!(f, "  faults      {}", faults.join(", "))
    }

    fn fmt_recording(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.mapping;
        writeln!(
            f,
            "  mapping     {} invocations, {} messages, {} deleted, {} item failures, {} failed and {} crashed invocations; delivered twice: {} lost deletes + {} copies of {} distinct messages ({:.1}%)",
            m.invocations,
            m.messages,
            m.deleted,
            m.item_failures,
            m.failed_invocations,
            m.crashed_invocations,
            m.lost_deletes,
            m.copies,
            m.distinct_messages,
            100.0 * (m.lost_deletes + m.copies) as f64 / (m.distinct_messages.max(1)) as f64
        )?;
        if let Some(c) = &self.recorder {
            writeln!(
                f,
                "  recorder    {} received, {} written, {} duplicate, {} retried, {} dead-lettered, {} handed back",
                c.received, c.written, c.duplicate, c.retried, c.dead_lettered, c.failed
            )?;
        }
        if let Some(k) = &self.kills {
            writeln!(
                f,
                "  kills       {} SIGKILLs of {} drawn ({} before any call, {} during a call, {} between calls), {} process starts",
                k.kills, k.drawn, k.before_any_call, k.during_a_call, k.between_calls, k.starts
            )?;
        }
        let r = &self.replay;
        writeln!(
            f,
            "  replay      {} rounds, {} replayed, {} left (invalid), {} failed, {} errors",
            r.rounds, r.replayed, r.skipped, r.failed, r.errors
        )
    }

    fn fmt_checks(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.table;
        writeln!(
            f,
            "  table       {} records stored ({} re-writes absorbed), {} distinct, {} expected: lost {}, doubled {}",
            t.stored_records,
            t.stored_records - t.distinct_records.min(t.stored_records),
            t.distinct_records,
            t.expected,
            t.lost,
            t.doubled
        )?;
        let d = &self.dlq;
        let reasons: Vec<String> = d
            .by_reason
            .iter()
            .map(|(r, n)| format!("{n} x {r}"))
            .collect();
        writeln!(
            f,
            "  dlq         {} messages ({}); poison: {} of {} with the recorder's reason, {} without, {} missing; valid events left {}",
            d.messages,
            reasons.join(", "),
            d.poison_with_reason,
            d.poison_sent,
            d.poison_without_reason,
            d.poison_missing,
            d.valid_left
        )?;
        writeln!(
            f,
            "  time        end to end {:.1} s ({:.0} events/s), total {:.1} s",
            self.end_to_end_seconds, self.end_to_end_events_per_second, self.total_seconds
        )
    }
}

impl fmt::Display for SoakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} (seed {}, recorder {})",
            self.label, self.seed, self.recorder_mode
        )?;
        self.fmt_publish(f)?;
        self.fmt_recording(f)?;
        self.fmt_checks(f)?;
        if self.passed() {
            write!(
                f,
                "  PASSED: 0 lost, 0 doubled, every poison message dead-lettered with its reason"
            )
        } else {
            write!(f, "  FAILED: {}", self.problems.join("; "))
        }
    }
}
