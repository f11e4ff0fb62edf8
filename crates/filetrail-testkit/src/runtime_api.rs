//! A local stand-in for the Lambda Runtime API, to run a built function binary for real.
//!
//! It serves `GET /2018-06-01/runtime/invocation/next` with the queued events (and the
//! headers Lambda sends), and records what the function posts to `.../response` and
//! `.../error`. Minimal HTTP/1.1 with keep-alive, enough for `lambda_runtime`'s client.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// What the function answered for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The request id.
    pub request_id: String,
    /// `true` for `/response`, `false` for `/error`.
    pub ok: bool,
    /// The posted body.
    pub body: String,
}

#[derive(Default)]
struct State {
    events: VecDeque<(String, String)>,
    answers: Vec<Answer>,
    first_next: Option<Instant>,
}

/// What the server's connections and its owner share: the state, and one notification for
/// every change of it (an event queued, a first request for work, an answer), so that no side
/// ever polls.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Notify,
    /// How long each invocation may run ([`INVOCATION_TIMEOUT`] unless started with another).
    timeout: Duration,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wait until `ready` finds what it looks for in the state, or `timeout` passes.
    async fn wait_for<T>(
        &self,
        timeout: Duration,
        ready: impl Fn(&mut State) -> Option<T>,
    ) -> Option<T> {
        let end = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before the check: a change between the check and the wait still wakes.
            let changed = self.changed.notified();
            if let Some(found) = ready(&mut self.lock()) {
                return Some(found);
            }
            if tokio::time::timeout_at(end, changed).await.is_err() {
                return ready(&mut self.lock());
            }
        }
    }

    fn changed(&self) {
        self.changed.notify_waiters();
    }
}

/// The stand-in server; drop it to stop serving.
pub struct RuntimeApi {
    /// `127.0.0.1:port`, the value for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How long each invocation may run (sent as `Lambda-Runtime-Deadline-Ms`).
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(30);

impl RuntimeApi {
    /// Start serving on a free loopback port; each invocation may run [`INVOCATION_TIMEOUT`].
    pub async fn start() -> Self {
        Self::start_with_timeout(INVOCATION_TIMEOUT).await
    }

    /// Start serving on a free loopback port; each invocation may run `timeout` (its
    /// `Lambda-Runtime-Deadline-Ms` is `timeout` after the function asked for it).
    pub async fn start_with_timeout(timeout: Duration) -> Self {
        let (listener, address) = crate::loopback("the Runtime API").await;
        let address = address.to_string();
        let shared = Arc::new(Shared {
            timeout,
            ..Shared::default()
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn, s.clone()));
            }
        });
        Self {
            address,
            shared,
            task,
        }
    }

    /// Queue an invocation of `event` (JSON) with `request_id`.
    pub fn invoke(&self, request_id: &str, event: &str) {
        self.shared
            .lock()
            .events
            .push_back((request_id.to_owned(), event.to_owned()));
        self.shared.changed();
    }

    /// When the function first asked for an invocation.
    pub fn first_next(&self) -> Option<Instant> {
        self.shared.lock().first_next
    }

    /// Wait until `n` answers arrived or `timeout` passed; returns the answers so far.
    pub async fn answers(&self, n: usize, timeout: Duration) -> Vec<Answer> {
        self.shared
            .wait_for(timeout, |s| {
                (s.answers.len() >= n).then(|| s.answers.clone())
            })
            .await
            .unwrap_or_else(|| self.shared.lock().answers.clone())
    }

    /// Wait for the answer to invocation `request_id`, or `None` after `timeout`.
    pub async fn answer(&self, request_id: &str, timeout: Duration) -> Option<Answer> {
        self.shared
            .wait_for(timeout, |s| {
                s.answers
                    .iter()
                    .find(|a| a.request_id == request_id)
                    .cloned()
            })
            .await
    }

    /// Wait until the function asked for its first invocation, or `timeout` passed.
    pub async fn wait_first_next(&self, timeout: Duration) -> Option<Instant> {
        self.shared.wait_for(timeout, |s| s.first_next).await
    }
}

/// Long-poll for the next queued event, as `/runtime/invocation/next` does; the first call
/// is remembered.
async fn next_event(shared: &Shared) -> (String, String) {
    loop {
        let changed = shared.changed.notified();
        let next = {
            let mut s = shared.lock();
            if s.first_next.is_none() {
                s.first_next = Some(Instant::now());
                shared.changed();
            }
            s.events.pop_front()
        };
        if let Some(next) = next {
            return next;
        }
        changed.await;
    }
}

async fn serve(conn: TcpStream, shared: Arc<Shared>) {
    let mut reader = BufReader::new(conn);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                content_length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; content_length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let response = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let (id, event) = next_event(&shared).await;
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d + shared.timeout)
                .unwrap_or_default()
                .as_millis();
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:111122223333:function:filetrail-test\r\nLambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1\r\nContent-Length: {}\r\n\r\n{event}",
                event.len()
            )
        } else if method == "POST" && (path.ends_with("/response") || path.ends_with("/error")) {
            let id = path.split('/').rev().nth(1).unwrap_or_default().to_owned();
            let answer = Answer {
                request_id: id,
                ok: path.ends_with("/response"),
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            shared.lock().answers.push(answer);
            shared.changed();
            "HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n".to_owned()
        } else {
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned()
        };
        if reader
            .get_mut()
            .write_all(response.as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Lambda's application log levels, least severe first.
pub const LOG_LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// The lines of a function's standard output that Lambda's log-level filtering sends to
/// CloudWatch Logs at application log level `level` (JSON log format): a line's level is the
/// value of its JSON `level` key, or INFO when the key is missing or invalid or the line is not
/// JSON; Lambda sends that level and the more severe ones
/// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
pub fn lines_lambda_keeps<'a>(stdout: &'a str, level: &str) -> Vec<&'a str> {
    let rank = |l: &str| LOG_LEVELS.iter().position(|x| x.eq_ignore_ascii_case(l));
    let threshold = rank(level).unwrap_or_else(|| panic!("not a Lambda log level: {level}"));
    stdout
        .lines()
        .filter(|line| {
            let own = serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("level").and_then(|l| l.as_str()).and_then(rank));
            own.unwrap_or(2) >= threshold
        })
        .collect()
}
