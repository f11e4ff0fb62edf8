//! The HTTP client: the [`Transport`] seam, its hyper adapter, and [`InfluxDb`] (write and query).

use std::future::Future;
use std::io::Write as _;
use std::time::Duration;

use bytes::Bytes;
use filetrail_contract::FileMoved;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::answer::{self, LineOutcome, WriteError};
use crate::config::{InfluxDbConfig, Target, Token};
use crate::history::{self, HistoryRow};
use crate::{Error, line};

/// At most this many points go in one write request (InfluxDB's guidance: 5,000 lines per batch).
pub const MAX_POINTS_PER_WRITE: usize = 5_000;
/// One HTTP request (connect, send, read the answer) gives up after this long: an AWS SDK
/// attempt's bound ([`filetrail_aws::sdk::ATTEMPT_TIMEOUT`]), so every store call of the recorder
/// is bounded alike and the retry policy has one place.
pub const REQUEST_TIMEOUT: Duration = filetrail_aws::sdk::ATTEMPT_TIMEOUT;
/// Connecting gives up after this long ([`filetrail_aws::sdk::CONNECT_TIMEOUT`]).
pub const CONNECT_TIMEOUT: Duration = filetrail_aws::sdk::CONNECT_TIMEOUT;
/// Largest answer body read (a 1.x partial-write answer quotes every refused line).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// gzip level of request bodies: 1 (fastest) already shrinks line protocol about tenfold.
pub const GZIP_LEVEL: u32 = 1;

/// The seam around HTTP: one request, one answer (status, headers, body).
pub trait Transport: Send + Sync {
    /// Send `request`; `Err` is a transport failure (no answer), always worth retrying.
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, String>> + Send;
}

/// HTTP/1.1 over hyper with rustls (aws-lc-rs) and the platform's root certificates: the
/// stack the AWS SDK already uses.
#[derive(Clone, Debug)]
pub struct HyperTransport {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HyperTransport {
    /// A client for `http://` and `https://` URLs.
    pub fn new() -> Result<Self, Error> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| Error::Transport(format!("loading the root certificates: {e}")))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }
}

impl Transport for HyperTransport {
    async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, String> {
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, Full::new(body));
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("{e:?}"))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| format!("reading the answer: {e}"))?
                .to_bytes();
            Ok(http::Response::from_parts(parts, body))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("no answer within {REQUEST_TIMEOUT:?}"))?
    }
}

/// An InfluxDB database (v1 API) or bucket (v2 API) holding `FileMoved` points.
#[derive(Clone)]
pub struct InfluxDb<T = HyperTransport> {
    transport: T,
    base: String,
    write_path: String,
    query_params: String,
    token: Option<Token>,
    measurement: String,
}

impl<T> std::fmt::Debug for InfluxDb<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InfluxDb")
            .field("base", &self.base)
            .field("write_path", &self.write_path)
            .field("token", &self.token)
            .field("measurement", &self.measurement)
            .finish_non_exhaustive()
    }
}

/// `application/x-www-form-urlencoded` encoding of one query component.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl InfluxDb<HyperTransport> {
    /// A client for `config` with `token` (resolved by [`InfluxDbConfig::token`]).
    pub fn new(config: &InfluxDbConfig, token: Option<Token>) -> Result<Self, Error> {
        Ok(Self::with_transport(config, token, HyperTransport::new()?))
    }
}

impl<T: Transport> InfluxDb<T> {
    /// A client for `config` sending through `transport`.
    pub fn with_transport(config: &InfluxDbConfig, token: Option<Token>, transport: T) -> Self {
        let base = config.url.trim_end_matches('/').to_owned();
        let (write_path, query_params) = match &config.target {
            Target::V1 {
                database,
                retention_policy,
            } => {
                let rp = retention_policy
                    .as_ref()
                    .map(|rp| format!("&rp={}", url_encode(rp)))
                    .unwrap_or_default();
                let db = format!("db={}{rp}", url_encode(database));
                (format!("/write?{db}&precision=ms"), db)
            }
            Target::V2 { org, bucket } => (
                format!(
                    "/api/v2/write?org={}&bucket={}&precision=ms",
                    url_encode(org),
                    url_encode(bucket)
                ),
                // The v1-compatible /query finds a bucket through its DBRP mapping.
                format!("db={}", url_encode(bucket)),
            ),
        };
        Self {
            transport,
            base,
            write_path,
            query_params,
            token,
            measurement: config.measurement.clone(),
        }
    }

    /// The transport (tests inspect it).
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The measurement points are written to.
    pub fn measurement(&self) -> &str {
        &self.measurement
    }

