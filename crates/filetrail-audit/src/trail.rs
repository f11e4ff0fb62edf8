//! What the trail says about a page of objects: the [`Trail`] seam, the records it returns,
//! and how a lookup is cut into queries that fit the store's query-length limit.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::TrailError;

/// How long before the oldest object of a lookup its first query asks records from
/// ([`Lookup::not_before`]): a day. A record's time is its event's `occurred_at`. A Rust stage's
/// is the written object's `Last-Modified`, the very time the audit lists, so it needs no
/// margin, whatever the clocks (both times are S3's); replays and late writes keep the event's
/// time. The margin covers what records earlier than the object: a Python stage records its
/// *source's* `Last-Modified` (seconds before the copy, more after failed sweeps), and a
/// producer's `filetrail publish --occurred-at` or a publisher's clock behind S3's. Records
/// older still (a product already stored, recorded with its old time; a file that waited in
/// incoming for days before a Python sorter moved it) are found by the audit's second,
/// unbounded query for the keys the first left without a record.
pub const RECORD_TIME_MARGIN: Duration = Duration::from_secs(24 * 60 * 60);

/// A recorded `PUT` move, as much of it as the audit reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrailRecord {
    /// The bucket the file left, if any.
    pub source_bucket: Option<String>,
    /// The key before the move.
    pub file_key: String,
    /// The bucket the file reached, if any.
    pub destination_bucket: Option<String>,
    /// The key after the move, when it changed.
    pub new_file_key: Option<String>,
}

impl TrailRecord {
    /// The key the file has at its destination: `new_file_key`, else `file_key` (the contract's
    /// `new_file_key` is set only when the key changed).
    pub fn destination_key(&self) -> &str {
        self.new_file_key.as_deref().unwrap_or(&self.file_key)
    }
}

/// Which keys of one bucket to look up: as the source of a move (level-0 files: has a product
/// been recorded?) and as the destination of one (has any `PUT` recorded the object?).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookup<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// Keys whose `PUT` records *from* `bucket`/key are wanted.
    pub sources: &'a [&'a str],
    /// Keys whose `PUT` records *to* `bucket`/key are wanted.
    pub destinations: &'a [&'a str],
    /// Only records at or after this time are wanted (`None`: the whole trail). A store may
    /// return older ones too; the audit matches records itself.
    pub not_before: Option<DateTime<Utc>>,
}

impl Lookup<'_> {
    /// Whether there is nothing to look up.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty() && self.destinations.is_empty()
    }

    /// A lookup with an empty bucket, one empty key per side and the same time bound: what a
    /// statement costs before its bucket and keys.
    pub fn probe(&self) -> Lookup<'static> {
        Lookup {
            bucket: "",
            sources: &[""],
            destinations: &[""],
            not_before: self.not_before,
        }
    }

    /// How many keys the lookup names.
    pub fn len(&self) -> usize {
        self.sources.len() + self.destinations.len()
    }
}

/// The answer to a [`Lookup`]: every `PUT` record naming one of its keys on its side (it may
/// hold other records too; the audit matches them itself), and the queries it took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// The records.
    pub records: Vec<TrailRecord>,
    /// Queries sent to the store (a long lookup is cut into several).
    pub queries: usize,
}

/// The trail: the recorder's store, read one page of keys at a time.
pub trait Trail: Sync {
    /// The `PUT` records that name the lookup's keys, in as few queries as the store's query
    /// limit allows (one for a page of ordinary keys).
    fn lookup(&self, lookup: &Lookup<'_>)
    -> impl Future<Output = Result<Found, TrailError>> + Send;
}

/// Which side of a move a key is looked up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The key is the move's source.
    Source,
    /// The key is the move's destination.
    Destination,
}

/// Cut `lookup` into lookups whose query stays within `max` bytes: a query costs `overhead`
/// plus `cost(side, key)` for each key it names. Keys keep their order; every part names at
/// least one key (so a single key over the budget still gets its own query).
pub fn split<'a>(
    lookup: &Lookup<'a>,
    overhead: usize,
    max: usize,
    cost: impl Fn(Side, &str) -> usize,
) -> Vec<Lookup<'a>> {
    let n_src = lookup.sources.len();
    let side_key = |i: usize| {
        if i < n_src {
            (Side::Source, lookup.sources[i])
        } else {
            (Side::Destination, lookup.destinations[i - n_src])
        }
    };
    let part = |from: usize, to: usize| Lookup {
        bucket: lookup.bucket,
        sources: &lookup.sources[from.min(n_src)..to.min(n_src)],
        destinations: &lookup.destinations[from.max(n_src) - n_src..to.max(n_src) - n_src],
        not_before: lookup.not_before,
    };
    let mut parts = Vec::new();
    let (mut start, mut used) = (0, overhead);
    for i in 0..lookup.len() {
        let (side, key) = side_key(i);
        let c = cost(side, key);
        if i > start && used + c > max {
            parts.push(part(start, i));
            (start, used) = (i, overhead);
        }
        used += c;
    }
    if start < lookup.len() {
        parts.push(part(start, lookup.len()));
    }
    parts
}
