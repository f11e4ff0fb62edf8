//! The Timestream sink: the `WriteRecords` seam, its SDK adapter, and rejection classification.

use std::future::Future;

use aws_sdk_timestreamwrite::error::SdkError;
use aws_sdk_timestreamwrite::operation::write_records::WriteRecordsError;
use aws_sdk_timestreamwrite::types::Record;
use filetrail_aws::Classified;
use filetrail_contract::FileMoved;

use crate::{Layout, Sink, WriteOutcome};

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

/// WriteRecords on one table with the real client.
#[derive(Debug, Clone)]
pub struct TimestreamWriter {
    client: aws_sdk_timestreamwrite::Client,
    database: String,
    table: String,
}

impl TimestreamWriter {
    /// Write to `database`.`table` with `client`.
    pub fn new(
        client: aws_sdk_timestreamwrite::Client,
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
        self.client
            .write_records()
            .database_name(&self.database)
            .table_name(&self.table)
            .common_attributes(common)
            .set_records(Some(records))
            .send()
            .await
            .map(|_| ())
            .map_err(|err| match &err {
                SdkError::ServiceError(se) => match se.err() {
                    WriteRecordsError::RejectedRecordsException(e) => WriteError::Rejected(
                        e.rejected_records()
                            .iter()
                            .map(|r| Rejection {
                                index: usize::try_from(r.record_index()).unwrap_or(usize::MAX),
                                reason: r.reason().unwrap_or_default().to_owned(),
                                existing_version: r.existing_version(),
                            })
                            .collect(),
                    ),
                    _ => WriteError::Call(filetrail_aws::classify(&err)),
                },
                _ => WriteError::Call(filetrail_aws::classify(&err)),
            })
    }
}

/// A Timestream client for `config`: with endpoint discovery (and its reload task) in AWS;
/// without it when an endpoint override such as `AWS_ENDPOINT_URL` is configured, because
/// discovery would bypass the override.
pub async fn timestream_client(
    config: &aws_config::SdkConfig,
) -> Result<aws_sdk_timestreamwrite::Client, aws_smithy_runtime_api::box_error::BoxError> {
    let client = aws_sdk_timestreamwrite::Client::new(config);
    if filetrail_aws::endpoint_override(config).is_some() {
        tracing::info!(endpoint = ?config.endpoint_url(), "endpoint override set: Timestream endpoint discovery disabled");
        return Ok(client);
    }
    let (client, reload) = client.with_endpoint_discovery_enabled().await?;
    tokio::spawn(reload.reload_task());
    Ok(client)
}

/// Classify one rejected record. Timestream's `Reason` is free text, so only what can be
/// proven is decided:
/// - `ExistingVersion` present, or "already exists": the record's identity contains the
///   event's `event_id`, so what is stored was written by this same event → [`WriteOutcome::Duplicate`].
/// - a time-window refusal (outside the memory/magnetic window, too old, in the future) or an
///   invalid record can never pass → [`WriteOutcome::Reject`] with the raw reason.
/// - anything else is retried (and, at the deadline, handed back to SQS).
pub fn classify_rejection(r: &Rejection) -> WriteOutcome {
    let reason = r.reason.to_ascii_lowercase();
    let says = |words: &[&str]| words.iter().any(|w| reason.contains(w));
    if r.existing_version.is_some() || says(&["already exists", "existing version"]) {
        return WriteOutcome::Duplicate;
    }
    if says(&[
        "time range",
        "retention",
        "older than",
        "too old",
        "future",
        "ingestion window",
        "out of range",
    ]) {
        return WriteOutcome::Reject(format!(
            "Timestream rejected the record (outside the table's time window): {}",
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
        return WriteOutcome::Reject(format!(
            "Timestream rejected the record as invalid: {}",
            r.reason
        ));
    }
    WriteOutcome::Retry(format!("Timestream rejected the record: {}", r.reason))
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

    async fn write(&self, records: Vec<Record>) -> Result<Vec<WriteOutcome>, Classified> {
        let n = records.len();
        match self
            .writer
            .write_records(self.common.clone(), records)
            .await
        {
            Ok(()) => Ok(vec![WriteOutcome::Written; n]),
            Err(WriteError::Rejected(rejections)) => {
                let mut outcomes = vec![WriteOutcome::Written; n];
                for r in &rejections {
                    match outcomes.get_mut(r.index) {
                        Some(slot) => *slot = classify_rejection(r),
                        None => {
                            tracing::warn!(index = r.index, reason = %r.reason, "rejection names a record index outside the call")
                        }
                    }
                }
                Ok(outcomes)
            }
            Err(WriteError::Call(c)) => Err(c),
        }
    }
}
