//! The sorter: moves files from the incoming bucket to their instrument bucket and key.

use std::collections::HashSet;
use std::time::Instant;

use filetrail_contract::FileMoved;
use filetrail_publisher::{PublishError, Publisher, PutEvents};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::config::SorterConfig;
use crate::copy::{Basis, ObjectInfo, Sameness, already_holds, verify_copy};
use crate::error::{Report, StageError};
use crate::filename::file_name_of;
use crate::limits::{FILE_CONCURRENCY, SWEEP_PAGE_KEYS};
use crate::stage::{Stage, event_for};
use crate::store::{Deleted, Store};
use crate::trigger::{ObjectRef, Trigger, parse_trigger};

/// The function name in metrics outside Lambda (in Lambda: `AWS_LAMBDA_FUNCTION_NAME`).
pub const SORTER_FUNCTION: &str = "filetrail-sorter";
/// The `stage` field of the sorter's events.
pub const SORTER_STAGE: &str = "sorter";

filetrail_aws::counts! {
    /// What one sorter invocation did, counted (emitted as one EMF line).
    #[derive(Serialize)]
    pub struct SortCounts {
        /// Objects named by the event or listed by the sweep.
        pub received: u64,
        /// Moved: copied (or found already copied), published, source deleted.
        pub sorted: u64,
        /// Source already gone and the destination present: moved by an earlier invocation.
        pub already_moved: u64,
        /// File names that do not parse; left in place.
        pub skipped_unparsable: u64,
        /// Records that name no new object, or objects already at their destination.
        pub ignored: u64,
        /// Neither the source nor the destination exists.
        pub missing: u64,
        /// Published, but the source was replaced by a new upload meanwhile and kept.
        pub source_changed: u64,
        /// Destinations that already held the source's bytes, so no copy was made (a retry).
        pub copy_skipped: u64,
        /// Copies whose content could be checked by size only (see ARCHITECTURE.md).
        pub verified_size_only: u64,
        /// Copies made in parts.
        pub multipart_copies: u64,
        /// Events EventBridge accepted.
        pub published: u64,
        /// Files that failed (copy, verify, publish or delete); the invocation fails.
        pub failed: u64,
        /// Listing pages a sweep went through.
        pub sweep_pages: u64,
        /// 1 when a sweep stopped at the deadline before the end of the listing.
        pub sweep_incomplete: u64,
    }
}

/// The sorter, with its dependencies.
#[derive(Debug)]
pub struct Sorter<P> {
    store: Store,
    publisher: Publisher<P>,
    config: SorterConfig,
    page_keys: i32,
}

/// A file copied and verified, waiting for its event to be published.
struct ReadyMove {
    event: FileMoved,
    source: ObjectInfo,
}

/// Where one file stands after its copy step.
enum Prepared {
    Unparsable,
    Ignored,
    Missing,
    AlreadyMoved,
    Failed(StageError),
    Ready {
        ready: Box<ReadyMove>,
        basis: Basis,
        parts: usize,
    },
}

impl<P: PutEvents> Sorter<P> {
    /// A sorter moving files with `s3` and publishing through `publisher`.
    pub fn new(s3: aws_sdk_s3::Client, publisher: Publisher<P>, config: SorterConfig) -> Self {
        Self {
            store: Store::new(s3),
            publisher,
            config,
            page_keys: SWEEP_PAGE_KEYS,
        }
    }

