//! The one place SDK clients get their retry and timeout settings.
//!
//! Every filetrail process — the Lambdas, the CLI, the demo, the soak and every test — builds its
//! [`aws_config::SdkConfig`] through [`configure`], so the SDK retry layer that runs on AWS is the
//! one the tests run. Which layer retries what:
//!
//! - **The SDK** (standard retry mode, [`SDK_MAX_ATTEMPTS`] attempts per call): transient
//!   answers of one call (throttling, 5xx, timeouts, connection failures), with jittered
//!   exponential backoff between [`SDK_INITIAL_BACKOFF`] and [`SDK_MAX_BACKOFF`] and the standard
//!   mode's retry quota, which stops retrying when the service keeps failing.
//!   <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>
//! - **filetrail's own loops** (the recorder's write rounds, the publisher's re-sends): what is
//!   left after the SDK gave up, per record or per entry (a 200 with failed entries is not an
//!   error to the SDK), with a longer backoff, until their own deadline.
//!
//! Budgets nest: each attempt is bounded by [`ATTEMPT_TIMEOUT`] (and [`CONNECT_TIMEOUT`]), and
//! every call of a loop that has a deadline is cut at that deadline (`tokio::time::timeout_at`),
//! however many SDK attempts it is in.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// Attempts per SDK call, the first included (the SDK's standard mode default).
pub const SDK_MAX_ATTEMPTS: u32 = 3;
/// Upper bound of the first SDK retry delay (the delay is drawn at random below it, then doubles).
pub const SDK_INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// Largest delay between two SDK attempts.
pub const SDK_MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Longest wait for a TCP/TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);
/// Longest one SDK attempt may take, from sending to the whole response. Longer than an SQS long
/// poll of filetrail's (at most 1 s) and than any single answer of the services it calls; S3
/// transfers ([`transfer_timeout_config`]) and Timestream queries ([`query_timeout_config`]) are
/// the exceptions.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest one attempt of a Timestream query may take: a query runs for up to 60 s.
/// <https://docs.aws.amazon.com/timestream/latest/developerguide/code-samples.run-query.html>
pub const QUERY_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(70);
/// Longest wait for the first byte of an S3 transfer's answer (CopyObject, UploadPartCopy,
/// GetObject, PutObject), whose whole duration grows with the object.
pub const TRANSFER_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(60);

/// The retry settings of every SDK client.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(SDK_MAX_ATTEMPTS)
        .with_initial_backoff(SDK_INITIAL_BACKOFF)
        .with_max_backoff(SDK_MAX_BACKOFF)
}

/// The timeouts of every SDK client but S3 transfers.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build()
}

/// The timeouts of S3 clients that copy or transfer objects: no bound on a whole attempt (a
/// 5 GiB CopyObject takes minutes; the Lambda timeout bounds the invocation), but one on the
/// connection and on the first byte of the answer.
pub fn transfer_timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(TRANSFER_FIRST_BYTE_TIMEOUT)
        // Disabled, not unset: an unset value would be taken from the shared configuration.
        .disable_operation_attempt_timeout()
        .disable_operation_timeout()
        .build()
}

/// The timeouts of Timestream query clients ([`QUERY_ATTEMPT_TIMEOUT`]).
pub fn query_timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(QUERY_ATTEMPT_TIMEOUT)
        .build()
}

/// `loader` with filetrail's retry and timeout settings.
pub fn configure(loader: aws_config::ConfigLoader) -> aws_config::ConfigLoader {
    loader
        .retry_config(retry_config())
        .timeout_config(timeout_config())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_retries_with_explicit_bounds() {
        let r = retry_config();
        assert_eq!(r.mode(), aws_config::retry::RetryMode::Standard);
        assert_eq!(r.max_attempts(), SDK_MAX_ATTEMPTS);
        assert_eq!(r.initial_backoff(), SDK_INITIAL_BACKOFF);
        assert_eq!(r.max_backoff(), SDK_MAX_BACKOFF);
    }

    #[test]
    fn every_attempt_is_bounded() {
        let t = timeout_config();
        assert_eq!(t.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(t.connect_timeout(), Some(CONNECT_TIMEOUT));
        let s3 = transfer_timeout_config();
        assert_eq!(s3.operation_attempt_timeout(), None);
        assert_eq!(s3.read_timeout(), Some(TRANSFER_FIRST_BYTE_TIMEOUT));
        let q = query_timeout_config();
        assert_eq!(q.operation_attempt_timeout(), Some(QUERY_ATTEMPT_TIMEOUT));
    }
}
