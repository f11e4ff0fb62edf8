//! Records are prepared call by call: every event is checked once as the batch arrives, each
//! record is built once per call that sends it, and a batch's records are never all held at
//! once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use filetrail_contract::FileMoved;
use filetrail_recorder::{Outcome, Recorder, Settings, Sink};

use super::{MemoryDlq, batch, handle};

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
/// `UNPREPARABLE` (a sink that breaks the contract between the two).
struct CountingSink(Counter);

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
        records.iter().map(|_| Outcome::Written).collect()
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
    let recorder = Recorder::new(
        CountingSink(Counter::default()),
        MemoryDlq::default(),
        settings,
    );
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

#[tokio::test]
async fn a_record_the_sink_cannot_build_is_dead_lettered_alone() {
    let (mut events, _) = batch(25);
    events[7].file_key = "hermes_eea_l0_2024001-000007_v01_UNPREPARABLE.bin".into();
    events[7].event_id = events[7].to_move().event_id();
    let messages: Vec<(String, String)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| (format!("m{i}"), super::envelope(e)))
        .collect();
    let recorder = Recorder::new(
        CountingSink(Counter::default()),
        MemoryDlq::default(),
        Settings::default(),
    );
    let (response, counts) = handle(&recorder, &messages).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((counts.written, counts.dead_lettered), (24, 1));
    let letters = recorder.dead_letters().letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].message_id, "m7");
    assert!(
        letters[0].reason.contains("the record cannot be built"),
        "{}",
        letters[0].reason
    );
}