    /// List the incoming bucket in pages of `keys` (1..=[`SWEEP_PAGE_KEYS`]; tests use small
    /// pages to exercise pagination).
    #[must_use]
    pub fn with_sweep_page_keys(mut self, keys: i32) -> Self {
        self.page_keys = keys.clamp(1, SWEEP_PAGE_KEYS);
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &SorterConfig {
        &self.config
    }

    async fn sweep(&self, deadline: Option<Instant>, report: &mut Report<SortCounts>) {
        let bucket = &self.config.incoming_bucket;
        tracing::info!(bucket = %bucket, "sweep started");
        let mut token = None;
        loop {
            // The first page always runs, so a short timeout still makes progress.
            if report.counts.sweep_pages > 0 && deadline.is_some_and(|d| Instant::now() >= d) {
                report.counts.sweep_incomplete = 1;
                tracing::warn!(bucket = %bucket, pages = report.counts.sweep_pages,
                    "sweep stopped at the deadline; the next sweep continues");
                break;
            }
            let page = match self.store.list_page(bucket, self.page_keys, token).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "listing the incoming bucket failed");
                    report.errors.push(e.into());
                    break;
                }
            };
            report.counts.sweep_pages += 1;
            let objects = page
                .keys
                .into_iter()
                .map(|key| ObjectRef {
                    bucket: bucket.clone(),
                    key,
                })
                .collect();
            self.sort_batch(objects, report).await;
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        tracing::info!(bucket = %bucket, pages = report.counts.sweep_pages, "sweep finished");
    }

    /// Copy and verify every object, publish their events in one go, then delete the sources
    /// whose event was delivered.
    async fn sort_batch(&self, objects: Vec<ObjectRef>, report: &mut Report<SortCounts>) {
        let ready = self.copy_all(objects, report).await;
        if ready.is_empty() {
            return;
        }
        let undelivered = self.publish(&ready, report).await;
        let delivered = ready.into_iter().filter(|r| {
            let keep = undelivered.contains(&r.event.event_id);
            if keep {
                tracing::warn!(bucket = %r.source.bucket, key = %r.source.key, event_id = %r.event.event_id,
                    "event not published; source kept so a retry publishes it");
            }
            !keep
        });
        self.delete_sources(delivered, report).await;
    }

    /// Phase 1: copy and verify every object ([`Self::prepare`]), counting each outcome; the
    /// moves ready to publish.
    async fn copy_all(
        &self,
        objects: Vec<ObjectRef>,
        report: &mut Report<SortCounts>,
    ) -> Vec<ReadyMove> {
        report.counts.received += objects.len() as u64;
        let prepared: Vec<Prepared> = futures_util::stream::iter(objects)
            .map(|o| async move { self.prepare(&o).await })
            .buffer_unordered(FILE_CONCURRENCY)
            .collect()
            .await;
        let mut ready = Vec::new();
        for p in prepared {
            let c = &mut report.counts;
            match p {
                Prepared::Unparsable => c.skipped_unparsable += 1,
                Prepared::Ignored => c.ignored += 1,
                Prepared::Missing => c.missing += 1,
                Prepared::AlreadyMoved => c.already_moved += 1,
                Prepared::Failed(e) => {
                    c.failed += 1;
                    report.errors.push(e);
                }
                Prepared::Ready {
                    ready: r,
                    basis,
                    parts,
                } => {
                    if basis == Basis::SizeOnly {
                        c.verified_size_only += 1;
                    }
                    match parts {
                        0 => c.copy_skipped += 1,
                        1 => {}
                        _ => c.multipart_copies += 1,
                    }
                    ready.push(*r);
                }
            }
        }
        ready
    }

    /// Phase 2: publish the ready moves' events in one go; the `event_id`s not delivered.
    async fn publish(
        &self,
        ready: &[ReadyMove],
        report: &mut Report<SortCounts>,
    ) -> HashSet<String> {
        let events: Vec<FileMoved> = ready.iter().map(|r| r.event.clone()).collect();
        match self.publisher.publish(&events).await {
            Ok(done) => {
                report.counts.published += done.delivered as u64;
                HashSet::new()
            }
            Err(err) => {
                let PublishError::Failed {
                    failures,
                    report: done,
                } = &err;
                report.counts.published += done.delivered as u64;
                report.counts.failed += failures.len() as u64;
                let ids = failures.iter().map(|f| f.event_id.clone()).collect();
                report.errors.push(err.into());
                ids
            }
        }
    }

    /// Phase 3: delete the sources of the delivered moves, each only while it is unchanged.
    async fn delete_sources(
        &self,
        delivered: impl Iterator<Item = ReadyMove>,
        report: &mut Report<SortCounts>,
    ) {
        let deletions = delivered.map(|r| async move {
            let outcome = self
                .store
                .delete_if_unchanged(&r.source.bucket, &r.source.key, &r.source.etag)
                .await;
            (r, outcome)
        });
        let mut deletions =
            futures_util::stream::iter(deletions).buffer_unordered(FILE_CONCURRENCY);
        while let Some((r, outcome)) = deletions.next().await {
            let (bucket, key) = (&r.source.bucket, &r.source.key);
            let to = r.event.new_file_key.as_deref().unwrap_or_default();
            match outcome {
                Ok(Deleted::Deleted) => {
                    report.counts.sorted += 1;
                    tracing::info!(bucket = %bucket, key = %key, destination_bucket = ?r.event.destination_bucket,
                        new_file_key = %to, event_id = %r.event.event_id, "file sorted");
                }
                Ok(Deleted::Changed) => {
                    report.counts.source_changed += 1;
                    tracing::warn!(bucket = %bucket, key = %key, event_id = %r.event.event_id,
                        "source replaced by a newer upload after the copy; the new upload stays for its own sort");
                }
                Err(e) => {
                    report.counts.failed += 1;
                    tracing::error!(bucket = %bucket, key = %key, error = %e, "deleting the sorted source failed");
                    report.errors.push(e.into());
                }
            }
        }
    }

    /// Everything up to (not including) publishing, for one object.
    async fn prepare(&self, object: &ObjectRef) -> Prepared {
        let (bucket, key) = (object.bucket.as_str(), object.key.as_str());
        let file = match self.config.rules.parse(file_name_of(key)) {
            Ok(f) => f,
            Err(reason) => {
                tracing::warn!(bucket, key, reason = %reason, "file name does not parse; left in place");
                return Prepared::Unparsable;
            }
        };
        let dst_bucket = file.bucket(&self.config.bucket_prefix);
        let dst_key = file.key();
        if dst_bucket == bucket && dst_key == key {
            tracing::info!(bucket, key, "file is already at its destination");
            return Prepared::Ignored;
        }
        match self.move_file(bucket, key, &dst_bucket, &dst_key).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(bucket, key, destination_bucket = %dst_bucket, new_file_key = %dst_key,
                    error = %e, retryable = e.retryable(), "sorting failed");
                Prepared::Failed(e)
            }
        }
    }

    async fn move_file(
        &self,
        bucket: &str,
        key: &str,
        dst_bucket: &str,
        dst_key: &str,
    ) -> Result<Prepared, StageError> {
        let Some(src) = self.store.head(bucket, key).await? else {
            // Deleted only after its event was delivered: a retry or a duplicate notification.
            return Ok(match self.store.head(dst_bucket, dst_key).await? {
                Some(_) => {
                    tracing::info!(
                        bucket,
                        key,
                        destination_bucket = dst_bucket,
                        new_file_key = dst_key,
                        "already moved by an earlier invocation"
                    );
                    Prepared::AlreadyMoved
                }
                None => {
                    tracing::warn!(bucket, key, "object is gone and not at its destination");
                    Prepared::Missing
                }
            });
        };
        let existing = self.store.head(dst_bucket, dst_key).await?;
        let (dst, basis, parts) = match existing.as_ref().map(|d| (d, already_holds(&src, d))) {
            Some((d, Sameness::Same(basis))) => {
                tracing::info!(bucket, key, destination_bucket = dst_bucket, new_file_key = dst_key,
                    basis = ?basis, "destination already holds this content; copy skipped");
                (d.clone(), basis, 0)
            }
            _ => {
                let copied = self
                    .store
                    .copy(&src, dst_bucket, dst_key, &self.config.copy)
                    .await?;
                let dst = self.store.head(dst_bucket, dst_key).await?.ok_or_else(|| {
                    mismatch(
                        &src,
                        dst_bucket,
                        dst_key,
                        "the copy is not there after CopyObject".into(),
                    )
                })?;
                let basis = verify_copy(&src, &dst, &copied.etag)
                    .map_err(|reason| mismatch(&src, dst_bucket, dst_key, reason))?;
                if basis == Basis::SizeOnly {
                    tracing::warn!(
                        bucket,
                        key,
                        destination_bucket = dst_bucket,
                        new_file_key = dst_key,
                        "copy verified by size only (no comparable ETag or checksum)"
                    );
                }
                (dst, basis, copied.parts)
            }
        };
        let event = event_for(SORTER_STAGE, &src, &dst);
        Ok(Prepared::Ready {
            ready: Box::new(ReadyMove { event, source: src }),
            basis,
            parts,
        })
    }
}

impl<P: PutEvents> Stage for Sorter<P> {
    const FUNCTION: &'static str = SORTER_FUNCTION;
    type Counts = SortCounts;

    /// Sort the objects an event names, or sweep the incoming bucket (stopping at `deadline`).
    async fn handle(&self, event: &Value, deadline: Option<Instant>) -> Report<SortCounts> {
        let mut report = Report::<SortCounts>::default();
        match parse_trigger(event) {
            Err(e) => {
                tracing::error!(error = %e, "unrecognised event");
                report.errors.push(e.into());
            }
            Ok(Trigger::Objects { objects, ignored }) => {
                report.counts.ignored += ignored as u64;
                self.sort_batch(objects, &mut report).await;
            }
            Ok(Trigger::Sweep) => self.sweep(deadline, &mut report).await,
        }
        report
    }
}

fn mismatch(src: &ObjectInfo, dst_bucket: &str, dst_key: &str, reason: String) -> StageError {
    StageError::CopyMismatch {
        bucket: src.bucket.clone(),
        key: src.key.clone(),
        dst_bucket: dst_bucket.into(),
        dst_key: dst_key.into(),
        reason,
    }
}
