//! The skeleton every stage shares: the [`Stage`] trait (a handler and its counts), the Lambda
//! edge ([`Lambda`]: span, deadline, one EMF line, error mapping), the binaries' start
//! ([`serve_from_env`]) and the event of a move ([`event_for`]).
//!
//! A stage writes its handler and its counts (`filetrail_aws::counts!`); its binary is one call
//! of [`serve_from_env`].

use std::future::Future;
use std::time::{Duration, Instant};

use filetrail_aws::emf::{MetricCounts, function_name};
use filetrail_aws::{ConfigError, Env, Margin, config_error};
use filetrail_contract::{ActionType, FileMoved, Move};
use filetrail_publisher::{EventBridge, Publisher, PublisherConfig};
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

use crate::copy::ObjectInfo;
use crate::error::Report;
use crate::store::s3_client;

/// Time a sweep keeps free before the Lambda deadline (at most half the time left): it starts
/// no page after that. The first page always runs.
pub const SWEEP_SAFETY_MARGIN: Duration = Duration::from_secs(30);

/// A pipeline stage: a handler from an invocation payload to its counts and errors.
pub trait Stage: Sync {
    /// The function name in metrics outside Lambda (in Lambda: `AWS_LAMBDA_FUNCTION_NAME`).
    const FUNCTION: &'static str;

    /// What one invocation counts (declared with `filetrail_aws::counts!`); the answer of a
    /// successful invocation.
    type Counts: MetricCounts + Serialize + Send;

    /// Handle one invocation payload; work that may stop early (a sweep) starts nothing new
    /// after `deadline`.
    fn handle(
        &self,
        payload: &Value,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Report<Self::Counts>>;
}

/// A stage as Lambda runs it, reporting metrics under its function's name.
#[derive(Debug)]
pub struct Lambda<S> {
    stage: S,
    function: String,
}

impl<S: Stage> Lambda<S> {
    /// `stage`, its metrics reported under `function`.
    pub fn new(stage: S, function: impl Into<String>) -> Self {
        Self {
            stage,
            function: function.into(),
        }
    }

    /// The stage.
    pub fn stage(&self) -> &S {
        &self.stage
    }

    /// One Lambda invocation: a span with the request id, [`Stage::handle`] with the
    /// invocation's [`sweep_deadline`], one EMF line; `Err` when anything failed, so Lambda
    /// retries it (every stage is idempotent).
    pub async fn invoke(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<S::Counts, lambda_runtime::Error> {
        // At ERROR level, so the span (and the request id on every line) is kept whatever
        // level the function logs at: `log_level = "WARN"` sets RUST_LOG=warn, which would drop
        // an INFO span from the WARN lines that matter most.
        let span = tracing::error_span!("invocation", request_id = %event.context.request_id);
        let deadline = sweep_deadline(&event.context);
        let report = self
            .stage
            .handle(&event.payload, deadline)
            .instrument(span)
            .await;
        report.counts.metrics(&self.function).emit();
        Ok(report.into_result()?)
    }

    /// Answer invocations from the Lambda Runtime API until the runtime stops.
    pub async fn serve(&self) -> Result<(), lambda_runtime::Error> {
        lambda_runtime::run(service_fn(|event| self.invoke(event))).await
    }
}

/// The clients a stage binary hands its stage.
#[derive(Debug)]
pub struct Clients {
    /// S3, with the stages' transfer timeouts ([`s3_client`]).
    pub s3: aws_sdk_s3::Client,
    /// A publisher to the configured bus as the configured source.
    pub publisher: Publisher<EventBridge>,
}

/// The whole `main` of a stage binary: logs (JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`), the
/// stage's configuration (`config`) and the publisher's from the environment, the clients, the
/// stage (`build`), then [`Lambda::serve`] under the deployed function's name.
///
/// A configuration error is logged with the variable it names and ends the process, so the
/// Lambda init fails and says why.
pub async fn serve_from_env<S: Stage, C>(
    config: impl FnOnce(&Env<'_>) -> Result<C, ConfigError>,
    build: impl FnOnce(C, Clients) -> S,
) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = Env::process();
    let config = config(&env).inspect_err(config_error)?;
    let publishing = PublisherConfig::from_env(&env).inspect_err(config_error)?;
    let sdk = filetrail_aws::load_sdk_config().await;
    let bus = EventBridge::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        publishing.bus.clone(),
    );
    tracing::info!(stage = S::FUNCTION, bus = %publishing.bus, source = %publishing.source,
        "publishing to the bus");
    let clients = Clients {
        s3: s3_client(&sdk),
        publisher: Publisher::new(bus, publishing),
    };
    let lambda = Lambda::new(build(config, clients), function_name(&env, S::FUNCTION));
    // Boxed: the runtime's future nested in this one is deeper than the compiler's layout
    // query limit lets a binary's `main` hold inline.
    Box::pin(lambda.serve()).await
}

/// The instant a sweep stops starting new pages: the invocation's work deadline
/// ([`filetrail_aws::work_deadline`]) keeping [`SWEEP_SAFETY_MARGIN`], at most half the time
/// left; `None` when the context carries no deadline (tests, local runs).
pub fn sweep_deadline(context: &lambda_runtime::Context) -> Option<Instant> {
    (context.deadline != 0).then(|| {
        filetrail_aws::work_deadline(context.deadline(), Margin::AtMostHalf(SWEEP_SAFETY_MARGIN))
    })
}

/// The event of `stage` writing `dst` from `src`: its time is `dst`'s `Last-Modified`, so a
/// retry that finds `dst` in place rebuilds the same event (and `event_id`).
pub fn event_for(stage: &str, src: &ObjectInfo, dst: &ObjectInfo) -> FileMoved {
    let mut event = FileMoved::from_move(Move {
        action_type: ActionType::Put,
        source_bucket: Some(src.bucket.clone()),
        file_key: src.key.clone(),
        destination_bucket: Some(dst.bucket.clone()),
        new_file_key: Some(dst.key.clone()),
        occurred_at: dst.last_modified,
    });
    event.stage = Some(stage.into());
    event.size = Some(dst.size);
    event.etag = Some(dst.etag_unquoted().to_owned()).filter(|e| !e.is_empty());
    event.version_id = dst.version_id.clone();
    event
}
