//! A front to the emulator that answers the few operations moto does not implement.
//!
//! Every request is forwarded to the emulator unchanged, except those whose `x-amz-target`
//! names an operation the front was given an answer for: those are answered in AWS's wire
//! shape by that answer. It keeps every request's JSON body, so a test can see what a client
//! asked of the emulator ([`Front::requests`]). moto does not implement EventBridge `TestEventPattern`, so
//! [`test_event_pattern`] answers it for the exact-match patterns filetrail's tests use, as
//! EventBridge would.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

/// An answer to one operation: the JSON request body in, the HTTP status and JSON body out.
pub type Answer = Arc<dyn Fn(&Value) -> (u16, Value) + Send + Sync>;

/// The `x-amz-target` of EventBridge `TestEventPattern`.
pub const TEST_EVENT_PATTERN: &str = "AWSEvents.TestEventPattern";

struct Shared {
    upstream: String,
    answers: BTreeMap<String, Answer>,
    answered: Mutex<BTreeMap<String, usize>>,
    /// Every JSON request body, by `x-amz-target`, answered or forwarded.
    requests: Mutex<BTreeMap<String, Vec<Value>>>,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// A running front; it serves until the test's runtime ends.
pub struct Front {
    url: String,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Front {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Front").field("url", &self.url).finish()
    }
}

impl Front {
    /// A front on a free loopback port forwarding to `upstream`, answering the operations in
    /// `answers` (by `x-amz-target`) itself.
    pub async fn start(upstream: &str, answers: Vec<(&str, Answer)>) -> Self {
        let (listener, addr) = crate::loopback("the front").await;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            answers: answers
                .into_iter()
                .map(|(t, a)| (t.to_owned(), a))
                .collect(),
            answered: Mutex::new(BTreeMap::new()),
            requests: Mutex::new(BTreeMap::new()),
            client: Client::builder(TokioExecutor::new()).build_http(),
        });
        let serving = shared.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let shared = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(handle(&shared, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Self {
            url: format!("http://{addr}"),
            shared,
        }
    }

    /// The front's URL, to use as an endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The JSON bodies of every request of `target` the front received (answered or
    /// forwarded), in order.
    pub fn requests(&self, target: &str) -> Vec<Value> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(target)
            .cloned()
            .unwrap_or_default()
    }

    /// How many requests of `target` the front answered itself.
    pub fn answered(&self, target: &str) -> usize {
        self.shared
            .answered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(target)
            .copied()
            .unwrap_or(0)
    }
}

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("unreadable body: {e}")),
    };
    let target = amz_target(&parts.headers);
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(target.clone())
        .or_default()
        .push(request.clone());
    if let Some(answer) = shared.answers.get(&target) {
        let (status, reply) = answer(&request);
        *shared
            .answered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(target)
            .or_default() += 1;
        let mut r = Response::new(Full::new(Bytes::from(reply.to_string())));
        *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        return r;
    }
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let mut forward = Request::builder()
        .method(parts.method.clone())
        .uri(format!("{}{path}", shared.upstream));
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            forward = forward.header(name, value);
        }
    }
    let Ok(forward) = forward.body(Full::new(body)) else {
        return plain(
            StatusCode::BAD_GATEWAY,
            "could not build the forwarded request".into(),
        );
    };
    match shared.client.request(forward).await {
        Ok(up) => {
            let (head, body) = up.into_parts();
            match body.collect().await {
                Ok(b) => Response::from_parts(head, Full::new(b.to_bytes())),
                Err(e) => plain(StatusCode::BAD_GATEWAY, format!("upstream body: {e}")),
            }
        }
        Err(e) => plain(StatusCode::BAD_GATEWAY, format!("upstream: {e}")),
    }
}

fn plain(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = status;
    r
}

/// An [`Answer`] to `TestEventPattern` (`{"Result": bool}`) for patterns made of exact-match
/// lists and nested objects, which is all filetrail's rules use; EventBridge's other
/// operators (`prefix`, `anything-but`, ...) make it panic rather than guess.
/// <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html>
pub fn test_event_pattern() -> Answer {
    Arc::new(|request: &Value| {
        let pattern: Value = request["EventPattern"]
            .as_str()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_else(|| panic!("TestEventPattern without a JSON EventPattern: {request}"));
        let event: Value = request["Event"]
            .as_str()
            .and_then(|e| serde_json::from_str(e).ok())
            .unwrap_or_else(|| panic!("TestEventPattern without a JSON Event: {request}"));
        for field in [
            "id",
            "account",
            "source",
            "time",
            "region",
            "resources",
            "detail-type",
        ] {
            if event.get(field).is_none() {
                return (
                    400,
                    json!({"__type": "InvalidEventPatternException", "message": format!("Event is missing the mandatory field {field}")}),
                );
            }
        }
        (200, json!({"Result": matches(&pattern, &event)}))
    })
}

fn matches(pattern: &Value, event: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        panic!("an event pattern is a JSON object: {pattern}");
    };
    fields.iter().all(|(key, want)| {
        let got = &event[key.as_str()];
        match want {
            Value::Object(_) => matches(want, got),
            Value::Array(values) => {
                values.iter().all(|v| {
                    assert!(
                        !v.is_object(),
                        "the front answers only exact-match patterns, not {v}"
                    );
                    true
                }) && match got {
                    Value::Array(items) => items.iter().any(|i| values.contains(i)),
                    other => values.contains(other),
                }
            }
            other => panic!("pattern values are arrays or objects, not {other}"),
        }
    })
}

/// The operation a request of the AWS JSON protocol names in its `x-amz-target` header
/// (`Service.Operation`), empty when absent.
pub fn amz_target(headers: &http::HeaderMap) -> String {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_patterns_match_as_eventbridge_does() {
        let event = json!({"source": "sdc.sorter", "detail-type": "FileMoved", "detail": {"action_type": "PUT"}});
        assert!(matches(&json!({"detail-type": ["FileMoved"]}), &event));
        assert!(matches(
            &json!({"source": ["sdc.sorter", "sdc.processor"], "detail": {"action_type": ["PUT"]}}),
            &event
        ));
        assert!(!matches(&json!({"source": ["sdc.processor"]}), &event));
        assert!(!matches(
            &json!({"detail": {"action_type": ["DELETE"]}}),
            &event
        ));
    }
}
