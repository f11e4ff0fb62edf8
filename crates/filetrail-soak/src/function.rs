//! The recorder as the mapping invokes it: in-process, or the real binary that can be killed.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use filetrail_recorder::{Counts, DeadLetters, Recorder, Sink};
use filetrail_testkit::runtime_api::{INVOCATION_TIMEOUT, RuntimeApi};
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

/// Add `c` to `total`.
pub fn add_counts(total: &mut Counts, c: &Counts) {
    total.received += c.received;
    total.written += c.written;
    total.duplicate += c.duplicate;
    total.retried += c.retried;
    total.dead_lettered += c.dead_lettered;
    total.failed += c.failed;
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
                add_counts(
                    &mut self.counts.lock().unwrap_or_else(PoisonError::into_inner),
                    &counts,
                );
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
    exe: PathBuf,
    env: Vec<(String, String)>,
    api: RuntimeApi,
    child: tokio::process::Child,
    answered: usize,
    invocations: usize,
    rng: Rng,
    kill_rate: f64,
    /// Moving average of a batch's duration, to draw kill moments within batches.
    typical: Duration,
    /// A drawn kill whose batch finished before the drawn moment: it is carried to the next.
    carried: bool,
    proxy: Arc<Proxy>,
    stats: Arc<Mutex<KillStats>>,
    log: Option<PathBuf>,
}

impl Binary {
    /// Start `exe` with `env` (plus the Lambda variables); it reaches AWS through `proxy`.
    pub async fn start(
        exe: PathBuf,
        env: Vec<(String, String)>,
        proxy: Arc<Proxy>,
        kill_rate: f64,
        seed: u64,
        stats: Arc<Mutex<KillStats>>,
        log: Option<PathBuf>,
    ) -> Result<Self, SoakError> {
        let api = RuntimeApi::start().await;
        let child = spawn(&exe, &env, &api, &proxy, log.as_ref())?;
        stats.lock().unwrap_or_else(PoisonError::into_inner).starts += 1;
        Ok(Self {
            exe,
            env,
            api,
            child,
            answered: 0,
            invocations: 0,
            rng: Rng::stream(seed, "kills"),
            kill_rate,
            typical: Duration::from_millis(50),
            carried: false,
            proxy,
            stats,
            log,
        })
    }

    async fn restart(&mut self) -> Result<(), SoakError> {
        let _ = self.child.kill().await;
        self.api = RuntimeApi::start().await;
        self.answered = 0;
        self.child = spawn(
            &self.exe,
            &self.env,
            &self.api,
            &self.proxy,
            self.log.as_ref(),
        )?;
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .starts += 1;
        Ok(())
    }
}

fn spawn(
    exe: &PathBuf,
    env: &[(String, String)],
    api: &RuntimeApi,
    proxy: &Proxy,
    log: Option<&PathBuf>,
) -> Result<tokio::process::Child, SoakError> {
    let mut cmd = tokio::process::Command::new(exe);
    cmd.env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "filetrail-recorder")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_ENDPOINT_URL", proxy.url())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    match log {
        Some(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| SoakError::Io(format!("create {}: {e}", dir.display())))?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| SoakError::Io(format!("open {}: {e}", path.display())))?;
            let err = file
                .try_clone()
                .map_err(|e| SoakError::Io(format!("log file: {e}")))?;
            cmd.stdout(file).stderr(err);
        }
        None => {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
    cmd.spawn()
        .map_err(|e| SoakError::Binary(format!("start {}: {e}", exe.display())))
}

impl Function for Binary {
    async fn invoke(&mut self, event: &Value) -> Invocation {
        self.invocations += 1;
        let id = format!("invocation-{}", self.invocations);
        let calls_before = self.proxy.stats().0.values().sum::<u64>();
        let drawn = self.rng.chance(self.kill_rate);
        if drawn {
            self.stats
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .drawn += 1;
        }
        let kill_at = (drawn || self.carried).then(|| {
            let span = u64::try_from(self.typical.as_micros() * 6 / 5).unwrap_or(u64::MAX);
            Duration::from_micros(self.rng.below(span.max(1)))
        });
        let started = Instant::now();
        self.api.invoke(&id, &event.to_string());
        let wanted = self.answered + 1;
        let answer = async {
            let answers = self.api.answers(wanted, INVOCATION_TIMEOUT).await;
            answers.into_iter().find(|a| a.request_id == id)
        };
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
                self.answered += 1;
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
                let _ = self.child.start_kill();
                let _ = self.child.wait().await;
                {
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
                match self.restart().await {
                    Ok(()) => Invocation::Crashed,
                    Err(e) => Invocation::Error(format!("could not restart the recorder: {e}")),
                }
            }
        }
    }
}
