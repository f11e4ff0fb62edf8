//! One deadline for every call: a slow store and a hanging dead-letter queue never make the
//! handler outlive the Lambda deadline, and exactly what was not written goes back to SQS.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use filetrail_aws::{Margin, work_deadline};
use filetrail_contract::FileMoved;
use filetrail_recorder::config::DEFAULT_SAFETY_MARGIN;
use filetrail_recorder::{DEAD_LETTER_RESERVE, Outcome, Recorder, Settings, Sink, SqsDeadLetters};

use super::{envelope, failed_ids, sqs_event};

/// How long the slow store takes to answer each call.
const STORE_DELAY: Duration = Duration::from_secs(2);
/// The function timeout of the scenario.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(5);

/// A store that answers every call after [`STORE_DELAY`], writing all of it. A call whose
/// answer reached the recorder is remembered; one the recorder gave up on is not.
#[derive(Default)]
struct SlowStore {
    answered: Mutex<HashSet<String>>,
    first_call: Mutex<Option<Instant>>,
}

impl Sink for SlowStore {
    type Record = String;
    fn name(&self) -> &'static str {
        "slow"
    }
    fn max_batch(&self) -> usize {
        100
    }
    fn prepare(&self, event: &FileMoved) -> Result<String, String> {
        Ok(event.event_id.clone())
    }
    async fn write(&self, records: Vec<String>) -> Vec<Outcome> {
        self.first_call
            .lock()
            .expect("lock")
            .get_or_insert_with(Instant::now);
        tokio::time::sleep(STORE_DELAY).await;
        let n = records.len();
        self.answered.lock().expect("lock").extend(records);
        vec![Outcome::Written; n]
    }
}

/// 10,000 messages: `garbage` of them not events (dead-lettered), the rest distinct events.
fn batch(garbage: usize) -> (Vec<(String, String)>, Vec<String>) {
    let mut messages = Vec::with_capacity(10_000);
    let mut ids = Vec::with_capacity(10_000);
    for i in 0..10_000 {
        let body = if i % 100 == 0 && i / 100 < garbage {
            format!("not an event {i}")
        } else {
            envelope(&super::event(i))
        };
        messages.push((format!("m{i}"), body));
        ids.push(super::event(i).event_id);
    }
    (messages, ids)
}

/// What one scenario showed.
struct Run {
    elapsed: Duration,
    failed: Vec<String>,
    answered: HashSet<String>,
    messages: Vec<(String, String)>,
    ids: Vec<String>,
    /// When the store saw its first call.
    first_call: Option<Instant>,
    /// The work deadline the handler was given.
    deadline: Instant,
}

async fn run<D: filetrail_recorder::DeadLetters>(dead_letters: D, garbage: usize) -> Run {
    let (messages, ids) = batch(garbage);
    let event = sqs_event(&messages);
    let settings = Settings {
        concurrency: 4,
        ..Settings::default()
    };
    let recorder = Recorder::new(SlowStore::default(), dead_letters, settings);
    let start = Instant::now();
    let lambda_deadline = SystemTime::now() + FUNCTION_TIMEOUT;
    let deadline = work_deadline(lambda_deadline, Margin::Fixed(DEFAULT_SAFETY_MARGIN));
    let (response, counts) = recorder.handle(&event, deadline).await.expect("decided");
    let elapsed = start.elapsed();
    assert_eq!(
        counts.written + counts.duplicate + counts.dead_lettered + counts.failed,
        counts.received
    );
    let answered = recorder.sink().answered.lock().expect("lock").clone();
    assert_eq!(counts.written as usize, answered.len());
    let first_call = *recorder.sink().first_call.lock().expect("lock");
    Run {
        elapsed,
        failed: failed_ids(&response),
        answered,
        messages,
        ids,
        first_call,
        deadline,
    }
}

impl Run {
    /// The messages whose event the store did not answer for, in order.
    fn unwritten(&self) -> Vec<String> {
        self.messages
            .iter()
            .zip(&self.ids)
            .filter(|((_, body), id)| {
                !body.starts_with("not an event") && !self.answered.contains(*id)
            })
            .map(|((m, _), _)| m.clone())
            .collect()
    }
}

/// The handler answered well inside the Lambda deadline (half the safety margin to spare).
fn returned_in_time(elapsed: Duration) {
    assert!(
        elapsed < FUNCTION_TIMEOUT - DEFAULT_SAFETY_MARGIN / 2,
        "returned {elapsed:?} after the start of a {FUNCTION_TIMEOUT:?} invocation"
    );
}

#[tokio::test]
async fn a_slow_store_never_outlives_the_lambda_deadline() {
    let dlq = super::MemoryDlq::default();
    let run = run(dlq, 0).await;
    let (failed, first_call, deadline) = (&run.failed, run.first_call, run.deadline);
    returned_in_time(run.elapsed);
    assert_eq!(
        *failed,
        run.unwritten(),
        "exactly the unwritten messages are handed back"
    );
    assert!(
        !failed.is_empty(),
        "a 2 s store cannot take 10,000 records in 5 s"
    );
    // Writes stop at most DEAD_LETTER_RESERVE before the work deadline: a first call that began
    // more than STORE_DELAY before that (with slack for the scheduler) must have been answered
    // and its records written. On a loaded machine, parsing 10,000 messages in a debug build
    // may leave no time for a whole call; then nothing may be written.
    let first_call = first_call.expect("a write call was made");
    let slack = Duration::from_millis(250);
    if first_call + STORE_DELAY + slack < deadline - DEAD_LETTER_RESERVE {
        assert!(
            failed.len() < 10_000,
            "the first call began in time, yet nothing was written"
        );
    }
}

#[tokio::test]
async fn a_hanging_dead_letter_queue_never_outlives_the_lambda_deadline() {
    let sdk = filetrail_testkit::sdk_config_at(&filetrail_testkit::hanging_endpoint().await).await;
    let dlq = SqsDeadLetters::new(
        aws_sdk_sqs::Client::new(&sdk),
        "http://hanging.invalid/000000000000/dlq",
    );
    let run = run(dlq, 50).await;
    returned_in_time(run.elapsed);
    let mut expected: Vec<String> = run
        .messages
        .iter()
        .filter(|(_, body)| body.starts_with("not an event"))
        .map(|(m, _)| m.clone())
        .collect();
    assert_eq!(expected.len(), 50);
    expected.extend(run.unwritten());
    let mut failed_sorted = run.failed.clone();
    failed_sorted.sort();
    expected.sort();
    assert_eq!(
        failed_sorted, expected,
        "the unwritten and the letters the DLQ never took are handed back, nothing else"
    );
}
