//! The `FileMoved` v1 event, its validation and its deterministic id.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::limits::{
    MAX_BUCKET_LEN, MAX_FUTURE_MS, MAX_KEY_BYTES, MAX_OPTIONAL_TEXT_BYTES, MIN_BUCKET_LEN,
};
use crate::{ContractError, OccurredAt};

/// The only schema version this crate reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Length of an `event_id` in hex characters (the first 128 bits of a SHA-256).
pub const EVENT_ID_HEX_LEN: usize = 32;

/// What happened to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ActionType {
    /// The file was written to its new place.
    #[serde(rename = "PUT")]
    Put,
    /// The file was removed.
    #[serde(rename = "DELETE")]
    Delete,
}

impl ActionType {
    /// The wire name, `PUT` or `DELETE`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }
}

/// Only the JSON strings `"PUT"` and `"DELETE"`, as the schema's `enum` says. (A derived
/// `Deserialize` would also take serde's externally tagged form `{"PUT": null}`, and would report
/// any other JSON type as "not JSON" without naming the field.)
impl<'de> Deserialize<'de> for ActionType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        match s.as_ref() {
            "PUT" => Ok(Self::Put),
            "DELETE" => Ok(Self::Delete),
            other => Err(serde::de::Error::unknown_variant(other, &["PUT", "DELETE"])),
        }
    }
}

impl fmt::Display for ActionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields that identify a move; everything `event_id` is derived from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Move {
    /// `PUT` or `DELETE`.
    pub action_type: ActionType,
    /// Bucket the file left, if any.
    pub source_bucket: Option<String>,
    /// Key before the move.
    pub file_key: String,
    /// Bucket the file reached, if any.
    pub destination_bucket: Option<String>,
    /// Key after the move, when it changed.
    pub new_file_key: Option<String>,
    /// When the move happened.
    pub occurred_at: OccurredAt,
}

/// Borrow the [`Canonical`] fields of a [`Move`] or a [`FileMoved`]: both name the identifying
/// fields alike, so one expression serves both.
macro_rules! canonical {
    ($m:expr) => {
        Canonical {
            action_type: $m.action_type,
            source_bucket: $m.source_bucket.as_deref(),
            file_key: &$m.file_key,
            destination_bucket: $m.destination_bucket.as_deref(),
            new_file_key: $m.new_file_key.as_deref(),
            occurred_at_ms: $m.occurred_at.millis(),
        }
    };
}

impl Move {
    /// The deterministic idempotency key of this move.
    ///
    /// `event_id` = the first 32 lowercase hex digits of
    /// `SHA-256(canonical)`, where `canonical` is the compact JSON array
    /// `[1,action_type,source_bucket,file_key,destination_bucket,new_file_key,occurred_at_ms]`
    /// (strings as JSON strings without escaping non-ASCII, missing values as `null`,
    /// `occurred_at_ms` as an integer). In Python:
    /// `hashlib.sha256(json.dumps([1, a, sb, k, db, nk, ms], separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()[:32]`.
    pub fn event_id(&self) -> String {
        event_id_hex(canonical!(self))
            .iter()
            .map(|&b| char::from(b))
            .collect()
    }
}

/// The fields an `event_id` is derived from, borrowed.
#[derive(Clone, Copy)]
struct Canonical<'a> {
    action_type: ActionType,
    source_bucket: Option<&'a str>,
    file_key: &'a str,
    destination_bucket: Option<&'a str>,
    new_file_key: Option<&'a str>,
    occurred_at_ms: i64,
}

/// Feeds what is written into a SHA-256, so the canonical JSON is hashed without being kept.
struct Hashing(Sha256);

