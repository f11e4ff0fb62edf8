//! `filetrail audit`: what did *not* happen in the pipeline, from the buckets and the trail.
//!
//! - **stuck**: objects in the incoming bucket older than `older_than` (never sorted), with
//!   whether their names parse;
//! - **unprocessed**: level-0 files in instrument buckets, modified within `since` and older
//!   than `older_than`, that no `PUT` record has as its source (no product recorded);
//! - **unrecorded**: objects in instrument buckets, modified within `since` and older than
//!   `older_than`, that no `PUT` record names as its destination.
//!
//! [`audit`] reads objects through the [`ObjectSource`] seam ([`S3Listing`]: paginated
//! ListObjectsV2; [`Inventoried`]: S3 Inventory reports) and the trail through the [`Trail`]
//! seam ([`TimestreamTrail`]: Timestream Query; [`InfluxTrail`]: InfluxQL; [`SinkTrail`]:
//! either, as the recorder's configuration names it), one lookup per page of objects (records
//! from [`RECORD_TIME_MARGIN`] before the page's oldest object on, so the store reads days, not
//! its whole retention; the keys it leaves without a record asked once more over the whole
//! trail, so a finding never rests on the bound), and returns a [`Report`].

pub mod config;
mod error;
pub mod influx;
pub mod inventory;
pub mod limits;
pub mod memory;
pub mod object;
pub mod report;
pub mod sink;
pub mod timestream;
pub mod trail;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use filetrail_stages::filename::{PROCESSOR_INPUT_LEVEL, file_name_of};

pub use config::{AuditConfig, DEFAULT_OLDER_THAN, DEFAULT_SINCE, TrailConfig, parse_duration};
pub use error::{AuditError, SourceError, TrailError};
pub use influx::InfluxTrail;
pub use inventory::{Inventoried, Manifest, S3Url};
pub use object::{ObjectPage, ObjectSource, S3Listing, StoredObject};
pub use report::{Counts, Finding, FindingKind, Progress, Report};
pub use sink::{ConnectError, SinkTrail};
pub use timestream::TimestreamTrail;
pub use trail::{Found, Lookup, RECORD_TIME_MARGIN, Trail, TrailRecord};

use limits::LOOKUP_OBJECTS;

/// A bucket read page by page.
struct Pages<'a, S> {
    source: &'a S,
    bucket: &'a str,
    /// `Some(token)` while pages remain.
    next: Option<Option<String>>,
}

impl<'a, S: ObjectSource> Pages<'a, S> {
    fn new(source: &'a S, bucket: &'a str) -> Self {
        Self {
            source,
            bucket,
            next: Some(None),
        }
    }

    async fn next(&mut self) -> Result<Option<Vec<StoredObject>>, SourceError> {
        let Some(token) = self.next.take() else {
            return Ok(None);
        };
        let page = self.source.page(self.bucket, token).await?;
        self.next = page.next.map(Some);
        Ok(Some(page.objects))
    }
}

/// How long before `now` the object was modified (zero for a time in the future).
fn age_of(now: DateTime<Utc>, object: &StoredObject) -> Duration {
    (now - object.last_modified).to_std().unwrap_or_default()
}

/// Audit the incoming bucket and every instrument bucket of `config`: list them through
/// `source`, look each page of instrument-bucket objects up in `trail`, and report what is
/// missing. `progress` is called after every page.
pub async fn audit(
    config: &AuditConfig,
    source: &impl ObjectSource,
    trail: &impl Trail,
    progress: &(impl Fn(&Progress) + Sync),
) -> Result<Report, AuditError> {
    let mut report = Report::new(config);
    stuck(config, source, &mut report, progress).await?;
    for bucket in config.instrument_buckets() {
        instrument_bucket(config, &bucket, source, trail, &mut report, progress).await?;
    }
    Ok(report)
}

fn tell(progress: &impl Fn(&Progress), bucket: &str, report: &Report) {
    progress(&Progress {
        bucket: bucket.to_owned(),
        counts: report.counts,
    });
}

/// Objects left in the incoming bucket past `older_than`.
async fn stuck(
    config: &AuditConfig,
    source: &impl ObjectSource,
    report: &mut Report,
    progress: &impl Fn(&Progress),
) -> Result<(), AuditError> {
    let bucket = config.incoming_bucket.as_str();
    report.counts.buckets += 1;
    let mut pages = Pages::new(source, bucket);
    while let Some(objects) = pages.next().await? {
        report.counts.objects += objects.len() as u64;
        for o in objects {
            let age = age_of(config.now, &o);
            if age < config.older_than {
                continue;
            }
            let parses = config
                .rules
                .parse(file_name_of(&o.key))
                .map(|f| format!("{}/{}", f.bucket(&config.bucket_prefix), f.key()))
                .map_err(|e| e.to_string());
            let missing = match &parses {
                Ok(dest) => format!("not sorted to {dest}"),
                Err(e) => format!("not sorted, and never will be: the name does not parse ({e})"),
            };
            report.push(Finding {
                kind: FindingKind::Stuck { parses },
                bucket: bucket.into(),
                key: o.key,
                last_modified: o.last_modified,
                age,
                missing,
            });
        }
        tell(progress, bucket, report);
    }
    Ok(())
}

