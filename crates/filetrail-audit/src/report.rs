//! What an audit found: one [`Finding`] per object whose step is missing, the counts, and the
//! two renderings (text for people, JSON for scripts).

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use crate::config::{AuditConfig, format_duration};

/// Which step is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingKind {
    /// Still in the incoming bucket after `--older-than`: never sorted. `parses` is the
    /// destination the name sorts to (`bucket/key`), or why the name does not parse (the
    /// sorter leaves such a file in place for good).
    Stuck {
        /// `Ok(destination)` or `Err(parse error)`.
        parses: Result<String, String>,
    },
    /// A level-0 file older than `--older-than` with no product recorded: no `PUT` record has
    /// it as its source.
    Unprocessed,
    /// An object modified within `--since` (and older than `--older-than`) that no `PUT`
    /// record names as its destination: it arrived without an event.
    Unrecorded,
}

impl FindingKind {
    /// `stuck`, `unprocessed` or `unrecorded`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Stuck { .. } => "stuck",
            Self::Unprocessed => "unprocessed",
            Self::Unrecorded => "unrecorded",
        }
    }
}

/// One object whose step is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Which step.
    pub kind: FindingKind,
    /// The object's bucket.
    pub bucket: String,
    /// The object's key.
    pub key: String,
    /// Its `Last-Modified`.
    pub last_modified: DateTime<Utc>,
    /// How long before the audit's `now` it was modified.
    pub age: Duration,
    /// What is missing, in words.
    pub missing: String,
}

/// How much was read and found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Buckets read.
    pub buckets: u64,
    /// Objects listed (or read from inventories).
    pub objects: u64,
    /// Objects looked up in the trail (instrument-bucket objects in the window).
    pub checked: u64,
    /// Queries sent to the trail.
    pub trail_queries: u64,
    /// Stuck objects.
    pub stuck: u64,
    /// Stuck objects whose names do not parse (included in `stuck`).
    pub stuck_unparsable: u64,
    /// Unprocessed level-0 files.
    pub unprocessed: u64,
    /// Unrecorded objects.
    pub unrecorded: u64,
}

/// Where a running audit is (for a progress bar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The bucket being read.
    pub bucket: String,
    /// The counts so far.
    pub counts: Counts,
}

/// The result of an audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The moment ages were measured from.
    pub now: DateTime<Utc>,
    /// The `--older-than` used.
    pub older_than: Duration,
    /// The `--since` used.
    pub since: Duration,
    /// The counts.
    pub counts: Counts,
    /// Every finding: stuck first, then per instrument bucket, each by key.
    pub findings: Vec<Finding>,
}

impl Report {
    /// An empty report for `config`.
    pub fn new(config: &AuditConfig) -> Self {
        Self {
            now: config.now,
            older_than: config.older_than,
            since: config.since,
            counts: Counts::default(),
            findings: Vec::new(),
        }
    }

    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// Record a finding and count it.
    pub fn push(&mut self, finding: Finding) {
        let c = &mut self.counts;
        match &finding.kind {
            FindingKind::Stuck { parses } => {
                c.stuck += 1;
                c.stuck_unparsable += u64::from(parses.is_err());
            }
            FindingKind::Unprocessed => c.unprocessed += 1,
            FindingKind::Unrecorded => c.unrecorded += 1,
        }
        self.findings.push(finding);
    }

    /// The report as text: a summary, then one line per finding.
    pub fn text(&self) -> String {
        let c = &self.counts;
        let mut out = format!(
            "audit at {} (older than {}, since {}): {} objects in {} buckets, {} checked with {} trail queries\n",
            rfc3339(&self.now),
            format_duration(self.older_than),
            format_duration(self.since),
            c.objects,
            c.buckets,
            c.checked,
            c.trail_queries
        );
        out += &format!(
            "stuck {} ({} unparsable), unprocessed {}, unrecorded {}\n",
            c.stuck, c.stuck_unparsable, c.unprocessed, c.unrecorded
        );
        if self.is_clean() {
            out += "clean: every file was sorted, processed and recorded\n";
        }
        for f in &self.findings {
            out += &format!(
                "{:<12} {}/{}  age {}  {}\n",
                f.kind.name(),
                f.bucket,
                f.key,
                format_duration(Duration::from_secs(f.age.as_secs())),
                f.missing
            );
        }
        out
    }
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Finding", 9)?;
        st.serialize_field("kind", self.kind.name())?;
        st.serialize_field("bucket", &self.bucket)?;
        st.serialize_field("key", &self.key)?;
        st.serialize_field("last_modified", &rfc3339(&self.last_modified))?;
        st.serialize_field("age_s", &self.age.as_secs())?;
        let (parses, destination, error) = match &self.kind {
            FindingKind::Stuck { parses: Ok(d) } => (Some(true), Some(d.as_str()), None),
            FindingKind::Stuck { parses: Err(e) } => (Some(false), None, Some(e.as_str())),
            _ => (None, None, None),
        };
        st.serialize_field("parses", &parses)?;
        st.serialize_field("destination", &destination)?;
        st.serialize_field("parse_error", &error)?;
        st.serialize_field("missing", &self.missing)?;
        st.end()
    }
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Report", 6)?;
        st.serialize_field("now", &rfc3339(&self.now))?;
        st.serialize_field("older_than_s", &self.older_than.as_secs())?;
        st.serialize_field("since_s", &self.since.as_secs())?;
        st.serialize_field("clean", &self.is_clean())?;
        st.serialize_field("counts", &self.counts)?;
        st.serialize_field("findings", &self.findings)?;
        st.end()
    }
}
