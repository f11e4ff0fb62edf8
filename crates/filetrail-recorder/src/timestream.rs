//! The Timestream sink: the `WriteRecords` seam, its SDK adapter, and rejection classification.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use aws_sdk_timestreamwrite::endpoint_discovery::ReloadEndpoint;
use aws_sdk_timestreamwrite::error::SdkError;
use aws_sdk_timestreamwrite::operation::write_records::WriteRecordsError;
use aws_sdk_timestreamwrite::types::Record;
use filetrail_aws::Classified;
use filetrail_contract::FileMoved;

use crate::{Layout, Outcome, Sink};

/// Timestream accepts at most 100 records per WriteRecords call.
pub const MAX_RECORDS_PER_WRITE: usize = 100;

/// One record Timestream refused (`RejectedRecordsException.RejectedRecords[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Index of the record in the call.
    pub index: usize,
    /// Timestream's free-text reason.
    pub reason: String,
    /// The version already stored, when Timestream says.
    pub existing_version: Option<i64>,
}

/// How a WriteRecords call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// Some records were refused; the others were written.
    #[error("{} record(s) rejected", .0.len())]
    Rejected(Vec<Rejection>),
    /// The whole call failed.
    #[error("WriteRecords failed: {}: {}", .0.code, .0.message)]
    Call(Classified),
}

/// The seam around Timestream: one WriteRecords call.
pub trait WriteRecords: Send + Sync {
    /// Write `records` (sharing `common`) in one call.
    fn write_records(
        &self,
        common: Record,
        records: Vec<Record>,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;
}

/// The error code of a call sent to a discovered endpoint that is no longer valid.
/// <https://docs.aws.amazon.com/timestream/latest/developerguide/API_WriteRecords.html#API_WriteRecords_Errors>
pub const CODE_INVALID_ENDPOINT: &str = "InvalidEndpointException";
/// How often the discovered endpoint is refreshed even when no call was refused. Timestream
/// answers `DescribeEndpoints` with a cache period (`CachePeriodInMinutes`); refreshing more
/// often costs one small call and never uses a stale endpoint for long.
pub const ENDPOINT_REFRESH_PERIOD: Duration = Duration::from_secs(10 * 60);

/// A Timestream write client and, in AWS, the handle that refreshes its discovered endpoint.
#[derive(Debug, Clone)]
pub struct TimestreamClient {
    client: aws_sdk_timestreamwrite::Client,
    endpoint: Option<Arc<EndpointRefresh>>,
}

impl TimestreamClient {
    /// The SDK client.
    pub fn sdk(&self) -> &aws_sdk_timestreamwrite::Client {
        &self.client
    }

    /// Whether the endpoint is discovered (in AWS) rather than overridden (the emulator).
    pub fn discovers_endpoint(&self) -> bool {
        self.endpoint.is_some()
    }
}

/// Re-runs endpoint discovery: on a timer, and at once when Timestream says the endpoint in use
/// is no longer valid (`InvalidEndpointException`).
struct EndpointRefresh {
    reload: ReloadEndpoint,
    last: tokio::sync::Mutex<Instant>,
}

impl std::fmt::Debug for EndpointRefresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointRefresh").finish_non_exhaustive()
    }
}

impl EndpointRefresh {
    /// Discover the endpoint again, unless that happened since `since` (a call that failed
    /// while another had already refreshed does not refresh twice).
    async fn refresh(&self, since: Instant) {
        let mut last = self.last.lock().await;
        if *last > since {
            return;
        }
        self.reload.reload_once().await;
        *last = Instant::now();
        tracing::info!("Timestream endpoint discovered again");
    }

    /// Refresh every [`ENDPOINT_REFRESH_PERIOD`] while the client lives.
    async fn periodic(this: Weak<Self>) {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            let Some(refresh) = this.upgrade() else {
                return;
            };
            let due = refresh.last.lock().await.elapsed() >= ENDPOINT_REFRESH_PERIOD;
            if due {
                refresh.refresh(Instant::now()).await;
            }
        }
    }
}

/// WriteRecords on one table with the real client.
#[derive(Debug, Clone)]
pub struct TimestreamWriter {
    client: TimestreamClient,
    database: String,
    table: String,
}