impl std::io::Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The `event_id` of `c` as lower-case hex bytes: the first 128 bits of the SHA-256 of the
/// compact JSON array `[1, action_type, source_bucket, file_key, destination_bucket,
/// new_file_key, occurred_at_ms]`.
fn event_id_hex(c: Canonical<'_>) -> [u8; EVENT_ID_HEX_LEN] {
    // A tuple serializes as a JSON array: unambiguous, and easy to reproduce in any language.
    let canonical = (
        SCHEMA_VERSION,
        c.action_type.as_str(),
        c.source_bucket,
        c.file_key,
        c.destination_bucket,
        c.new_file_key,
        c.occurred_at_ms,
    );
    let mut h = Hashing(Sha256::new());
    serde_json::to_writer(&mut h, &canonical)
        .unwrap_or_else(|_| unreachable!("strings and integers always serialize"));
    let digest = h.0.finalize();
    let mut out = [0u8; EVENT_ID_HEX_LEN];
    hex::encode_to_slice(&digest[..EVENT_ID_HEX_LEN / 2], &mut out)
        .unwrap_or_else(|_| unreachable!("32 hex digits for 16 bytes"));
    out
}

/// A file move, exactly as the v1 contract's `detail` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMoved {
    /// Always 1.
    pub schema_version: u32,
    /// Deterministic idempotency key, see [`Move::event_id`].
    pub event_id: String,
    /// S3 key before the move (1..=1024 bytes).
    pub file_key: String,
    /// S3 key after the move, when it changed.
    #[serde(default)]
    pub new_file_key: Option<String>,
    /// Bucket the file left.
    #[serde(default)]
    pub source_bucket: Option<String>,
    /// Bucket the file reached.
    #[serde(default)]
    pub destination_bucket: Option<String>,
    /// `PUT` or `DELETE`.
    pub action_type: ActionType,
    /// When the move happened; the record's time.
    pub occurred_at: OccurredAt,
    /// Name of the stage that moved the file (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Object size in bytes (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// ETag of the object after the move (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// S3 version id of the object after the move (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Trace id of the producer, for correlating logs (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

impl FileMoved {
    /// A v1 event for this move, with its derived `event_id` and no optional fields.
    pub fn from_move(m: Move) -> Self {
        let event_id = m.event_id();
        Self {
            schema_version: SCHEMA_VERSION,
            event_id,
            file_key: m.file_key,
            new_file_key: m.new_file_key,
            source_bucket: m.source_bucket,
            destination_bucket: m.destination_bucket,
            action_type: m.action_type,
            occurred_at: m.occurred_at,
            stage: None,
            size: None,
            etag: None,
            version_id: None,
            trace_id: None,
        }
    }

