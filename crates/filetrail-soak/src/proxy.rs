//! The fault-injecting proxy: HTTP on loopback between the SDK clients and the emulator.
//!
//! Point an SDK client's endpoint at [`Proxy::url`]; every request is read whole, its service
//! and operation taken from `x-amz-target`, and then, by the seeded [`FaultPlan`], either
//! forwarded to the emulator unchanged or answered with a fault in AWS's own shapes (see
//! [`FaultKind`]). Requests without a known `x-amz-target` are forwarded untouched. A request
//! the proxy forwards always completes upstream, even when the client has gone, so "it took
//! effect but the answer was lost" is real.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::faults::{FaultKind, FaultPlan, Service};
use crate::{Rng, SoakError};

/// Largest request body the proxy reads; a larger one is refused with HTTP 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Most client connections served at once; further ones wait to be accepted.
pub const MAX_CONNECTIONS: usize = 512;
/// Most requests forwarded to the emulator at once; the others wait in the proxy (and count
/// against their client's timeout). The emulator is one Python process: past a handful of
/// concurrent requests it only gets slower, and clients timing out and retrying would pile up
/// requests it is still working on.
pub const MAX_FORWARDING: usize = 8;
/// The `Reason` the proxy gives a record it holds back as outside the memory store's time range.
/// AWS documents the rejection ("Records with timestamps that lie outside the retention
/// duration of the memory store. When the retention window is updated, you will receive a
/// RejectedRecords exception if you immediately try to ingest data within the new window",
/// <https://docs.aws.amazon.com/timestream/latest/developerguide/API_RejectedRecord.html>) but
/// not its text; this one names the memory store's time range, as reported answers do.
pub const TIME_RANGE_REASON: &str = "The record timestamp is outside the time range of the memory store. The retention window was updated; wait for the new window before ingesting.";

/// What the proxy did, counted by `operation/outcome` (e.g. `WriteRecords/timeout-after`).
///
/// Outcomes: `received` (every request, counted on arrival), `forwarded`, `throttle`, `server-error`, `timeout-before`, `timeout-after`,
/// `reset-before`, `reset-after`, `rejected` (calls) and `rejected-records` (records),
/// `entries` and `entries-throttled` (PutEvents entries), `answered` (a PutEvents whose every
/// entry was throttled, answered without forwarding), `upstream-error`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats(pub BTreeMap<String, u64>);

impl Stats {
    /// The count of `outcome` for `operation`.
    pub fn get(&self, operation: &str, outcome: &str) -> u64 {
        self.0
            .get(&format!("{operation}/{outcome}"))
            .copied()
            .unwrap_or(0)
    }

    /// The count of `outcome` over every operation.
    pub fn outcome(&self, outcome: &str) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| k.rsplit_once('/').is_some_and(|(_, o)| o == outcome))
            .map(|(_, v)| v)
            .sum()
    }

    /// Requests of `operation` that reached the proxy (each SDK attempt counts, also one whose
    /// client gave up before it was answered).
    pub fn requests(&self, operation: &str) -> u64 {
        self.get(operation, "received")
    }

    /// How many times `kind` was injected (calls; entries for PutEvents partial failures).
    pub fn injected(&self, kind: FaultKind) -> u64 {
        match kind {
            FaultKind::Throttle => self.outcome("throttle"),
            FaultKind::ServerError => self.outcome("server-error"),
            FaultKind::Timeout => self.outcome("timeout-before") + self.outcome("timeout-after"),
            FaultKind::Reset => self.outcome("reset-before") + self.outcome("reset-after"),
            FaultKind::Rejected => self.outcome("rejected"),
            FaultKind::PartialPutEvents => self.outcome("entries-throttled"),
        }
    }

    /// Every injected fault, by kind.
    pub fn by_kind(&self) -> BTreeMap<FaultKind, u64> {
        FaultKind::ALL
            .into_iter()
            .map(|k| (k, self.injected(k)))
            .collect()
    }
}

struct Shared {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    plan: Mutex<FaultPlan>,
    rngs: Mutex<BTreeMap<String, Rng>>,
    stats: Mutex<Stats>,
    /// Requests being forwarded: from the decision to forward until the emulator's answer is
    /// read (waiting for an upstream slot included). A watch, so [`Proxy::idle`] is woken.
    forwarding: watch::Sender<u64>,
    upstream_slots: Arc<Semaphore>,
}