impl TimestreamWriter {
    /// Write to `database`.`table` with `client`.
    pub fn new(
        client: TimestreamClient,
        database: impl Into<String>,
        table: impl Into<String>,
    ) -> Self {
        Self {
            client,
            database: database.into(),
            table: table.into(),
        }
    }
}

impl WriteRecords for TimestreamWriter {
    async fn write_records(&self, common: Record, records: Vec<Record>) -> Result<(), WriteError> {
        let sent = Instant::now();
        let err = match self
            .client
            .client
            .write_records()
            .database_name(&self.database)
            .table_name(&self.table)
            .common_attributes(common)
            .set_records(Some(records))
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        let service = match &err {
            SdkError::ServiceError(se) => Some(se.err()),
            _ => None,
        };
        match service {
            Some(WriteRecordsError::RejectedRecordsException(e)) => Err(WriteError::Rejected(
                e.rejected_records()
                    .iter()
                    .map(|r| Rejection {
                        index: usize::try_from(r.record_index()).unwrap_or(usize::MAX),
                        reason: r.reason().unwrap_or_default().to_owned(),
                        existing_version: r.existing_version(),
                    })
                    .collect(),
            )),
            // The discovered endpoint went stale: discover it again, then the call may pass.
            Some(WriteRecordsError::InvalidEndpointException(e)) => {
                if let Some(refresh) = &self.client.endpoint {
                    refresh.refresh(sent).await;
                }
                Err(WriteError::Call(Classified {
                    retryable: true,
                    code: CODE_INVALID_ENDPOINT.into(),
                    message: e.message().unwrap_or_default().to_owned(),
                }))
            }
            _ => Err(WriteError::Call(filetrail_aws::classify(
                filetrail_aws::Service::Timestream,
                &err,
            ))),
        }
    }
}

/// A Timestream client for `config`: with endpoint discovery in AWS (refreshed periodically and
/// whenever Timestream answers `InvalidEndpointException`); without it when an endpoint
/// override such as `AWS_ENDPOINT_URL` is configured, because discovery would bypass the
/// override.
pub async fn timestream_client(
    config: &aws_config::SdkConfig,
) -> Result<TimestreamClient, aws_smithy_runtime_api::box_error::BoxError> {
    let client = aws_sdk_timestreamwrite::Client::new(config);
    if filetrail_aws::endpoint_override(config).is_some() {
        tracing::info!(endpoint = ?config.endpoint_url(), "endpoint override set: Timestream endpoint discovery disabled");
        return Ok(TimestreamClient {
            client,
            endpoint: None,
        });
    }
    let (client, reload) = client.with_endpoint_discovery_enabled().await?;
    let refresh = Arc::new(EndpointRefresh {
        reload,
        last: tokio::sync::Mutex::new(Instant::now()),
    });
    tokio::spawn(EndpointRefresh::periodic(Arc::downgrade(&refresh)));
    Ok(TimestreamClient {
        client,
        endpoint: Some(refresh),
    })
}

