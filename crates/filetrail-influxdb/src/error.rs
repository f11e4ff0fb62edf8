//! The crate's error type.

/// An InfluxDB call (other than a write, see [`crate::WriteError`]) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No answer: connection refused, timeout, TLS failure.
    #[error("InfluxDB did not answer: {0}")]
    Transport(String),
    /// An HTTP error status.
    #[error("InfluxDB answered {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The query itself failed (InfluxQL syntax, unknown database, ...).
    #[error("the InfluxQL query failed: {0}")]
    Query(String),
    /// The answer is not what InfluxDB answers.
    #[error("unexpected answer from InfluxDB: {0}")]
    Decode(String),
    /// The token could not be read from AWS Secrets Manager.
    #[error("reading the InfluxDB token from secret {arn}: {message}")]
    Secret {
        /// The secret's ARN.
        arn: String,
        /// What went wrong.
        message: String,
    },
}
