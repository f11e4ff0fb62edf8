//! The processor: turns level-0 files in an instrument bucket into products next to them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use filetrail_contract::FileMoved;
use filetrail_publisher::{PublishError, Publisher, PutEvents};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::copy::ObjectInfo;
use crate::error::{Report, StageError};
use crate::filename::{NameRules, PROCESSOR_INPUT_LEVEL, file_name_of};
use crate::process::Process;
use crate::stage::{Stage, event_for};
use crate::store::Store;
use crate::trigger::{ObjectRef, Trigger, TriggerError, parse_trigger};

/// The function name in metrics outside Lambda (in Lambda: `AWS_LAMBDA_FUNCTION_NAME`).
pub const PROCESSOR_FUNCTION: &str = "filetrail-processor";
/// The `stage` field of the processor's events.
pub const PROCESSOR_STAGE: &str = "processor";

filetrail_aws::counts! {
    /// What one processor invocation did, counted (emitted as one EMF line).
    #[derive(Serialize)]
    pub struct ProcessCounts {
        /// Objects named by the event.
        pub received: u64,
        /// Inputs processed and all their product events published.
        pub processed: u64,
        /// Objects of another level than `l0` (including this stage's own products).
        pub skipped_level: u64,
        /// File names that do not parse.
        pub skipped_unparsable: u64,
        /// Records that name no new object.
        pub ignored: u64,
        /// Inputs that no longer exist.
        pub missing: u64,
        /// Products written by this invocation.
        pub uploaded: u64,
        /// Products already stored with the same content (a retry); not written again.
        pub already_uploaded: u64,
        /// Events EventBridge accepted.
        pub published: u64,
        /// Inputs that failed; the invocation fails.
        pub failed: u64,
    }
}

/// The processor, with its dependencies.
#[derive(Debug)]
pub struct Processor<P, X> {
    store: Store,
    publisher: Publisher<P>,
    step: X,
    rules: NameRules,
    work_dir: Option<PathBuf>,
}

/// A product file, checked and hashed before anything is uploaded.
struct Product {
    path: PathBuf,
    key: String,
    size: u64,
    sha256_b64: String,
}

enum Outcome {
    Skipped,
    Events(Vec<FileMoved>),
}

impl<P: PutEvents, X: Process> Processor<P, X> {
    /// A processor reading and writing with `s3`, running `step`, publishing through `publisher`.
    pub fn new(s3: aws_sdk_s3::Client, publisher: Publisher<P>, step: X, rules: NameRules) -> Self {
        Self {
            store: Store::new(s3),
            publisher,
            step,
            rules,
            work_dir: None,
        }
    }