/// One request counted in [`Shared::forwarding`] for as long as it lives.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn new(shared: &Arc<Shared>) -> Self {
        shared.forwarding.send_modify(|n| *n += 1);
        Self(shared.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.forwarding.send_modify(|n| *n -= 1);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn count(&self, operation: &str, outcome: &str, n: u64) {
        *lock(&self.stats)
            .0
            .entry(format!("{operation}/{outcome}"))
            .or_default() += n;
    }

    /// Draws from the named stream of this run's seed.
    fn draw<T>(&self, stream: &str, f: impl FnOnce(&mut Rng) -> T) -> T {
        let seed = lock(&self.plan).seed;
        let mut rngs = lock(&self.rngs);
        let rng = rngs
            .entry(stream.to_owned())
            .or_insert_with(|| Rng::stream(seed, stream));
        f(rng)
    }
}

/// The running proxy; dropping it stops it (open connections are closed).
pub struct Proxy {
    url: String,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").field("url", &self.url).finish()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

impl Proxy {
    /// Start a proxy on a free loopback port forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, plan: FaultPlan) -> Result<Self, SoakError> {
        plan.validate()?;
        let host = upstream
            .strip_prefix("http://")
            .and_then(|rest| rest.split(['/', ':']).next())
            .unwrap_or_default();
        if !(host.starts_with("127.")
            || host == "localhost"
            || upstream.starts_with("http://[::1]"))
        {
            return Err(SoakError::Options(format!(
                "the proxy forwards plain HTTP to an emulator on loopback; {upstream:?} is not http://127.x, localhost or [::1]"
            )));
        }
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| SoakError::Io(format!("bind the proxy: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| SoakError::Io(format!("proxy address: {e}")))?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .build(connector);
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client,
            plan: Mutex::new(plan),
            rngs: Mutex::new(BTreeMap::new()),
            stats: Mutex::new(Stats::default()),
            forwarding: watch::channel(0).0,
            upstream_slots: Arc::new(Semaphore::new(MAX_FORWARDING)),
        });
        let (shutdown, stopped) = watch::channel(false);
        tokio::spawn(accept_loop(listener, shared.clone(), stopped));
        Ok(Self {
            url: format!("http://{addr}"),
            shared,
            shutdown,
        })
    }

    /// The proxy's base URL, for an SDK client's endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What the proxy did so far.
    pub fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }

    /// The plan in force.
    pub fn plan(&self) -> FaultPlan {
        lock(&self.shared.plan).clone()
    }

    /// Change the plan from the next request on (the random streams continue).
    pub fn set_plan(&self, plan: FaultPlan) -> Result<(), SoakError> {
        plan.validate()?;
        *lock(&self.shared.plan) = plan;
        Ok(())
    }

    /// Requests being forwarded to the emulator right now (sent, or waiting for a slot).
    pub fn forwarding(&self) -> u64 {
        *self.shared.forwarding.borrow()
    }

    /// Wait until no request is being forwarded: every request the proxy decided to forward has
    /// been answered by the emulator. Woken by the forwarding itself, not polled; bound it with
    /// a timeout.
    pub async fn idle(&self) {
        let mut forwarding = self.shared.forwarding.subscribe();
        // The sender lives in `shared`, which `self` holds: the watch cannot close here.
        let _ = forwarding.wait_for(|n| *n == 0).await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopped.changed() => return,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let reset = Arc::new(AtomicBool::new(false));
            let io = TokioIo::new(ResetOnDrop {
                stream,
                reset: reset.clone(),
            });
            let service =
                hyper::service::service_fn(move |req| handle(shared.clone(), req, reset.clone()));
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(io, service);
            tokio::select! {
                _ = conn => {}
                _ = stopped.changed() => {}
            }
            drop(permit);
        });
    }
}

