//! In-process stand-ins for the two seams, for tests and benchmarks: buckets held in memory and
//! paged as ListObjectsV2 pages them, and a trail that cuts each lookup into the statements
//! Timestream would receive ([`Sql`]) and answers each from an index.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

use crate::error::{SourceError, TrailError};
use crate::limits::LIST_PAGE_KEYS;
use crate::object::{ObjectPage, ObjectSource, StoredObject};
use crate::timestream::Sql;
use crate::trail::{Found, Lookup, Trail, TrailRecord};

/// Buckets in memory, listed in key order, [`LIST_PAGE_KEYS`] a page.
#[derive(Debug, Clone, Default)]
pub struct MemoryBuckets {
    buckets: HashMap<String, BTreeMap<String, StoredObject>>,
}

impl MemoryBuckets {
    /// No buckets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Put (or replace) an object.
    pub fn put(&mut self, bucket: &str, object: StoredObject) {
        self.buckets
            .entry(bucket.to_owned())
            .or_default()
            .insert(object.key.clone(), object);
    }

    /// Remove an object.
    pub fn remove(&mut self, bucket: &str, key: &str) {
        if let Some(b) = self.buckets.get_mut(bucket) {
            b.remove(key);
        }
    }
}

impl ObjectSource for MemoryBuckets {
    async fn page(&self, bucket: &str, token: Option<String>) -> Result<ObjectPage, SourceError> {
        let Some(objects) = self.buckets.get(bucket) else {
            return Err(SourceError {
                operation: "ListObjectsV2",
                bucket: bucket.into(),
                code: "NoSuchBucket".into(),
                message: "The specified bucket does not exist".into(),
                retryable: false,
            });
        };
        let after = token.unwrap_or_default();
        let page: Vec<StoredObject> = objects
            .range::<str, _>((
                std::ops::Bound::Excluded(after.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .take(LIST_PAGE_KEYS as usize + 1)
            .map(|(_, o)| o.clone())
            .collect();
        let more = page.len() > LIST_PAGE_KEYS as usize;
        let objects: Vec<StoredObject> = page.into_iter().take(LIST_PAGE_KEYS as usize).collect();
        let next = more
            .then(|| objects.last().map(|o| o.key.clone()))
            .flatten();
        Ok(ObjectPage { objects, next })
    }
}

/// A record and its time (`None`: a time the test does not care about, within every bound).
type Timed = (Option<DateTime<Utc>>, TrailRecord);

/// A trail in memory: `PUT` records indexed by source and by destination, each with its time
/// when given, answered as the stores answer ([`Lookup::not_before`] honoured).
#[derive(Debug, Default)]
pub struct MemoryTrail {
    by_source: HashMap<(String, String), Vec<Timed>>,
    by_destination: HashMap<(String, String), Vec<Timed>>,
    sql: Option<Sql>,
    queries: AtomicUsize,
    statements: Mutex<Vec<String>>,
}

impl MemoryTrail {
    /// An empty trail whose lookups are cut as Timestream's statements for `sql`.
    pub fn new(sql: Sql) -> Self {
        Self {
            sql: Some(sql),
            ..Self::default()
        }
    }

    /// Record a `PUT` move, found by every lookup whatever its time bound.
    pub fn record(&mut self, r: TrailRecord) {
        self.insert(None, r);
    }

    /// Record a `PUT` move at `time` (its event's `occurred_at`): a lookup bounded after it
    /// does not find it.
    pub fn record_at(&mut self, time: DateTime<Utc>, r: TrailRecord) {
        self.insert(Some(time), r);
    }

    fn insert(&mut self, time: Option<DateTime<Utc>>, r: TrailRecord) {
        if let Some(b) = &r.source_bucket {
            self.by_source
                .entry((b.clone(), r.file_key.clone()))
                .or_default()
                .push((time, r.clone()));
        }
        if let Some(b) = &r.destination_bucket {
            self.by_destination
                .entry((b.clone(), r.destination_key().to_owned()))
                .or_default()
                .push((time, r));
        }
    }

    /// Statements answered so far.
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::Relaxed)
    }

    /// Bytes of the statements answered so far.
    pub fn query_bytes(&self) -> usize {
        self.statements().iter().map(String::len).sum()
    }

    /// The Timestream statements answered so far, in order (none without a [`Sql`]).
    pub fn statements(&self) -> Vec<String> {
        self.statements
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn answer(&self, part: &Lookup<'_>, out: &mut Vec<TrailRecord>) {
        let in_bound = |time: &Option<DateTime<Utc>>| match (time, part.not_before) {
            (Some(t), Some(bound)) => *t >= bound,
            _ => true,
        };
        let get = |map: &HashMap<(String, String), Vec<Timed>>, k: &str| {
            map.get(&(part.bucket.to_owned(), k.to_owned()))
                .into_iter()
                .flatten()
                .filter(|(time, _)| in_bound(time))
                .map(|(_, r)| r.clone())
                .collect::<Vec<_>>()
        };
        for k in part.sources {
            out.extend(get(&self.by_source, k));
        }
        for k in part.destinations {
            out.extend(get(&self.by_destination, k));
        }
    }
}

impl Trail for MemoryTrail {
    async fn lookup(&self, lookup: &Lookup<'_>) -> Result<Found, TrailError> {
        let mut found = Found::default();
        if lookup.is_empty() {
            return Ok(found);
        }
        let parts = match &self.sql {
            Some(sql) => sql.parts(lookup),
            None => vec![*lookup],
        };
        for part in &parts {
            if let Some(sql) = &self.sql {
                self.statements
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(sql.query(part));
            }
            self.answer(part, &mut found.records);
            self.queries.fetch_add(1, Ordering::Relaxed);
            found.queries += 1;
        }
        Ok(found)
    }
}
