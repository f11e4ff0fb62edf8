//! Test support shared by the crates' integration tests.
//!
//! - [`emulator`]: the SDK configuration for the local emulator (`moto_server`, started by
//!   `make test`). Without it every integration test fails loudly; none is skipped.
//! - [`unique_name`]: resource names that never clash between tests running in parallel.
//! - [`CallCounter`]: an SDK interceptor counting the requests a client sends.
//! - [`replay`]: AWS responses replayed over HTTP, for what the emulator cannot show.
//! - [`pipeline`]: a bus whose rule routes `FileMoved` events to a fresh SQS queue.
//! - [`front`]: a front to the emulator answering what moto does not implement
//!   (`TestEventPattern`).
//! - [`timestream_query`]: Timestream `Query` answered in AWS's shape from what moto stored
//!   (the audit's trail lookups).
//! - [`inventory`]: S3 Inventory reports written to the emulator in AWS's format.
//! - [`hanging_endpoint`]: a service that never answers.
//! - [`lambda`]: a built Lambda binary run under the [`runtime_api`] stand-in.
//! - [`sqs`]: the SQS event Lambda sends a function, in its wire JSON.
//! - [`mapping`]: Lambda's SQS event source mapping, re-enacted against a queue.
//! - [`fixtures`]: AWS's example events, kept once.
//! - [`process`]: CPU time and peak memory of this process, for the benches.

pub mod emf;
pub mod fixtures;
pub mod front;
pub mod inventory;
pub mod lambda;
pub mod mapping;
pub mod moto;
pub mod pipeline;
pub mod process;
pub mod replay;
mod rng;
pub mod runtime_api;
pub mod sqs;
pub mod timestream_query;

pub use rng::Rng;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The variable `make test` exports with the emulator's address.
pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL";

/// The emulator's endpoint, or a panic that tells the reader how to run integration tests.
pub fn endpoint() -> String {
    let endpoint = std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VAR} is not set: this integration test runs the real AWS SDK against the \
             local emulator. Run it through `make test` (or `scripts/with-emulator.sh cargo nextest run`)."
        )
    });
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    if std::net::TcpStream::connect(addr).is_err() {
        panic!(
            "the emulator at {endpoint} does not answer: start it with `make test` / scripts/with-emulator.sh"
        );
    }
    endpoint
}

/// Fixed test credentials (the emulator accepts any).
pub fn test_credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "filetrail-testkit")
}

/// SDK configuration pointing at the emulator, with the retry and timeout settings every
/// deployed client has (`filetrail_aws::sdk`).
pub async fn emulator() -> SdkConfig {
    sdk_config_at(&endpoint()).await
}

/// SDK configuration pointing at `url` (the emulator, or a test server), with the retry and
/// timeout settings every deployed client has.
pub async fn sdk_config_at(url: &str) -> SdkConfig {
    filetrail_aws::sdk::configure(aws_config::defaults(BehaviorVersion::latest()))
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(test_credentials())
        .load()
        .await
}

/// An endpoint that accepts connections, reads requests and never answers: a service that
/// hangs. Returns its URL; it lives until the runtime ends.
pub async fn hanging_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local addr: {e}"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}")
}

/// A name unique to this process and call, safe for S3, SQS, EventBridge and Timestream.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

/// Counts the HTTP requests a client sends (after the SDK's own retries, each attempt counts).
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<AtomicUsize>);

impl CallCounter {
    /// Requests sent so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}
