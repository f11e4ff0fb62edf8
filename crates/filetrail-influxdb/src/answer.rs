//! What InfluxDB's answer to a write means for each line sent: the one classifier.
//!
//! | answer | meaning |
//! | --- | --- |
//! | 2xx (204) | every line written |
//! | 429, 5xx | the request may pass later: [`WriteError::Retryable`], with `Retry-After` when sent |
//! | 401, 403, 404, and 500 "retention policy not found" | [`WriteError::Configuration`]: token, database, bucket, org or retention policy is wrong; nothing is wrong with the lines |
//! | 400 / 422 naming lines | named lines [`LineOutcome::Refused`] with the server's reason, the others [`LineOutcome::Retry`] |
//! | 400 / 422 / 413 about lines without naming them | every line [`LineOutcome::Isolate`]: send each alone to learn which |
//! | any other 400 or 4xx | [`WriteError::Configuration`] (a request the server refuses whatever the lines) |
//!
//! How servers name lines in a 400:
//! - InfluxDB 1.x and 2.x: `unable to parse '<line>': <reason>` (one per line, newline-separated,
//!   in `error` (1.x) or `message` (2.x); 1.x prefixes `partial write: ` and ends `dropped=N`);
//! - InfluxDB 3 (Cloud Dedicated / Serverless / Clustered): `{"code":"invalid","line":N,
//!   "message":"failed to parse line protocol: errors encountered on line(s):\nerror parsing
//!   line N (1-based): <reason>\n…"}`;
//! - InfluxDB 3 Core / Enterprise: `{"error":"partial write of line protocol occurred",
//!   "data":[{"original_line":…,"line_number":N,"error_message":…}]}` (`data` is one object
//!   when partial writes are off).
//!
//! Lines not named are sent again rather than counted as written: InfluxDB 3 with partial
//! writes off (the Cloud default) writes nothing of a request with a bad line, while 1.x writes
//! the rest. A re-sent point overwrites itself, so sending it again is always safe.

use std::collections::HashMap;
use std::time::Duration;

use crate::config::{ENV_DATABASE, ENV_RETENTION_POLICY, ENV_TOKEN, ENV_TOKEN_SECRET_ARN, ENV_URL};

/// What became of one line of a write request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineOutcome {
    /// Stored.
    Written,
    /// The server named this line as unacceptable: it will never be stored. The reason quotes
    /// the server.
    Refused(String),
    /// Not named, but other lines of the request were refused and this one may not have been
    /// stored: send it again.
    Retry(String),
    /// The server refused part of the request without saying which lines: send each line
    /// alone to find out.
    Isolate(String),
}

/// A write request failed as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// Throttled, a server error or a transport failure: the same request may pass later.
    #[error("{message}")]
    Retryable {
        /// What happened.
        message: String,
        /// The delay the server asked for (`Retry-After`), if any.
        retry_after: Option<Duration>,
    },
    /// The server refuses this request whatever its lines hold: fix the configuration.
    #[error("{message}")]
    Configuration {
        /// What is wrong and which setting to check.
        message: String,
    },
}

/// The server's message: the `error` or `message` member of a JSON body, else the body text.
pub fn server_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_slice::<serde_json::Value>(body) {
        for k in ["error", "message"] {
            if let Some(serde_json::Value::String(s)) = o.get(k) {
                return s.clone();
            }
        }
    }
    text.trim().to_owned()
}

/// `Retry-After` as a delay: whole seconds, or an HTTP date (RFC 2822 form) from now.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let ms = at.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

