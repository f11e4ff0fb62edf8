//! The InfluxDB sink: `FileMoved` points in line protocol, through `filetrail-influxdb`.
//!
//! The point layout, the HTTP client and the classification of InfluxDB's answers are
//! `filetrail_influxdb`'s; this sink tells those answers in the recorder's vocabulary
//! ([`Outcome`]), and parsing, batching, retries and dead letters stay in [`crate::Recorder`].

use filetrail_contract::FileMoved;
use filetrail_influxdb::{
    HyperTransport, InfluxDb, InfluxDbConfig, LineOutcome, MAX_POINTS_PER_WRITE, Transport,
    WriteError,
};

use crate::{Outcome, Sink};

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

    fn check(&self, event: &FileMoved) -> Result<(), String> {
        self.db.check(event)
    }

    async fn write(&self, records: Vec<String>) -> Vec<Outcome> {
        match self.db.write(&records).await {
            Ok(lines) => lines.into_iter().map(line_outcome).collect(),
            Err(WriteError::Retryable {
                message,
                retry_after,
            }) => {
                tracing::warn!(message = %message, retry_after_ms = retry_after.map(|a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX)),
                    records = records.len(), "InfluxDB did not take the write; retrying");
                let outcome = match retry_after {
                    Some(after) => Outcome::retry_after(message, after),
                    None => Outcome::retry(message),
                };
                vec![outcome; records.len()]
            }
            // Token, database, bucket, org or retention policy: nothing is wrong with the
            // points; they go back to SQS and are never dead-lettered.
            Err(WriteError::Configuration { message }) => {
                tracing::error!(message = %message, records = records.len(), "InfluxDB refused the write for its configuration");
                vec![Outcome::HandBack(message); records.len()]
            }
        }
    }
}

/// One line's answer in the recorder's vocabulary.
fn line_outcome(line: LineOutcome) -> Outcome {
    match line {
        LineOutcome::Written => Outcome::Written,
        LineOutcome::Refused(reason) => Outcome::Reject(reason),
        LineOutcome::Retry(reason) => Outcome::retry(reason),
        LineOutcome::Isolate(reason) => Outcome::Isolate(reason),
    }
}
