//! The scheduled auditor: [`filetrail_audit::audit`] under the Lambda runtime, every 15 minutes
//! (Terraform: `infra/modules/filetrail-auditor`).
//!
//! Each invocation audits the buckets against the trail, emits the three counts and the number
//! of objects read as one EMF line under the deployed function's name ([`metrics`]), and logs
//! every finding as a JSON line ([`log_findings`]). Findings are the audit's answer, never a
//! failure; an audit that cannot finish (a bucket or the trail unreadable) fails the
//! invocation, so Lambda's `Errors` metric and its alarm see it. So does an audit that reaches
//! the work deadline (a stage sweep's, [`filetrail_stages::sweep_deadline`]): it stops there and fails
//! the invocation itself, with a logged reason naming how far it got, before Lambda would kill
//! it without a word. It emits no counts then: a partial count would read as "clean" for what
//! was not read.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use chrono::{DateTime, Utc};
use filetrail_audit::{
    AuditConfig, AuditError, ConnectError, Counts, Inventoried, Progress, Report, S3Listing, S3Url,
    SinkTrail, TrailConfig,
};
use filetrail_aws::emf::{MetricCounts, Metrics};
use filetrail_aws::{ConfigError, Env};
use lambda_runtime::LambdaEvent;
use tracing::Instrument;

/// The name metrics are reported under outside Lambda (in Lambda: `AWS_LAMBDA_FUNCTION_NAME`).
pub const FUNCTION_NAME: &str = "filetrail-auditor";

/// S3 Inventory manifests (`s3://bucket/…/manifest.json`, comma separated) read instead of
/// listing their source buckets.
pub const ENV_INVENTORY: &str = "FILETRAIL_AUDIT_INVENTORY";

filetrail_aws::counts! {
    /// What one audit emits as EMF: the three counts and the objects read. The field names are
    /// the metric names `infra/emf-metrics.json`, the alarms and the dashboard read.
    pub struct AuditCounts {
        /// Objects in the incoming bucket past `older_than`.
        pub stuck_files: u64,
        /// Level-0 files past `older_than` without a recorded product.
        pub unprocessed_files: u64,
        /// Instrument-bucket objects no `PUT` record names.
        pub unrecorded_files: u64,
        /// Objects the audit read, listed or from inventories.
        pub audited_objects: u64,
    }
}

impl From<&Counts> for AuditCounts {
    fn from(c: &Counts) -> Self {
        Self {
            stuck_files: c.stuck,
            unprocessed_files: c.unprocessed,
            unrecorded_files: c.unrecorded,
            audited_objects: c.objects,
        }
    }
}

/// What the auditor reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditorConfig {
    /// The buckets and windows (`now` is replaced at every invocation).
    pub audit: AuditConfig,
    /// The trail's store.
    pub trail: TrailConfig,
    /// Inventory manifests ([`ENV_INVENTORY`]), none by default.
    pub inventory: Vec<S3Url>,
}

impl AuditorConfig {
    /// Read the audit's variables (the stages' names and the two windows), the trail's (the
    /// recorder's sink variables) and [`ENV_INVENTORY`].
    pub fn from_env(env: &Env<'_>, now: DateTime<Utc>) -> Result<Self, ConfigError> {
        let inventory = match env.get(ENV_INVENTORY) {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(|u| u.parse().map_err(|p| ConfigError::new(ENV_INVENTORY, p)))
                .collect::<Result<_, _>>()?,
        };
        Ok(Self {
            audit: AuditConfig::from_env(env, now)?,
            trail: TrailConfig::from_env(env)?,
            inventory,
        })
    }
}

/// The EMF line of one audit ([`AuditCounts`]) under `function`.
pub fn metrics(counts: &Counts, function: &str) -> Metrics {
    AuditCounts::from(counts).metrics(function)
}

/// One log line per finding (WARN, so an operator's `RUST_LOG=warn` keeps them), then the
/// summary (INFO). With `AWS_LAMBDA_LOG_FORMAT=JSON` each is one JSON object.
pub fn log_findings(report: &Report) {
    for f in &report.findings {
        let finding = serde_json::to_string(f).unwrap_or_default();
        tracing::warn!(kind = f.kind.name(), bucket = %f.bucket, key = %f.key,
            age_s = f.age.as_secs(), missing = %f.missing, finding = %finding, "audit finding");
    }
    let c = &report.counts;
    tracing::info!(
        stuck = c.stuck,
        stuck_unparsable = c.stuck_unparsable,
        unprocessed = c.unprocessed,
        unrecorded = c.unrecorded,
        objects = c.objects,
        buckets = c.buckets,
        checked = c.checked,
        trail_queries = c.trail_queries,
        clean = report.is_clean(),
        "audit done"
    );
}

