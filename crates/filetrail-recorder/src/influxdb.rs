//! The InfluxDB sink: `FileMoved` points in line protocol, through `filetrail-influxdb`.
//!
//! Only the mapping lives here; the point layout, the HTTP client and the classification of
//! InfluxDB's answers are `filetrail_influxdb`'s, and parsing, batching, retries and dead
//! letters stay in [`crate::Recorder`].

use filetrail_aws::Classified;
use filetrail_contract::FileMoved;
use filetrail_influxdb::{
    HyperTransport, InfluxDb, InfluxDbConfig, LineOutcome, MAX_POINTS_PER_WRITE, Transport,
    WriteError,
};

use crate::{Sink, WriteOutcome};

/// Error code of a whole write InfluxDB may accept later (429, 5xx, no answer).
pub const CODE_UNAVAILABLE: &str = "InfluxDbUnavailable";
/// Error code of a whole write refused for its configuration (401, 403, 404, ...).
pub const CODE_CONFIGURATION: &str = "InfluxDbConfiguration";

/// Writes each event as one point to InfluxDB.
#[derive(Debug, Clone)]
pub struct InfluxDbSink<T = HyperTransport> {
    db: InfluxDb<T>,
}

impl InfluxDbSink<HyperTransport> {
    /// The sink `config` describes; the token is read (from Secrets Manager if so configured)
    /// with `sdk`'s credentials.
    pub async fn connect(
        config: &InfluxDbConfig,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, filetrail_influxdb::Error> {
        let token = config.token(sdk).await?;
        Ok(Self::new(InfluxDb::new(config, token)?))
    }
}

impl<T: Transport> InfluxDbSink<T> {
    /// A sink writing through `db`.
    pub fn new(db: InfluxDb<T>) -> Self {
        Self { db }
    }

    /// The client (tests inspect it).
    pub fn client(&self) -> &InfluxDb<T> {
        &self.db
    }
}

impl<T: Transport> Sink for InfluxDbSink<T> {
    type Record = String;

    fn name(&self) -> &'static str {
        "influxdb"
    }

    fn max_batch(&self) -> usize {
        MAX_POINTS_PER_WRITE
    }

    fn prepare(&self, event: &FileMoved) -> Result<String, String> {
        self.db.point(event)
    }

    async fn write(&self, records: Vec<String>) -> Result<Vec<WriteOutcome>, Classified> {
        match self.db.write(&records).await {
            Ok(lines) => Ok(lines
                .into_iter()
                .map(|l| match l {
                    LineOutcome::Written => WriteOutcome::Written,
                    LineOutcome::Refused(reason) => WriteOutcome::Reject(reason),
                    LineOutcome::Resend(reason) => WriteOutcome::Retry(reason),
                    LineOutcome::Isolate(reason) => WriteOutcome::Isolate(reason),
                })
                .collect()),
            Err(WriteError::Retryable {
                message,
                retry_after: Some(after),
            }) => {
                tracing::warn!(message = %message, retry_after_ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
                    records = records.len(), "InfluxDB asked to retry later");
                Ok(vec![
                    WriteOutcome::RetryAfter {
                        reason: message,
                        after,
                    };
                    records.len()
                ])
            }
            Err(WriteError::Retryable {
                message,
                retry_after: None,
            }) => Err(Classified {
                retryable: true,
                code: CODE_UNAVAILABLE.into(),
                message,
            }),
            Err(WriteError::Configuration { message }) => Err(Classified {
                retryable: false,
                code: CODE_CONFIGURATION.into(),
                message,
            }),
        }
    }
}