/// Classify InfluxDB's answer to a write of `lines` (in the order sent).
pub fn classify(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    lines: &[impl AsRef<str>],
) -> Result<Vec<LineOutcome>, WriteError> {
    let message = server_message(body);
    let said = |what: &str| format!("InfluxDB answered {status} ({what}): {message}");
    match status {
        200..=299 => Ok(vec![LineOutcome::Written; lines.len()]),
        401 | 403 => Err(WriteError::Configuration {
            message: format!(
                "{}; check the token ({ENV_TOKEN} or the secret {ENV_TOKEN_SECRET_ARN} names) and its write permission",
                said(if status == 401 {
                    "unauthorized"
                } else {
                    "forbidden"
                })
            ),
        }),
        404 => Err(WriteError::Configuration {
            message: format!(
                "{}; check {ENV_URL} and the database ({ENV_DATABASE}) or bucket and org",
                said("not found")
            ),
        }),
        500 if message.contains("retention policy not found") => Err(WriteError::Configuration {
            message: format!(
                "{}; check {ENV_RETENTION_POLICY}",
                said("no such retention policy")
            ),
        }),
        429 | 500..=599 => Err(WriteError::Retryable {
            message: said(if status == 429 {
                "too many requests"
            } else {
                "server error"
            }),
            retry_after: retry_after.and_then(parse_retry_after),
        }),
        400 | 413 | 422 => {
            let named = named_lines(body, &message, lines);
            if !named.is_empty() {
                let refused = named.len();
                return Ok((0..lines.len())
                    .map(|i| match named.get(&i) {
                        Some(reason) => LineOutcome::Refused(format!(
                            "InfluxDB refused the point ({status}): {reason}"
                        )),
                        None => LineOutcome::Retry(format!(
                            "sent again: InfluxDB refused {refused} other point(s) of the same request and may have stored none of it"
                        )),
                    })
                    .collect());
            }
            if status == 413 || about_lines(&message) {
                let why = said(if status == 413 {
                    "request too large"
                } else {
                    "some points refused, not saying which"
                });
                return Ok(vec![LineOutcome::Isolate(why); lines.len()]);
            }
            Err(WriteError::Configuration {
                message: said("bad request"),
            })
        }
        _ => Err(WriteError::Configuration {
            message: said("unexpected answer"),
        }),
    }
}

/// Whether a 400's message is about the points (so some line is at fault) rather than the
/// request (`database is required`, a bad precision, ...).
fn about_lines(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "partial write",
        "unable to parse",
        "field type conflict",
        "beyond retention",
        "max-values-per-tag",
        "max-series-per-database",
        "line protocol",
        "column type",
        "schema",
    ]
    .iter()
    .any(|w| m.contains(w))
}

/// Lines (0-based index → the server's reason) the answer names.
fn named_lines(body: &[u8], message: &str, lines: &[impl AsRef<str>]) -> HashMap<usize, String> {
    let mut named = HashMap::new();
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    // InfluxDB 3 Core / Enterprise: data: [{line_number, error_message, original_line}] or {..}.
    if let Some(data) = json.as_ref().and_then(|j| j.get("data")) {
        let items: Vec<&serde_json::Value> = match data {
            serde_json::Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for item in items {
            let reason = item
                .get("error_message")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("refused");
            if let Some(n) = item.get("line_number").and_then(serde_json::Value::as_u64) {
                insert_line(&mut named, lines.len(), n, reason);
            }
        }
    }
    // InfluxDB 3 (IOx): "error parsing line N (1-based): reason" per line, "line": first N.
    for part in message.split('\n') {
        if let Some(rest) = part.trim().strip_prefix("error parsing line ") {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(n) = digits.parse::<u64>() {
                let reason = rest.split_once("): ").map_or(rest, |(_, r)| r);
                insert_line(&mut named, lines.len(), n, reason);
            }
        }
    }
    if named.is_empty()
        && let Some(n) = json
            .as_ref()
            .and_then(|j| j.get("line"))
            .and_then(serde_json::Value::as_u64)
    {
        insert_line(&mut named, lines.len(), n, message);
    }
    // InfluxDB 1.x / 2.x: "unable to parse '<line>': <reason>", the line quoted as sent.
    const MARK: &str = "unable to parse '";
    if message.contains(MARK) {
        let index: HashMap<&str, usize> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_ref(), i))
            .collect();
        let starts: Vec<usize> = message.match_indices(MARK).map(|(i, _)| i).collect();
        for (k, &start) in starts.iter().enumerate() {
            let from = start + MARK.len();
            let until = starts.get(k + 1).copied().unwrap_or(message.len());
            // The quoted line ends at some "': " before the next entry; try each in turn.
            for (end, _) in message[from..until].match_indices("': ") {
                if let Some(&i) = index.get(&message[from..from + end]) {
                    let reason = message[from + end + 3..until]
                        .trim_end()
                        .trim_end_matches(|c: char| c.is_ascii_digit())
                        .trim_end_matches(" dropped=")
                        .trim();
                    named.insert(i, reason.to_owned());
                    break;
                }
            }
        }
    }
    named
}

fn insert_line(named: &mut HashMap<usize, String>, n_lines: usize, one_based: u64, reason: &str) {
    if let Some(i) = usize::try_from(one_based)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .filter(|&i| i < n_lines)
    {
        named.entry(i).or_insert_with(|| reason.trim().to_owned());
    }
}