/// Why the auditor could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A variable is missing or wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The trail's client could not be set up.
    #[error(transparent)]
    Trail(#[from] ConnectError),
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// A bucket or the trail could not be read.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The work deadline came before the audit finished; `reached` is the last page it read.
    #[error("the audit did not finish by the work deadline (before the Lambda timeout): {}; raise the function's timeout or give large buckets an S3 Inventory report ({ENV_INVENTORY})", how_far(.reached.as_ref()))]
    Deadline {
        /// Where the audit was after its last page.
        reached: Option<Progress>,
    },
}

/// How far an audit got, in words, from its last progress.
fn how_far(reached: Option<&Progress>) -> String {
    match reached {
        None => "it had not read a page of the incoming bucket yet".into(),
        Some(p) => format!(
            "it had read {} objects in {} buckets (the last page from {}) and looked {} up with {} trail queries",
            p.counts.objects, p.counts.buckets, p.bucket, p.counts.checked, p.counts.trail_queries
        ),
    }
}

/// The auditor: its clients, built once, and its configuration.
#[derive(Debug)]
pub struct Auditor {
    s3: aws_sdk_s3::Client,
    trail: SinkTrail,
    config: AuditorConfig,
    function: String,
}

impl Auditor {
    /// An auditor reporting its metrics under `function` (the deployed name).
    pub async fn connect(
        config: AuditorConfig,
        sdk: &aws_config::SdkConfig,
        function: String,
    ) -> Result<Self, StartError> {
        Ok(Self {
            s3: filetrail_stages::s3_client(sdk),
            trail: SinkTrail::connect(&config.trail, sdk).await?,
            config,
            function,
        })
    }

    /// One audit with ages measured from `now`: listings, or inventories where configured;
    /// `progress` is told after every page.
    pub async fn audit(
        &self,
        now: DateTime<Utc>,
        progress: &(impl Fn(&Progress) + Sync),
    ) -> Result<Report, AuditError> {
        let config = AuditConfig {
            now,
            ..self.config.audit.clone()
        };
        let listing = S3Listing::new(self.s3.clone());
        let source = Inventoried::for_audit(
            self.s3.clone(),
            listing,
            &self.config.inventory,
            &config,
            ENV_INVENTORY,
        )
        .await?;
        filetrail_audit::audit(&config, &source, &self.trail, progress).await
    }

    /// One Lambda invocation, as the binary runs it: [`Auditor::invoke`] now, stopped at the
    /// work deadline a stage's sweep works to ([`filetrail_stages::sweep_deadline`]), in a span
    /// with the request id (as the stages' `Lambda` edge), so every log line of the audit names
    /// its invocation. The scheduled event's content does not matter.
    pub async fn handle(
        &self,
        event: LambdaEvent<serde_json::Value>,
    ) -> Result<serde_json::Value, InvokeError> {
        // At ERROR level, so the span is kept whatever level the function logs at: Terraform's
        // `log_level = "WARN"` sets RUST_LOG=warn, which drops an INFO span and with it the
        // request id of the findings' WARN lines.
        let span = tracing::error_span!("invocation", request_id = %event.context.request_id);
        let deadline = filetrail_stages::sweep_deadline(&event.context);
        self.invoke(Utc::now(), deadline).instrument(span).await
    }

    /// One invocation: audit (stopped at `deadline`, if any), emit the metrics, log the
    /// findings, answer the counts. Only an audit that could not finish is an error.
    pub async fn invoke(
        &self,
        now: DateTime<Utc>,
        deadline: Option<Instant>,
    ) -> Result<serde_json::Value, InvokeError> {
        let reached = Mutex::new(None::<Progress>);
        let progress = |p: &Progress| {
            *reached.lock().unwrap_or_else(PoisonError::into_inner) = Some(p.clone());
        };
        let audit = self.audit(now, &progress);
        let finished = match deadline {
            None => Some(audit.await),
            Some(d) => tokio::time::timeout_at(d.into(), audit).await.ok(),
        };
        let report = match finished {
            Some(Ok(report)) => report,
            Some(Err(e)) => {
                tracing::error!(error = %e, retryable = e.retryable(), "the audit could not finish");
                return Err(e.into());
            }
            None => {
                let reached = reached
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                let e = InvokeError::Deadline { reached };
                tracing::error!(error = %e, "the audit reached the work deadline");
                return Err(e);
            }
        };
        metrics(&report.counts, &self.function).emit();
        log_findings(&report);
        Ok(serde_json::json!({ "clean": report.is_clean(), "counts": report.counts }))
    }
}