    /// The line-protocol point for `event`, or why it can never be stored.
    pub fn point(&self, event: &FileMoved) -> Result<String, String> {
        line::point(&self.measurement, event)
    }

    /// Why the point for `event` can never be stored, without writing it ([`line::check`]).
    pub fn check(&self, event: &FileMoved) -> Result<(), String> {
        line::check(&self.measurement, event)
    }

    fn request(&self, method: http::Method, path_and_query: &str) -> http::request::Builder {
        let mut b = http::Request::builder()
            .method(method)
            .uri(format!("{}{path_and_query}", self.base));
        if let Some(t) = &self.token {
            b = b.header(http::header::AUTHORIZATION, format!("Token {}", t.expose()));
        }
        b
    }

    /// Write `lines` (at most [`MAX_POINTS_PER_WRITE`]) in one gzip-compressed request: one
    /// outcome per line, in order, or why the whole request failed (see [`crate::answer`]).
    pub async fn write(
        &self,
        lines: &[impl AsRef<str> + Sync],
    ) -> Result<Vec<LineOutcome>, WriteError> {
        if lines.is_empty() {
            return Ok(Vec::new());
        }
        let body = gzip_lines(lines).map_err(|e| WriteError::Retryable {
            message: format!("compressing the request: {e}"),
            retry_after: None,
        })?;
        let request = self
            .request(http::Method::POST, &self.write_path)
            .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .header(http::header::CONTENT_ENCODING, "gzip")
            .body(body)
            .map_err(|e| WriteError::Configuration {
                message: format!("FILETRAIL_INFLUXDB_URL does not make a valid request: {e}"),
            })?;
        let response = self
            .transport
            .send(request)
            .await
            .map_err(|e| WriteError::Retryable {
                message: format!("InfluxDB did not answer: {e}"),
                retry_after: None,
            })?;
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok());
        answer::classify(
            response.status().as_u16(),
            retry_after,
            response.body(),
            lines,
        )
    }

    /// Create the v1 database `name` (a no-op when it exists), for setting up a fresh one.
    pub async fn create_database(&self, name: &str) -> Result<serde_json::Value, Error> {
        self.query(&format!(
            "CREATE DATABASE {}",
            history::influxql_identifier(name)
        ))
        .await
    }

    /// Run an InfluxQL statement on the v1 `/query` endpoint (`epoch=ms`); the JSON answer.
    pub async fn query(&self, influxql: &str) -> Result<serde_json::Value, Error> {
        let path = format!(
            "/query?{}&epoch=ms&q={}",
            self.query_params,
            url_encode(influxql)
        );
        let method = if influxql
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("SELECT")
            || influxql
                .trim_start()
                .to_ascii_uppercase()
                .starts_with("SHOW")
        {
            http::Method::GET
        } else {
            http::Method::POST
        };
        let request = self
            .request(method, &path)
            .body(Bytes::new())
            .map_err(|e| Error::Transport(e.to_string()))?;
        let response = self
            .transport
            .send(request)
            .await
            .map_err(Error::Transport)?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(Error::Status {
                status,
                message: answer::server_message(response.body()),
            });
        }
        let json: serde_json::Value = serde_json::from_slice(response.body())
            .map_err(|e| Error::Decode(format!("the /query answer is not JSON: {e}")))?;
        if let Some(e) = json.get("error").and_then(serde_json::Value::as_str) {
            return Err(Error::Query(e.to_owned()));
        }
        if let Some(results) = json.get("results").and_then(serde_json::Value::as_array) {
            for r in results {
                if let Some(e) = r.get("error").and_then(serde_json::Value::as_str) {
                    return Err(Error::Query(e.to_owned()));
                }
            }
        }
        Ok(json)
    }

    /// Every point recorded for `file_key` (the key before a move), oldest first. Following
    /// `new_file_key` to the next stage is the caller's job.
    pub async fn history(&self, file_key: &str) -> Result<Vec<HistoryRow>, Error> {
        let q = history::history_query(&self.measurement, file_key);
        let json = self.query(&q).await?;
        history::rows(&json)
    }
}

fn gzip_lines(lines: &[impl AsRef<str>]) -> std::io::Result<Bytes> {
    let size: usize = lines.iter().map(|l| l.as_ref().len() + 1).sum();
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(size / 4 + 64),
        flate2::Compression::new(GZIP_LEVEL),
    );
    for l in lines {
        gz.write_all(l.as_ref().as_bytes())?;
        gz.write_all(b"\n")?;
    }
    Ok(Bytes::from(gz.finish()?))
}