    fn canonical(&self) -> Canonical<'_> {
        canonical!(self)
    }

    /// The identifying fields of this event.
    pub fn to_move(&self) -> Move {
        Move {
            action_type: self.action_type,
            source_bucket: self.source_bucket.clone(),
            file_key: self.file_key.clone(),
            destination_bucket: self.destination_bucket.clone(),
            new_file_key: self.new_file_key.clone(),
            occurred_at: self.occurred_at,
        }
    }

    /// Parse a bare detail from JSON; errors name the field.
    pub fn from_json(json: &str) -> Result<Self, ContractError> {
        // A derived struct also reads a JSON array of its fields in order; the contract (and
        // its schema's `"type": "object"`) is an object.
        if json
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('[')
        {
            return Err(match serde_json::from_str::<serde::de::IgnoredAny>(json) {
                Err(e) => ContractError::NotJson {
                    reason: e.to_string(),
                },
                Ok(_) => ContractError::field(
                    "detail",
                    "invalid type: sequence, expected struct FileMoved",
                ),
            });
        }
        // The fast path; only a detail that does not read is read again to name its field.
        if let Ok(event) = serde_json::from_str::<Self>(json) {
            return Ok(event);
        }
        let de = &mut serde_json::Deserializer::from_str(json);
        let event: Self = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                ContractError::NotJson {
                    reason: inner.to_string(),
                }
            } else {
                let problem = strip_position(&inner);
                // A missing field is reported at the object; name the field itself.
                let missing = problem
                    .strip_prefix("missing field `")
                    .and_then(|r| r.split('`').next());
                let field = match missing {
                    Some(name) if path == "." => name.to_owned(),
                    _ if path == "." => "detail".into(),
                    _ => path,
                };
                ContractError::field(field, problem)
            }
        })?;
        Ok(event)
    }

    /// The compact JSON of this event, as published in an EventBridge `Detail`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| unreachable!("FileMoved always serializes"))
    }

    /// Check every rule of the v1 contract against the clock reading `now`.
    ///
    /// The first broken rule is returned, naming its field and limit.
    pub fn validate(&self, now: OccurredAt) -> Result<(), ContractError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(ContractError::field(
                "schema_version",
                format!("must be {SCHEMA_VERSION}; got {}", self.schema_version),
            ));
        }
        check_text("file_key", &self.file_key, MAX_KEY_BYTES)?;
        if let Some(k) = &self.new_file_key {
            check_text("new_file_key", k, MAX_KEY_BYTES)?;
        }
        if self.source_bucket.is_none() && self.destination_bucket.is_none() {
            return Err(ContractError::field(
                "source_bucket",
                "at least one of source_bucket and destination_bucket must be set",
            ));
        }
        for (field, bucket) in [
            ("source_bucket", &self.source_bucket),
            ("destination_bucket", &self.destination_bucket),
        ] {
            if let Some(b) = bucket {
                check_bucket(field, b)?;
            }
        }
        let ms = self.occurred_at.millis();
        if ms < 0 {
            return Err(ContractError::field(
                "occurred_at",
                format!(
                    "{} is before 1970-01-01T00:00:00Z (times are epoch milliseconds, never negative)",
                    self.occurred_at
                ),
            ));
        }
        if ms > now.millis() + MAX_FUTURE_MS {
            return Err(ContractError::field(
                "occurred_at",
                format!(
                    "{} is more than 15 minutes after now ({now}); a move is at most {MAX_FUTURE_MS} ms into the future",
                    self.occurred_at
                ),
            ));
        }
        for (field, value) in [
            ("stage", &self.stage),
            ("etag", &self.etag),
            ("version_id", &self.version_id),
            ("trace_id", &self.trace_id),
        ] {
            if let Some(v) = value {
                check_text(field, v, MAX_OPTIONAL_TEXT_BYTES)?;
            }
        }
        let expected = event_id_hex(self.canonical());
        if self.event_id.as_bytes() != expected {
            let expected = String::from_utf8_lossy(&expected);
            return Err(ContractError::field(
                "event_id",
                format!(
                    "{:?} is not the id derived from this move's fields (expected {expected:?}; see the contract's event_id derivation)",
                    self.event_id
                ),
            ));
        }
        Ok(())
    }
}

fn check_text(field: &str, v: &str, max: usize) -> Result<(), ContractError> {
    if v.is_empty() {
        return Err(ContractError::field(
            field,
            "must not be empty (omit it or use null instead)",
        ));
    }
    if v.len() > max {
        return Err(ContractError::field(
            field,
            format!("is {} bytes of UTF-8; the limit is {max} bytes", v.len()),
        ));
    }
    Ok(())
}

fn check_bucket(field: &str, b: &str) -> Result<(), ContractError> {
    let ok_chars = b
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-');
    let ok_ends = b.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && b.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric());
    if !(MIN_BUCKET_LEN..=MAX_BUCKET_LEN).contains(&b.len()) || !ok_chars || !ok_ends {
        return Err(ContractError::field(
            field,
            format!(
                "{b:?} is not an S3 bucket name ({MIN_BUCKET_LEN}..={MAX_BUCKET_LEN} characters of a-z, 0-9, '.', '-', starting and ending with a letter or digit)"
            ),
        ));
    }
    Ok(())
}

/// serde_json appends " at line L column C"; the field path already says where.
pub(crate) fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
