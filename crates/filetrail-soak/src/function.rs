//! The recorder as the mapping invokes it: in-process, or the real binary that can be killed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use filetrail_aws::emf::MetricCounts;
use filetrail_recorder::{Counts, DeadLetters, Recorder, Sink};
use filetrail_testkit::lambda::{Lambda, Output, Spec};
use filetrail_testkit::runtime_api::INVOCATION_TIMEOUT;
use serde::Serialize;
use serde_json::Value;

use crate::mapping::{Function, Invocation};
use crate::{Proxy, Rng, SoakError};

/// The recorder library called in this process, as `lambda_runtime` would call it: the event
/// deserialized from JSON, a deadline of the function timeout minus the safety margin.
pub struct InProcess<S, D> {
    recorder: Arc<Recorder<S, D>>,
    timeout: Duration,
    margin: Duration,
    counts: Arc<Mutex<Counts>>,
}

impl<S: Sink, D: DeadLetters> InProcess<S, D> {
    /// Invoke `recorder` with `timeout` per invocation, working to `margin` before it; every
    /// invocation's counts are added to `counts`.
    pub fn new(
        recorder: Arc<Recorder<S, D>>,
        timeout: Duration,
        margin: Duration,
        counts: Arc<Mutex<Counts>>,
    ) -> Self {
        Self {
            recorder,
            timeout,
            margin,
            counts,
        }
    }
}

impl<S: Sink + 'static, D: DeadLetters + 'static> Function for InProcess<S, D> {
    async fn invoke(&mut self, event: &Value) -> Invocation {
        let event: filetrail_recorder::SqsBatch = match serde_json::from_value(event.clone()) {
            Ok(e) => e,
            Err(e) => return Invocation::Error(format!("event does not deserialize: {e}")),
        };
        let deadline = Instant::now() + self.timeout.saturating_sub(self.margin);
        match tokio::time::timeout(self.timeout, self.recorder.handle(&event, deadline)).await {
            Ok(Ok((response, counts))) => {
                (self.counts.lock().unwrap_or_else(PoisonError::into_inner)).add(&counts);
                serde_json::to_value(response)
                    .map_or_else(|e| Invocation::Error(e.to_string()), Invocation::Response)
            }
            Ok(Err(e)) => Invocation::Error(e.to_string()),
            Err(_) => Invocation::Error("the invocation timed out".into()),
        }
    }
}

/// Where the kills of a [`Binary`] landed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KillStats {
    /// Processes started (the first one included).
    pub starts: u64,
    /// Invocations for which a kill was drawn.
    pub drawn: u64,
    /// Kills done (a drawn kill whose batch finished before the drawn moment is carried to
    /// the next batch).
    pub kills: u64,
    /// Kills before the process sent any request for the batch.
    pub before_any_call: u64,
    /// Kills while a request of the process was being forwarded to the emulator (it takes
    /// effect; the answer is lost).
    pub during_a_call: u64,
    /// Kills after at least one request was answered, none in flight.
    pub between_calls: u64,
}

/// The real `filetrail-recorder` binary under a local Runtime API, one invocation at a time;
/// at a seeded share of invocations it is SIGKILLed at a random moment of the batch and started
/// again.
pub struct Binary {
    spec: Spec,
    lambda: Lambda,
    rng: Rng,
    kill_rate: f64,
    /// Moving average of a batch's duration, to draw kill moments within batches.
    typical: Duration,
    /// A drawn kill whose batch finished before the drawn moment: it is carried to the next.
    carried: bool,
    proxy: Arc<Proxy>,
    stats: Arc<Mutex<KillStats>>,
}

impl Binary {
    /// Start `exe` with `env` (plus the Lambda variables); it reaches AWS through `proxy`, and
    /// writes its logs to `log` (discarded when `None`).
    pub async fn start(
        exe: PathBuf,
        env: Vec<(&str, String)>,
        proxy: Arc<Proxy>,
        kill_rate: f64,
        seed: u64,
        stats: Arc<Mutex<KillStats>>,
        log: Option<PathBuf>,
    ) -> Result<Self, SoakError> {
        let spec = Spec::new(exe)
            .name("filetrail-recorder")
            .aws_endpoint(proxy.url())
            .envs(env)
            .output(log.map_or(Output::Discard, Output::File));
        let lambda = start(&spec).await?;
        stats.lock().unwrap_or_else(PoisonError::into_inner).starts += 1;
        Ok(Self {
            spec,
            lambda,
            rng: Rng::stream(seed, "kills"),
            kill_rate,
            typical: Duration::from_millis(50),
            carried: false,
            proxy,
            stats,
        })
    }

    async fn restart(&mut self) -> Result<(), SoakError> {
        self.lambda.kill().await;
        self.lambda = start(&self.spec).await?;
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .starts += 1;
        Ok(())
    }

    /// Count a kill by where it landed: `in_flight` requests being forwarded, `calls` answered.
    fn count_kill(&self, in_flight: u64, calls: u64) {
        let mut s = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        s.kills += 1;
        if in_flight > 0 {
            s.during_a_call += 1;
        } else if calls == 0 {
            s.before_any_call += 1;
        } else {
            s.between_calls += 1;
        }
    }

    /// Whether to kill during this invocation, and when.
    fn draw_kill(&mut self) -> Option<Duration> {
        let drawn = self.rng.chance(self.kill_rate);
        if drawn {
            self.stats
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .drawn += 1;
        }
        (drawn || self.carried).then(|| {
            let span = u64::try_from(self.typical.as_micros() * 6 / 5).unwrap_or(u64::MAX);
            Duration::from_micros(self.rng.below(span.max(1)))
        })
    }
}

async fn start(spec: &Spec) -> Result<Lambda, SoakError> {
    spec.start()
        .await
        .map_err(|e| SoakError::Binary(e.to_string()))
}

impl Function for Binary {
    async fn invoke(&mut self, event: &Value) -> Invocation {
        let calls_before = self.proxy.stats().0.values().sum::<u64>();
        let kill_at = self.draw_kill();
        let started = Instant::now();
        let id = self.lambda.send(&event.to_string());
        let answer = self.lambda.api().answer(&id, INVOCATION_TIMEOUT);
        let outcome = match kill_at {
            Some(at) => {
                tokio::select! {
                    a = answer => Some(a),
                    () = tokio::time::sleep(at) => None,
                }
            }
            None => Some(answer.await),
        };
        match outcome {
            Some(Some(a)) => {
                self.carried = kill_at.is_some();
                self.typical = (self.typical * 4 + started.elapsed()) / 5;
                if a.ok {
                    serde_json::from_str(&a.body)
                        .map_or_else(|e| Invocation::Error(e.to_string()), Invocation::Response)
                } else {
                    Invocation::Error(a.body)
                }
            }
            Some(None) => {
                // No answer within the invocation timeout: Lambda would kill it too.
                let _ = self.restart().await;
                Invocation::Error("the invocation timed out".into())
            }
            None => {
                self.carried = false;
                let in_flight = self.proxy.forwarding();
                let calls = self.proxy.stats().0.values().sum::<u64>() - calls_before;
                self.lambda.kill().await;
                self.count_kill(in_flight, calls);
                match self.restart().await {
                    Ok(()) => Invocation::Crashed,
                    Err(e) => Invocation::Error(format!("could not restart the recorder: {e}")),
                }
            }
        }
    }
}