/// Classify one rejected record. Timestream's `Reason` is free text, so only what can be
/// proven is decided, and the raw reason always travels with the outcome:
/// - `ExistingVersion` present, or a "version"/"already exists" text: Timestream rejects a
///   record for its identity only when the stored record's measure values *differ* and the
///   version is not higher; an identical re-write is a plain success
///   (<https://docs.aws.amazon.com/timestream/latest/developerguide/API_RejectedRecord.html>,
///   <https://docs.aws.amazon.com/timestream/latest/developerguide/API_WriteRecords.html>).
///   The identity contains `event_id`, so two different events claim one id (or a layout
///   changed): [`Outcome::Conflict`], never written.
/// - a refusal as outside the memory store's time range: AWS documents that records are
///   rejected so for a while after the retention was changed, so it may pass:
///   [`Outcome::transient`] (retried in the invocation, then dead-lettered). Past the
///   magnetic store's retention or in the future it never passes: [`Outcome::Reject`].
/// - an invalid record can never pass: [`Outcome::Reject`].
/// - anything else is retried (and, at the deadline, handed back to SQS).
pub fn classify_rejection(r: &Rejection) -> Outcome {
    let reason = r.reason.to_ascii_lowercase();
    let says = |words: &[&str]| words.iter().any(|w| reason.contains(w));
    if r.existing_version.is_some()
        || says(&[
            "already exists",
            "existing version",
            "higher version",
            "record version",
        ])
    {
        let existing = r
            .existing_version
            .map_or_else(|| "not given".to_owned(), |v| v.to_string());
        return Outcome::Conflict(format!(
            "conflict: Timestream holds a record with this event's identity (its dimensions contain event_id) \
             and different values; stored version {existing}, this record's version 1 (not set): \
             two different events claim one event_id, or the record layout changed. Timestream: {}",
            r.reason
        ));
    }
    // Outside the table's time window. Only the memory store's range moves (after a
    // retention change): past the magnetic store's retention or too far in the future, a
    // record never passes.
    if says(&[
        "time range",
        "retention",
        "older than",
        "too old",
        "future",
        "ingestion window",
        "out of range",
    ]) {
        if says(&["magnetic", "future"]) {
            return Outcome::Reject(format!(
                "Timestream rejected the record as outside the table's time window: {}",
                r.reason
            ));
        }
        return Outcome::transient(format!(
            "Timestream rejected the record as outside the memory store's time range (AWS \
             documents this as passing once a retention change has taken effect, so it was \
             retried first): {}",
            r.reason
        ));
    }
    if says(&[
        "invalid",
        "not valid",
        "not a valid",
        "exceed",
        "too long",
        "too large",
        "maximum",
        "malformed",
    ]) {
        return Outcome::Reject(format!(
            "Timestream rejected the record as invalid: {}",
            r.reason
        ));
    }
    Outcome::retry(format!("Timestream rejected the record: {}", r.reason))
}

/// The Timestream sink: records in the configured layout, written through `W`.
#[derive(Debug, Clone)]
pub struct TimestreamSink<W> {
    writer: W,
    layout: Layout,
    common: Record,
}

impl<W: WriteRecords> TimestreamSink<W> {
    /// A sink writing `layout` records through `writer`.
    pub fn new(writer: W, layout: Layout) -> Self {
        Self {
            writer,
            layout,
            common: layout.common_attributes(),
        }
    }

    /// The writer (tests inspect it).
    pub fn writer(&self) -> &W {
        &self.writer
    }
}

impl<W: WriteRecords> Sink for TimestreamSink<W> {
    type Record = Record;

    fn name(&self) -> &'static str {
        "timestream"
    }

    fn max_batch(&self) -> usize {
        MAX_RECORDS_PER_WRITE
    }

    fn prepare(&self, event: &FileMoved) -> Result<Record, String> {
        self.layout.record(event)
    }

    fn check(&self, event: &FileMoved) -> Result<(), String> {
        self.layout.check(event)
    }

    async fn write(&self, records: Vec<Record>) -> Vec<Outcome> {
        let n = records.len();
        match self
            .writer
            .write_records(self.common.clone(), records)
            .await
        {
            Ok(()) => vec![Outcome::Written; n],
            Err(WriteError::Rejected(rejections)) => {
                let mut outcomes = vec![Outcome::Written; n];
                for r in &rejections {
                    match outcomes.get_mut(r.index) {
                        Some(slot) => *slot = classify_rejection(r),
                        None => {
                            tracing::warn!(index = r.index, reason = %r.reason, "rejection names a record index outside the call")
                        }
                    }
                }
                outcomes
            }
            Err(WriteError::Call(c)) => vec![call_outcome(&c, n); n],
        }
    }
}

/// What a whole-call failure of WriteRecords means for each of its records: retryable
/// (throttling, 5xx, timeouts, a stale endpoint already rediscovered) → send again;
/// `ValidationException` → some record is refused without saying which: isolate it (Timestream
/// checks a request as a whole, <https://docs.aws.amazon.com/timestream/latest/developerguide/API_WriteRecords.html#API_WriteRecords_Errors>);
/// anything else (access, a missing table or database) → hand back: nothing is wrong with the
/// records.
fn call_outcome(c: &Classified, records: usize) -> Outcome {
    tracing::warn!(code = %c.code, retryable = c.retryable, message = %c.message, records, "WriteRecords failed");
    let why = format!("{}: {}", c.code, c.message);
    if c.retryable {
        Outcome::retry(why)
    } else if c.code == "ValidationException" {
        Outcome::Isolate(format!("the store refused the record: {why}"))
    } else {
        Outcome::HandBack(why)
    }
}
