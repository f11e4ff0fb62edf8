//! Records are prepared call by call: every event is checked once as the batch arrives, each
//! record is built once per call that sends it, and a batch's records are never all held at
//! once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use filetrail_aws::BackoffSettings;
use filetrail_contract::FileMoved;
use filetrail_recorder::{Counts, Outcome, Recorder, Settings, Sink};

use super::{MemoryDlq, batch, failed_ids, handle};

/// Counts what the recorder asks of the sink and how many records are alive at once.
#[derive(Default)]
struct Counter {
    checked: AtomicUsize,
    prepared: AtomicUsize,
    live: Arc<AtomicUsize>,
    most_live: AtomicUsize,
}

/// One record; alive from `prepare` until the sink is done with it.
struct Live {
    id: String,
    live: Arc<AtomicUsize>,
}

/// Two records are the same when they are of the same event.
impl PartialEq for Live {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

const MAX_BATCH: usize = 10;

/// A sink that counts, and whose `prepare` refuses what its `check` passes when the key says
/// `UNPREPARABLE` (a sink that breaks the contract between the two). `short`: it answers one
/// outcome too few for every call (a sink that breaks the contract of `write`).
#[derive(Default)]
struct CountingSink(Counter, bool);

impl Sink for CountingSink {
    type Record = Live;
    fn name(&self) -> &'static str {
        "counting"
    }
    fn max_batch(&self) -> usize {
        MAX_BATCH
    }
    fn check(&self, _: &FileMoved) -> Result<(), String> {
        self.0.checked.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn prepare(&self, event: &FileMoved) -> Result<Live, String> {
        if event.file_key.contains("UNPREPARABLE") {
            return Err("the record cannot be built".into());
        }
        self.0.prepared.fetch_add(1, Ordering::SeqCst);
        let now = self.0.live.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.most_live.fetch_max(now, Ordering::SeqCst);
        Ok(Live {
            id: event.event_id.clone(),
            live: self.0.live.clone(),
        })
    }
    async fn write(&self, records: Vec<Live>) -> Vec<Outcome> {
        // Every call takes a moment, so calls overlap up to the concurrency.
        tokio::time::sleep(Duration::from_millis(1)).await;
        let n = records.len() - usize::from(self.1);
        vec![Outcome::Written; n]
    }
}

#[tokio::test]
async fn records_are_built_once_when_sent_and_never_all_at_once() {
    let (events, mut messages) = batch(300);
    // Every event twice: copies are checked and written once.
    messages.extend(
        messages
            .clone()
            .into_iter()
            .map(|(id, body)| (format!("{id}-again"), body)),
    );
    let settings = Settings {
        concurrency: 3,
        ..Settings::default()
    };
    let recorder = Recorder::new(CountingSink::default(), MemoryDlq::default(), settings);
    let (response, counts) = handle(&recorder, &messages).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((counts.written, counts.duplicate), (300, 300));
    let c = &recorder.sink().0;
    assert_eq!(
        c.checked.load(Ordering::SeqCst),
        events.len(),
        "checked once each"
    );
    assert_eq!(
        c.prepared.load(Ordering::SeqCst),
        events.len(),
        "built once each"
    );
    assert_eq!(c.live.load(Ordering::SeqCst), 0, "every record dropped");
    let most = c.most_live.load(Ordering::SeqCst);
    assert!(
        most <= settings.concurrency * MAX_BATCH,
        "at most one call's records per concurrent call: {most} alive at once"
    );
}

/// A batch of `n` whose messages at `unpreparable` carry keys the sink cannot build a record
/// for, handled with calls of [`MAX_BATCH`] and a quick backoff.
async fn unpreparable(
    n: usize,
    unpreparable: &[usize],
    short: bool,
) -> (Recorder<CountingSink, MemoryDlq>, Counts, Vec<String>) {
    let (mut events, _) = batch(n);
    for &i in unpreparable {
        events[i].file_key = format!("hermes_eea_l0_2024001-{i:06}_v01_UNPREPARABLE.bin");
        events[i].event_id = events[i].to_move().event_id();
    }
    let messages: Vec<(String, String)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| (format!("m{i}"), super::envelope(e)))
        .collect();
    let settings = Settings {
        backoff: BackoffSettings {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            factor: 2.0,
        },
        ..Settings::default()
    };
    let recorder = Recorder::new(
        CountingSink(Counter::default(), short),
        MemoryDlq::default(),
        settings,
    );
    let (response, counts) = handle(&recorder, &messages).await;
    (recorder, counts, failed_ids(&response))
}

/// Records the sink cannot build, first and last in their calls and filling a call of their
/// own, are dead-lettered as invalid with the sink's reason; the records beside them are
/// written.
#[tokio::test]
async fn records_the_sink_cannot_build_are_dead_lettered_as_invalid() {
    // Calls of 10: the first holds 0 and 7, the third ends with 24, the last (25..28) holds
    // only unpreparable ones.
    let bad = [0, 7, 24, 25, 26, 27];
    let (recorder, counts, failed) = unpreparable(28, &bad, false).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!((counts.written, counts.dead_lettered), (22, 6));
    let letters = recorder.dead_letters().letters();
    let mut ids: Vec<&str> = letters.iter().map(|l| l.message_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["m0", "m24", "m25", "m26", "m27", "m7"]);
    for l in &letters {
        assert_eq!(l.class.as_str(), "invalid", "{}", l.message_id);
        assert!(
            l.reason.contains("the record cannot be built"),
            "{}",
            l.reason
        );
    }
}

/// When the sink answers too few outcomes for a call, the records it carried are sent again
/// (then handed back), and the one beside them it could not build is still dead-lettered as
/// invalid: never sent, never retried.
#[tokio::test]
async fn an_unbuildable_record_is_dead_lettered_whatever_the_sink_answers() {
    let (recorder, counts, mut failed) = unpreparable(3, &[1], true).await;
    assert_eq!((counts.dead_lettered, counts.failed), (1, 2), "{counts:?}");
    failed.sort_unstable();
    assert_eq!(failed, ["m0", "m2"]);
    let letters = recorder.dead_letters().letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (letters[0].message_id.as_str(), letters[0].class.as_str()),
        ("m1", "invalid")
    );
}