/// The client connection; closed with a TCP reset (zero linger) when a fault asks for it.
struct ResetOnDrop {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ResetOnDrop {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ResetOnDrop {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResetOnDrop {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The service's error: close the connection without an answer.
#[derive(Debug, thiserror::Error)]
#[error("fault injected: connection closed without an answer")]
struct Hangup;

type Answer = Result<Response<Full<Bytes>>, Hangup>;

/// What the emulator answered to a forwarded request.
struct Upstream {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Upstream {
    fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(self.body));
        *response.status_mut() = self.status;
        for (name, value) in &self.headers {
            if !is_hop_by_hop(name.as_str()) && name != CONTENT_LENGTH {
                response.headers_mut().append(name, value.clone());
            }
        }
        response
    }
}

fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection" | "keep-alive" | "transfer-encoding" | "te" | "trailer" | "upgrade"
    )
}

fn json_answer(status: u16, content_type: &HeaderValue, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, content_type.clone());
    response
}

/// The throttling error of `service`, as AWS answers it.
fn throttle_answer(service: Service, content_type: &HeaderValue) -> Response<Full<Bytes>> {
    match service {
        Service::Timestream => json_answer(
            429,
            content_type,
            &json!({"__type": "com.amazonaws.timestream.v20181101#ThrottlingException", "Message": "Rate exceeded"}),
        ),
        Service::EventBridge => json_answer(
            400,
            content_type,
            &json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
        ),
        Service::Sqs => json_answer(
            400,
            content_type,
            &json!({"__type": "com.amazonaws.sqs#RequestThrottled", "message": "Rate exceeded"}),
        ),
    }
}

/// The internal error of `service`, as AWS answers it.
fn server_error_answer(service: Service, content_type: &HeaderValue) -> Response<Full<Bytes>> {
    let body = match service {
        Service::Timestream => {
            json!({"__type": "com.amazonaws.timestream.v20181101#InternalServerException", "Message": "Timestream was unable to fully process this request because of an internal server error."})
        }
        Service::EventBridge => {
            json!({"__type": "InternalException", "message": "An internal error occurred."})
        }
        Service::Sqs => {
            json!({"__type": "InternalFailure", "message": "The request processing has failed because of an unknown error, exception or failure."})
        }
    };
    json_answer(500, content_type, &body)
}

/// The `x-amz-target` and content type of a request (the JSON protocol's default when absent).
fn target_and_type(parts: &http::request::Parts) -> (String, HeaderValue) {
    let target = filetrail_testkit::front::amz_target(&parts.headers);
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/x-amz-json-1.0"));
    (target, content_type)
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>, reset: Arc<AtomicBool>) -> Answer {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let mut r = Response::new(Full::new(Bytes::from_static(
                b"request body too large or unreadable",
            )));
            *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return Ok(r);
        }
    };
    let (target, content_type) = target_and_type(&parts);
    let Some((service, operation)) = Service::of_target(&target) else {
        shared.count("other", "received", 1);
        return Ok(forward_or_502(&shared, "other", &parts, body).await);
    };
    let operation = operation.to_owned();
    shared.count(&operation, "received", 1);
    let plan = lock(&shared.plan).clone();
    let rates = plan.rates_for(service);
    let (fault, after) = shared.draw(service.name(), |rng| {
        let u = rng.unit();
        (rates.pick(u), rng.chance(0.5))
    });
    let fault = fault.filter(|k| *k != FaultKind::Rejected || operation == "WriteRecords");
    let request = Held {
        shared: &shared,
        operation: &operation,
        parts: &parts,
        body,
        after,
    };
    match fault {
        Some(FaultKind::Throttle) => {
            shared.count(&operation, "throttle", 1);
            Ok(throttle_answer(service, &content_type))
        }
        Some(FaultKind::ServerError) => {
            shared.count(&operation, "server-error", 1);
            Ok(server_error_answer(service, &content_type))
        }
        Some(FaultKind::Timeout) => {
            request.hang_up("timeout", Some(plan.hold)).await;
            reset.store(true, Ordering::SeqCst);
            Err(Hangup)
        }
        Some(FaultKind::Reset) => {
            request.hang_up("reset", None).await;
            reset.store(true, Ordering::SeqCst);
            Err(Hangup)
        }
        Some(FaultKind::Rejected) => Ok(rejected(&shared, &operation, &parts, request.body).await),
        Some(FaultKind::PartialPutEvents) | None => {
            if service == Service::EventBridge
                && operation == "PutEvents"
                && plan.put_events_entry_throttle > 0.0
            {
                let rate = plan.put_events_entry_throttle;
                Ok(partial_put_events(&shared, &parts, request.body, rate).await)
            } else {
                Ok(forward_or_502(&shared, &operation, &parts, request.body).await)
            }
        }
    }
}

