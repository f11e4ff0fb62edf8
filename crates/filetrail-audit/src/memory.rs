//! In-process stand-ins for the two seams, for tests and benchmarks: buckets held in memory and
//! paged as ListObjectsV2 pages them, and a trail that cuts each lookup into the statements
//! Timestream would receive ([`Sql`]) and answers each from an index.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// A trail in memory: `PUT` records indexed by source and by destination.
#[derive(Debug, Default)]
pub struct MemoryTrail {
    by_source: HashMap<(String, String), Vec<TrailRecord>>,
    by_destination: HashMap<(String, String), Vec<TrailRecord>>,
    sql: Option<Sql>,
    queries: AtomicUsize,
    query_bytes: AtomicUsize,
}

impl MemoryTrail {
    /// An empty trail whose lookups are cut as Timestream's statements for `sql`.
    pub fn new(sql: Sql) -> Self {
        Self {
            sql: Some(sql),
            ..Self::default()
        }
    }

    /// Record a `PUT` move.
    pub fn record(&mut self, r: TrailRecord) {
        if let Some(b) = &r.source_bucket {
            self.by_source
                .entry((b.clone(), r.file_key.clone()))
                .or_default()
                .push(r.clone());
        }
        if let Some(b) = &r.destination_bucket {
            self.by_destination
                .entry((b.clone(), r.destination_key().to_owned()))
                .or_default()
                .push(r);
        }
    }

    /// Statements answered so far.
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::Relaxed)
    }

    /// Bytes of the statements answered so far.
    pub fn query_bytes(&self) -> usize {
        self.query_bytes.load(Ordering::Relaxed)
    }

    fn answer(&self, part: &Lookup<'_>, out: &mut Vec<TrailRecord>) {
        let get = |map: &HashMap<(String, String), Vec<TrailRecord>>, k: &str| {
            map.get(&(part.bucket.to_owned(), k.to_owned()))
                .cloned()
                .unwrap_or_default()
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
                self.query_bytes
                    .fetch_add(sql.query(part).len(), Ordering::Relaxed);
            }
            self.answer(part, &mut found.records);
            self.queries.fetch_add(1, Ordering::Relaxed);
            found.queries += 1;
        }
        Ok(found)
    }
}
