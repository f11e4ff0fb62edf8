//! Proof under faults: the machinery behind `make soak`, the crash test and the fuzzing.
//!
//! - [`Proxy`]: an HTTP proxy on loopback between the SDK clients and the emulator that injects
//!   the faults of a seeded [`FaultPlan`] (throttling, 500s, timeouts, connection resets,
//!   Timestream `RejectedRecords`, PutEvents partial failures) in AWS's own shapes.
//! - [`mapping`] (the test kit's): Lambda's SQS event source mapping, re-enacted: batches,
//!   visibility timeout, partial batch responses, redelivery, redrive, and injected duplicate
//!   deliveries; [`pipeline`] (the test kit's): what `infra/` deploys, on the emulator.
//! - [`soak::run`]: publish through the real publisher, route through the emulator's bus and
//!   queue, record (in-process, or the real `filetrail-recorder` binary killed at random
//!   points), replay the DLQ with `filetrail replay`, then check that every valid event is
//!   recorded exactly once and every poison message waits in the DLQ with its reason.
//! - [`check`]: that last check, over what actually reached the emulator's table.

pub mod check;
pub mod events;
pub mod faults;
pub mod function;
pub mod proxy;
pub mod report;
pub mod soak;

pub use filetrail_testkit::{Rng, mapping, pipeline};

use std::path::PathBuf;
use std::time::Duration;

pub use faults::{FaultKind, FaultPlan, Rates, Service};
pub use proxy::{Proxy, Stats};
pub use report::SoakReport;
pub use soak::{RecorderMode, SoakOptions};

/// Why a soak could not run (a run that ran but found problems is a [`SoakReport`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoakError {
    /// The options are inconsistent.
    #[error("invalid options: {0}")]
    Options(String),
    /// A local resource (socket, file, process) failed.
    #[error("{0}")]
    Io(String),
    /// Creating or reading the emulator's resources failed.
    #[error("emulator: {0}")]
    Emulator(String),
    /// The recorder binary could not be found or started.
    #[error("recorder binary: {0}")]
    Binary(String),
    /// The run did not settle (queues never drained, DLQ never replayed) in time.
    #[error("the run did not settle: {0}")]
    Stuck(String),
}

impl From<filetrail_testkit::pipeline::PipelineError> for SoakError {
    fn from(e: filetrail_testkit::pipeline::PipelineError) -> Self {
        Self::Emulator(e.0)
    }
}

impl SoakError {
    /// An emulator call failed; `what` says which.
    pub fn emulator(what: &str, err: impl std::fmt::Display) -> Self {
        Self::Emulator(format!("{what}: {err}"))
    }
}

/// How long one SDK attempt may take before the client gives up (clients behind the proxy).
/// Longer than an SQS long poll (1 s) plus the emulator's slowest answer.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(2000);

/// SDK configuration for clients whose endpoint is `endpoint` (the proxy or the emulator):
/// test credentials, and the deployed clients' retry settings (`filetrail_aws::sdk`), with a
/// shorter per-attempt timeout ([`ATTEMPT_TIMEOUT`]) so a request the proxy holds fails in
/// seconds rather than the deployed ten.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    sdk_config_with(endpoint, ATTEMPT_TIMEOUT).await
}

/// [`sdk_config`] with another per-attempt timeout.
pub async fn sdk_config_with(endpoint: &str, attempt_timeout: Duration) -> aws_config::SdkConfig {
    filetrail_aws::sdk::configure(aws_config::defaults(aws_config::BehaviorVersion::latest()))
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(filetrail_testkit::test_credentials())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(attempt_timeout)
                .operation_attempt_timeout(attempt_timeout)
                .build(),
        )
        .load()
        .await
}

/// Find a workspace binary built next to the running executable (`target/<profile>/`, also
/// from a test binary in `target/<profile>/deps/`); `FILETRAIL_RECORDER_BIN` overrides the
/// recorder's path.
pub fn workspace_binary(name: &str) -> Result<PathBuf, SoakError> {
    if name == "filetrail-recorder"
        && let Ok(path) = std::env::var("FILETRAIL_RECORDER_BIN")
    {
        return Ok(PathBuf::from(path));
    }
    filetrail_testkit::lambda::workspace_binary(name).map_err(SoakError::Binary)
}