/// A request the proxy decided to fault by hanging up.
struct Held<'a> {
    shared: &'a Arc<Shared>,
    operation: &'a str,
    parts: &'a http::request::Parts,
    body: Bytes,
    /// Whether it is forwarded first (the fault lands after the emulator acted on it).
    after: bool,
}

impl Held<'_> {
    /// Count the fault `kind` (`-before` or `-after` forwarding), forward first when `after`,
    /// and hold the connection for `hold` before the hang-up.
    async fn hang_up(&self, kind: &str, hold: Option<std::time::Duration>) {
        let when = if self.after { "after" } else { "before" };
        self.shared
            .count(self.operation, &format!("{kind}-{when}"), 1);
        if self.after {
            let _ = forward(self.shared, self.parts, self.body.clone()).await;
        }
        if let Some(hold) = hold {
            tokio::time::sleep(hold).await;
        }
    }
}

/// Forward a request to the emulator; the forwarding runs to completion even if the client
/// connection is gone meanwhile.
async fn forward(
    shared: &Arc<Shared>,
    parts: &http::request::Parts,
    body: Bytes,
) -> Result<Upstream, String> {
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let uri = format!("{}{path}", shared.upstream);
    let mut builder = Request::builder().method(parts.method.clone()).uri(&uri);
    for (name, value) in &parts.headers {
        if !is_hop_by_hop(name.as_str()) && name != HOST && name != CONTENT_LENGTH {
            builder = builder.header(name, value);
        }
    }
    let request = builder
        .body(Full::new(body))
        .map_err(|e| format!("build the forwarded request: {e}"))?;
    let in_flight = InFlight::new(shared);
    // Wait for a slot here: a client that gives up meanwhile drops this future, and its
    // request is never forwarded.
    let slot = shared
        .upstream_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| format!("proxy closing: {e}"))?;
    let shared = shared.clone();
    let task = tokio::spawn(async move {
        let _slot = slot;
        let _in_flight = in_flight;
        async {
            let response = shared
                .client
                .request(request)
                .await
                .map_err(|e| format!("forward to {}: {e}", shared.upstream))?;
            let (head, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| format!("read the emulator's answer: {e}"))?
                .to_bytes();
            Ok(Upstream {
                status: head.status,
                headers: head.headers,
                body,
            })
        }
        .await
    });
    task.await
        .map_err(|e| format!("forwarding task failed: {e}"))?
}

async fn forward_or_502(
    shared: &Arc<Shared>,
    operation: &str,
    parts: &http::request::Parts,
    body: Bytes,
) -> Response<Full<Bytes>> {
    match forward(shared, parts, body).await {
        Ok(up) => {
            shared.count(operation, "forwarded", 1);
            up.into_response()
        }
        Err(e) => {
            shared.count(operation, "upstream-error", 1);
            let mut r = Response::new(Full::new(Bytes::from(e)));
            *r.status_mut() = StatusCode::BAD_GATEWAY;
            r
        }
    }
}

