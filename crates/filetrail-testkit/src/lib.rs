//! Test support shared by the crates' integration tests.
//!
//! - [`emulator`]: the SDK configuration for the local emulator (`moto_server`, started by
//!   `make test`). Without it every integration test fails loudly; none is skipped.
//!   [`influxdb_url`]: the same for the real InfluxDB `scripts/with-influxdb.sh` starts.
//!   [`aws_env`]: the variables that point a child process at the emulator.
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
//! - [`bench`]: a bench binary's entry (its runtime, or nothing for a test runner).

pub mod bench;
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

/// The variable `scripts/with-influxdb.sh` (run by `make test`) exports with the test
/// InfluxDB's address.
pub const INFLUXDB_URL_VAR: &str = "FILETRAIL_TEST_INFLUXDB_URL";

/// The emulator's endpoint, or a panic that tells the reader how to run integration tests.
pub fn endpoint() -> String {
    answering(
        ENDPOINT_VAR,
        "runs the real AWS SDK against the local emulator. Run it through `make test` (or \
         `scripts/with-emulator.sh cargo nextest run`)",
        "the emulator",
        "`make test` / scripts/with-emulator.sh",
    )
}

/// The test InfluxDB's URL, or a panic that tells the reader how to run the test: a test that
/// needs InfluxDB fails without it, it is never skipped.
pub fn influxdb_url() -> String {
    answering(
        INFLUXDB_URL_VAR,
        "writes to a real InfluxDB. Run it through `make test` (or \
         `scripts/with-emulator.sh scripts/with-influxdb.sh cargo nextest run -p <crate>`)",
        "the InfluxDB",
        "`make test` / scripts/with-influxdb.sh",
    )
}

/// The `http://` address in `var`, checked to accept connections; a panic naming `var` and how
/// to start `what` otherwise.
fn answering(var: &str, needs: &str, what: &str, start: &str) -> String {
    let url = std::env::var(var)
        .unwrap_or_else(|_| panic!("{var} is not set: this integration test {needs}."));
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    if std::net::TcpStream::connect(addr).is_err() {
        panic!("{what} at {url} does not answer: start it with {start}");
    }
    url
}

/// The variables that point an AWS SDK in a child process at `endpoint` (the emulator, or a
/// proxy or front before it) with the test credentials, in us-east-1, with no instance
/// metadata lookups.
pub fn aws_env(endpoint: &str) -> [(&'static str, String); 5] {
    [
        (ENDPOINT_VAR, endpoint.to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", TEST_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", TEST_KEY.to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

/// The region every test client and child process uses.
pub const REGION: &str = "us-east-1";
/// The access key id and secret of the test credentials (the emulator accepts any).
const TEST_KEY: &str = "testing";

/// Fixed test credentials (the emulator accepts any).
pub fn test_credentials() -> Credentials {
    Credentials::new(TEST_KEY, TEST_KEY, None, None, "filetrail-testkit")
}

/// SDK configuration pointing at the emulator, with the retry and timeout settings every
/// deployed client has (`filetrail_aws::sdk`).
pub async fn emulator() -> SdkConfig {
    sdk_config_at(&endpoint()).await
}

/// SDK configuration pointing at `url` (the emulator, or a test server), with the retry and
/// timeout settings every deployed client has.
pub async fn sdk_config_at(url: &str) -> SdkConfig {
    test_config(url).load().await
}

/// SDK configuration whose requests go to `http` (an in-process stand-in: a replay, a bench's
/// counting answerer) as if to `url`, with the retry and timeout settings every deployed client
/// has.
pub async fn sdk_config_with_http(
    http: impl aws_smithy_runtime_api::client::http::HttpClient + 'static,
    url: &str,
) -> SdkConfig {
    test_config(url).http_client(http).load().await
}

/// The test region, credentials and `url`, on filetrail's SDK settings.
fn test_config(url: &str) -> aws_config::ConfigLoader {
    filetrail_aws::sdk::configure(aws_config::defaults(BehaviorVersion::latest()))
        .endpoint_url(url)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(test_credentials())
}

/// A listener on a free loopback port for `what`, and its address.
async fn loopback(what: &str) -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind {what}: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("the address of {what}: {e}"));
    (listener, addr)
}

/// An endpoint that accepts connections, reads requests and never answers: a service that
/// hangs. Returns its URL; it lives until the runtime ends.
pub async fn hanging_endpoint() -> String {
    let (listener, addr) = loopback("the hanging endpoint").await;
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