/// One instrument bucket: every object in the window looked up as a destination, every level-0
/// file among them also as a source, one lookup per [`LOOKUP_OBJECTS`].
async fn instrument_bucket(
    config: &AuditConfig,
    bucket: &str,
    source: &impl ObjectSource,
    trail: &impl Trail,
    report: &mut Report,
    progress: &impl Fn(&Progress),
) -> Result<(), AuditError> {
    report.counts.buckets += 1;
    let window_start = config.now - chrono::Duration::from_std(config.since).unwrap_or_default();
    let mut pages = Pages::new(source, bucket);
    while let Some(objects) = pages.next().await? {
        report.counts.objects += objects.len() as u64;
        let candidates: Vec<StoredObject> = objects
            .into_iter()
            .filter(|o| {
                o.last_modified >= window_start && age_of(config.now, o) >= config.older_than
            })
            .collect();
        for chunk in candidates.chunks(LOOKUP_OBJECTS) {
            check(config, bucket, chunk, trail, report).await?;
        }
        tell(progress, bucket, report);
    }
    Ok(())
}

/// Whether a key names a level-0 file of the configured mission.
fn is_level_zero(config: &AuditConfig, key: &str) -> bool {
    config
        .rules
        .parse(file_name_of(key))
        .is_ok_and(|f| f.level == PROCESSOR_INPUT_LEVEL)
}

/// The records of a chunk's keys, in two lookups at most: the first asks only records from
/// [`RECORD_TIME_MARGIN`] before the chunk's oldest object (what a time-partitioned store
/// reads cheaply); the keys it leaves without a record (a destination no record names, a
/// level-0 source with no product) are asked again over the whole trail, so a record older than
/// the bound is never taken for a missing one. A chunk whose keys are all recorded costs one.
async fn records_of(
    bucket: &str,
    objects: &[StoredObject],
    sources: &[&str],
    trail: &impl Trail,
) -> Result<Found, AuditError> {
    let destinations: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    let oldest = objects.iter().map(|o| o.last_modified).min();
    let margin = chrono::Duration::from_std(RECORD_TIME_MARGIN).unwrap_or_default();
    let mut found = trail
        .lookup(&Lookup {
            bucket,
            sources,
            destinations: &destinations,
            not_before: oldest.map(|t| t - margin),
        })
        .await?;
    let (recorded, has_product) = matched(bucket, &found.records);
    let unrecorded: Vec<&str> = destinations
        .iter()
        .copied()
        .filter(|k| !recorded.contains(k))
        .collect();
    let unprocessed: Vec<&str> = sources
        .iter()
        .copied()
        .filter(|k| !has_product.contains(k))
        .collect();
    let again = trail
        .lookup(&Lookup {
            bucket,
            sources: &unprocessed,
            destinations: &unrecorded,
            not_before: None,
        })
        .await?;
    found.records.extend(again.records);
    found.queries += again.queries;
    Ok(found)
}

/// Of `records`, the keys recorded as destinations in `bucket` and the keys recorded as a
/// move's source from `bucket` (a level-0 file's products).
fn matched<'r>(bucket: &str, records: &'r [TrailRecord]) -> (HashSet<&'r str>, HashSet<&'r str>) {
    let in_bucket = |b: &Option<String>| b.as_deref() == Some(bucket);
    let recorded = records
        .iter()
        .filter(|r| in_bucket(&r.destination_bucket))
        .map(TrailRecord::destination_key)
        .collect();
    let has_product = records
        .iter()
        .filter(|r| in_bucket(&r.source_bucket))
        .map(|r| r.file_key.as_str())
        .collect();
    (recorded, has_product)
}

/// Look one chunk of objects up and push what the trail lacks.
async fn check(
    config: &AuditConfig,
    bucket: &str,
    objects: &[StoredObject],
    trail: &impl Trail,
    report: &mut Report,
) -> Result<(), AuditError> {
    let sources: Vec<&str> = objects
        .iter()
        .map(|o| o.key.as_str())
        .filter(|k| is_level_zero(config, k))
        .collect();
    let found = records_of(bucket, objects, &sources, trail).await?;
    report.counts.checked += objects.len() as u64;
    report.counts.trail_queries += found.queries as u64;
    let (recorded, has_product) = matched(bucket, &found.records);
    let sources: HashSet<&str> = sources.into_iter().collect();
    for o in objects {
        let finding = |kind, missing: String| Finding {
            kind,
            bucket: bucket.into(),
            key: o.key.clone(),
            last_modified: o.last_modified,
            age: age_of(config.now, o),
            missing,
        };
        if !recorded.contains(o.key.as_str()) {
            report.push(finding(
                FindingKind::Unrecorded,
                format!("no PUT record names {bucket}/{} as its destination", o.key),
            ));
        }
        if sources.contains(o.key.as_str()) && !has_product.contains(o.key.as_str()) {
            report.push(finding(
                FindingKind::Unprocessed,
                format!("no product recorded: no PUT record from {bucket}/{}", o.key),
            ));
        }
    }
    Ok(())
}