/// A `WriteRecords` some of whose records Timestream refuses as outside the memory store's
/// time range, as it does for a while after the table's retention was changed
/// (<https://docs.aws.amazon.com/timestream/latest/developerguide/API_RejectedRecord.html>):
/// the other records are forwarded (stored), and the call is answered with HTTP 419
/// `RejectedRecordsException` naming the held-back ones by `RecordIndex`
/// (<https://docs.aws.amazon.com/timestream/latest/developerguide/API_WriteRecords.html>).
/// The proxy never says "already exists": Timestream answers an identical re-write with
/// success.
async fn rejected(
    shared: &Arc<Shared>,
    operation: &str,
    parts: &http::request::Parts,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let Ok(mut request) = serde_json::from_slice::<Value>(&body) else {
        return forward_or_502(shared, operation, parts, body).await;
    };
    let records = request["Records"].as_array().cloned().unwrap_or_default();
    if records.is_empty() {
        return forward_or_502(shared, operation, parts, body).await;
    }
    let mut picked: Vec<bool> = shared.draw("rejected-records", |rng| {
        records.iter().map(|_| rng.chance(0.5)).collect()
    });
    if !picked.contains(&true) {
        let i = shared.draw("rejected-records", |rng| {
            usize::try_from(rng.below(records.len() as u64)).unwrap_or(0)
        });
        picked[i] = true;
    }
    let kept: Vec<Value> = records
        .iter()
        .zip(&picked)
        .filter(|(_, p)| !**p)
        .map(|(r, _)| r.clone())
        .collect();
    if !kept.is_empty() {
        request["Records"] = Value::Array(kept);
        match forward(shared, parts, Bytes::from(request.to_string())).await {
            Ok(up) if up.status == StatusCode::OK => {}
            // The emulator refused the call: that is the answer.
            Ok(up) => {
                shared.count(operation, "forwarded", 1);
                return up.into_response();
            }
            Err(e) => {
                shared.count(operation, "upstream-error", 1);
                let mut r = Response::new(Full::new(Bytes::from(e)));
                *r.status_mut() = StatusCode::BAD_GATEWAY;
                return r;
            }
        }
    }
    let rejected: Vec<Value> = picked
        .iter()
        .enumerate()
        .filter(|(_, p)| **p)
        .map(|(i, _)| json!({"RecordIndex": i, "Reason": TIME_RANGE_REASON}))
        .collect();
    shared.count(operation, "rejected", 1);
    shared.count(operation, "rejected-records", rejected.len() as u64);
    json_answer(
        419,
        &HeaderValue::from_static("application/x-amz-json-1.0"),
        &json!({
            "__type": "com.amazonaws.timestream.v20181101#RejectedRecordsException",
            "Message": "One or more records have been rejected. See RejectedRecords for details.",
            "RejectedRecords": rejected,
        }),
    )
}

/// Throttle some PutEvents entries: forward only the others, and answer every entry in order
/// with its own outcome, as EventBridge does for a partial failure.
async fn partial_put_events(
    shared: &Arc<Shared>,
    parts: &http::request::Parts,
    body: Bytes,
    rate: f64,
) -> Response<Full<Bytes>> {
    const OP: &str = "PutEvents";
    let Ok(mut request) = serde_json::from_slice::<Value>(&body) else {
        return forward_or_502(shared, OP, parts, body).await;
    };
    let entries = request["Entries"].as_array().cloned().unwrap_or_default();
    let throttled: Vec<bool> = shared.draw("put-events-entries", |rng| {
        entries.iter().map(|_| rng.chance(rate)).collect()
    });
    shared.count(OP, "entries", entries.len() as u64);
    let dropped = throttled.iter().filter(|t| **t).count();
    if dropped == 0 {
        return forward_or_502(shared, OP, parts, body).await;
    }
    shared.count(OP, "entries-throttled", dropped as u64);
    let kept: Vec<Value> = entries
        .iter()
        .zip(&throttled)
        .filter(|(_, t)| !**t)
        .map(|(e, _)| e.clone())
        .collect();
    let mut answered: Vec<Value> = Vec::new();
    let mut failed = 0u64;
    if kept.is_empty() {
        shared.count(OP, "answered", 1);
    } else {
        request["Entries"] = Value::Array(kept);
        let up = match forward(shared, parts, Bytes::from(request.to_string())).await {
            Ok(up) => up,
            Err(e) => {
                shared.count(OP, "upstream-error", 1);
                let mut r = Response::new(Full::new(Bytes::from(e)));
                *r.status_mut() = StatusCode::BAD_GATEWAY;
                return r;
            }
        };
        let parsed = serde_json::from_slice::<Value>(&up.body).ok();
        match parsed {
            Some(v) if up.status == StatusCode::OK => {
                answered = v["Entries"].as_array().cloned().unwrap_or_default();
                failed = v["FailedEntryCount"].as_u64().unwrap_or(0);
            }
            // The emulator refused the call: that is the answer.
            _ => {
                shared.count(OP, "forwarded", 1);
                return up.into_response();
            }
        }
        shared.count(OP, "forwarded", 1);
    }
    let mut from_upstream = answered.into_iter();
    let entries: Vec<Value> = throttled
        .iter()
        .map(|&t| {
            if t {
                json!({"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"})
            } else {
                from_upstream.next().unwrap_or_else(
                    || json!({"ErrorCode": "InternalFailure", "ErrorMessage": "no answer for this entry"}),
                )
            }
        })
        .collect();
    json_answer(
        200,
        &HeaderValue::from_static("application/x-amz-json-1.1"),
        &json!({"FailedEntryCount": failed + dropped as u64, "Entries": entries}),
    )
}