    /// Put temporary directories under `dir` instead of the system temp dir.
    #[must_use]
    pub fn with_work_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.work_dir = Some(dir.into());
        self
    }

    /// The processing step in use.
    pub fn step(&self) -> &X {
        &self.step
    }

    /// Handle one invocation payload (S3 notification or S3 → EventBridge `Object Created`).
    pub async fn handle(&self, event: &Value) -> Report<ProcessCounts> {
        let mut report = Report::<ProcessCounts>::default();
        let objects = match parse_trigger(event) {
            Ok(Trigger::Objects { objects, ignored }) => {
                report.counts.ignored += ignored as u64;
                objects
            }
            Ok(Trigger::Sweep) => {
                let e = TriggerError(
                    "the processor runs on S3 Object Created events; this event names no object"
                        .into(),
                );
                tracing::error!(error = %e, "unrecognised event");
                report.errors.push(e.into());
                return report;
            }
            Err(e) => {
                tracing::error!(error = %e, "unrecognised event");
                report.errors.push(e.into());
                return report;
            }
        };
        report.counts.received += objects.len() as u64;
        for object in objects {
            match self.process_one(&object, &mut report.counts).await {
                Ok(Outcome::Skipped) => {}
                Ok(Outcome::Events(events)) => match self.publisher.publish(&events).await {
                    Ok(done) => {
                        report.counts.published += done.delivered as u64;
                        report.counts.processed += 1;
                    }
                    Err(err) => {
                        let PublishError::Failed { report: done, .. } = &err;
                        report.counts.published += done.delivered as u64;
                        report.counts.failed += 1;
                        tracing::error!(bucket = %object.bucket, key = %object.key, error = %err,
                            "product events not published; a retry publishes them");
                        report.errors.push(err.into());
                    }
                },
                Err(e) => {
                    report.counts.failed += 1;
                    tracing::error!(bucket = %object.bucket, key = %object.key, error = %e,
                        retryable = e.retryable(), "processing failed; input left untouched");
                    report.errors.push(e);
                }
            }
        }
        report
    }

    async fn process_one(
        &self,
        object: &ObjectRef,
        counts: &mut ProcessCounts,
    ) -> Result<Outcome, StageError> {
        let (bucket, key) = (object.bucket.as_str(), object.key.as_str());
        let name = file_name_of(key);
        let file = match self.rules.parse(name) {
            Ok(f) => f,
            Err(reason) => {
                tracing::warn!(bucket, key, reason = %reason, "file name does not parse; not processed");
                counts.skipped_unparsable += 1;
                return Ok(Outcome::Skipped);
            }
        };
        if file.level != PROCESSOR_INPUT_LEVEL {
            tracing::debug!(bucket, key, level = %file.level, "not a level-0 file; not processed");
            counts.skipped_level += 1;
            return Ok(Outcome::Skipped);
        }
        let Some(input) = self.store.head(bucket, key).await? else {
            tracing::warn!(bucket, key, "input is gone");
            counts.missing += 1;
            return Ok(Outcome::Skipped);
        };
        let io = |context: String| move |source| StageError::Io { context, source };
        let mut builder = tempfile::Builder::new();
        builder.prefix("filetrail-processor-");
        let tmp = match &self.work_dir {
            Some(dir) => builder.tempdir_in(dir),
            None => builder.tempdir(),
        }
        .map_err(io("creating a temporary directory".into()))?;
        let input_path = tmp.path().join("input").join(name);
        let out_dir = tmp.path().join("output");
        for dir in [tmp.path().join("input"), out_dir.clone()] {
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(io(format!("creating {}", dir.display())))?;
        }
        self.store
            .download(bucket, key, &input.etag, &input_path)
            .await
            .map_err(|source| StageError::Download {
                bucket: bucket.into(),
                key: key.into(),
                source,
            })?;
        self.step
            .process(&input_path, &out_dir)
            .await
            .map_err(|source| StageError::Process {
                bucket: bucket.into(),
                key: key.into(),
                source,
            })?;
        let products = self.products(object, &out_dir).await?;
        if products.is_empty() {
            tracing::warn!(bucket, key, "the processing step left no products");
        }
        let mut events = Vec::with_capacity(products.len());
        for product in &products {
            let stored = self.store_product(bucket, product, counts).await?;
            events.push(event_for(PROCESSOR_STAGE, &input, &stored));
        }
        tracing::info!(bucket, key, products = products.len(), "input processed");
        Ok(Outcome::Events(events))
    }

    /// Every regular file in `out_dir`, named and hashed, before any upload.
    async fn products(
        &self,
        object: &ObjectRef,
        out_dir: &Path,
    ) -> Result<Vec<Product>, StageError> {
        let product_error = |name: &str, reason: String| StageError::Product {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            name: name.into(),
            reason,
        };
        let io = |source| StageError::Io {
            context: format!("reading {}", out_dir.display()),
            source,
        };
        let mut entries = tokio::fs::read_dir(out_dir).await.map_err(io)?;
        let mut products = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(io)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().await.map_err(io)?;
            if !kind.is_file() {
                return Err(product_error(&name, "is not a regular file".into()));
            }
            let file = self
                .rules
                .parse(&name)
                .map_err(|e| product_error(&name, format!("not a science file name: {e}")))?;
            let path = entry.path();
            let (size, sha256_b64) = hash_file(&path).await.map_err(io)?;
            products.push(Product {
                path,
                key: file.key(),
                size,
                sha256_b64,
            });
        }
        products.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(products)
    }

    /// Upload a product unless the same bytes are already stored there; return what is stored.
    async fn store_product(
        &self,
        bucket: &str,
        product: &Product,
        counts: &mut ProcessCounts,
    ) -> Result<ObjectInfo, StageError> {
        let key = product.key.as_str();
        if let Some(existing) = self.store.head(bucket, key).await?
            && existing.size == product.size
            && existing.checksum.as_ref().is_some_and(|c| {
                c.algorithm == "SHA256" && c.full_object && c.value == product.sha256_b64
            })
        {
            tracing::info!(
                bucket,
                key,
                "product already stored with the same content; upload skipped"
            );
            counts.already_uploaded += 1;
            return Ok(existing);
        }
        self.store
            .upload(
                &product.path,
                product.size,
                &product.sha256_b64,
                bucket,
                key,
            )
            .await?;
        counts.uploaded += 1;
        self.store
            .head(bucket, key)
            .await?
            .ok_or_else(|| StageError::Product {
                bucket: bucket.into(),
                key: key.into(),
                name: file_name_of(key).into(),
                reason: "not there after PutObject".into(),
            })
    }
}

/// Size and base64 SHA-256 of a local file.
async fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, aws_smithy_types::base64::encode(hasher.finalize())))
}

impl<P: PutEvents, X: Process> Stage for Processor<P, X> {
    const FUNCTION: &'static str = PROCESSOR_FUNCTION;
    type Counts = ProcessCounts;

    /// [`Processor::handle`]: the processor does not sweep, so it has no use for `deadline`.
    async fn handle(&self, payload: &Value, _deadline: Option<Instant>) -> Report<ProcessCounts> {
        Processor::handle(self, payload).await
    }
}
