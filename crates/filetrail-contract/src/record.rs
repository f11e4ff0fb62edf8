//! The record vocabulary every store shares: the names a `FileMoved` is written under, the seed
//! layout's `N/A`, and the values as text. The Timestream layouts, the InfluxDB point, `filetrail
//! history` and the demo read these; adding an optional field to `FileMoved` means adding it
//! here (to [`optional_fields`]) and nowhere else outside the event and its schema.

use crate::FileMoved;

/// The value the seed pipeline writes for a missing bucket or key.
pub const NOT_AVAILABLE: &str = "N/A";
/// The seed layout's measure (Timestream) and field (InfluxDB): `occurred_at` in epoch seconds.
pub const SEED_MEASURE: &str = "timestamp";
/// The multi layout's measure (Timestream, one multi-measure record per event) and the InfluxDB
/// sink's default measurement: the name one whole move is stored under.
pub const MULTI_MEASURE: &str = "file_moved";

/// The names fields are stored under.
pub mod name {
    /// `PUT` or `DELETE`.
    pub const ACTION_TYPE: &str = "action_type";
    /// The bucket the file left.
    pub const SOURCE_BUCKET: &str = "source_bucket";
    /// The bucket the file reached.
    pub const DESTINATION_BUCKET: &str = "destination_bucket";
    /// The key before the move.
    pub const FILE_KEY: &str = "file_key";
    /// The key after the move.
    pub const NEW_FILE_KEY: &str = "new_file_key";
    /// The event's identity.
    pub const EVENT_ID: &str = "event_id";
    /// The emitting stage.
    pub const STAGE: &str = "stage";
    /// The object's size in bytes.
    pub const SIZE: &str = "size";
    /// The object's ETag.
    pub const ETAG: &str = "etag";
    /// The object's version id.
    pub const VERSION_ID: &str = "version_id";
    /// A trace id.
    pub const TRACE_ID: &str = "trace_id";
}

/// The names of [`optional_fields`], in order.
pub const OPTIONAL_FIELDS: [&str; 5] = [
    name::STAGE,
    name::ETAG,
    name::VERSION_ID,
    name::TRACE_ID,
    name::SIZE,
];

/// One optional value, typed as the stores keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Text (VARCHAR, string field).
    Text(&'a str),
    /// A whole number (BIGINT, integer field).
    Integer(u64),
}

/// The seed layout's five dimensions in the seed pipeline's order (a missing value is
/// [`NOT_AVAILABLE`]), then `event_id`: together the record's identity in every layout.
pub fn seed_dimensions(e: &FileMoved) -> [(&'static str, &str); 6] {
    fn na(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or(NOT_AVAILABLE)
    }
    [
        (name::ACTION_TYPE, e.action_type.as_str()),
        (name::SOURCE_BUCKET, na(&e.source_bucket)),
        (name::DESTINATION_BUCKET, na(&e.destination_bucket)),
        (name::FILE_KEY, &e.file_key),
        (name::NEW_FILE_KEY, na(&e.new_file_key)),
        (name::EVENT_ID, &e.event_id),
    ]
}

/// The optional fields the event carries, named as [`OPTIONAL_FIELDS`], in that order.
pub fn optional_fields(e: &FileMoved) -> impl Iterator<Item = (&'static str, Value<'_>)> {
    fn text<'a>(name: &'static str, v: &'a Option<String>) -> Option<(&'static str, Value<'a>)> {
        v.as_deref().map(|t| (name, Value::Text(t)))
    }
    [
        text(name::STAGE, &e.stage),
        text(name::ETAG, &e.etag),
        text(name::VERSION_ID, &e.version_id),
        text(name::TRACE_ID, &e.trace_id),
        e.size.map(|s| (name::SIZE, Value::Integer(s))),
    ]
    .into_iter()
    .flatten()
}

/// A stored value read back: [`NOT_AVAILABLE`] is "missing" (a key literally named `N/A` reads
/// back as missing, as in the seed layout).
pub fn stored(value: &str) -> Option<&str> {
    (value != NOT_AVAILABLE).then_some(value)
}

/// Epoch milliseconds as decimal epoch seconds with exactly three decimals (`1714564800.123`),
/// the seed measure's value.
pub fn epoch_seconds(ms: i64) -> String {
    let mut out = String::with_capacity(16);
    push_epoch_seconds(&mut out, ms);
    out
}

/// The length of [`epoch_seconds`]`(ms)`, computed without writing it.
pub fn epoch_seconds_len(ms: i64) -> usize {
    // The whole seconds, a point and three decimals.
    decimal_len(ms.div_euclid(1000)) + 4
}

/// The length of `n` written in decimal (with its sign).
fn decimal_len(n: i64) -> usize {
    usize::from(n < 0) + digits(n.unsigned_abs())
}

/// The number of decimal digits of `n`.
fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

impl Value<'_> {
    /// The length of the value as text (a whole number in decimal).
    pub fn text_len(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Integer(n) => digits(*n),
        }
    }
}

/// [`epoch_seconds`] appended to `out`.
pub fn push_epoch_seconds(out: &mut String, ms: i64) {
    use std::fmt::Write;
    let _ = write!(out, "{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ActionType, Move, OccurredAt};

    #[test]
    fn lengths_are_those_of_the_written_text() {
        let edges = [
            0,
            1,
            9,
            10,
            999,
            1000,
            1001,
            99_999,
            100_000,
            1_714_564_800_123,
        ];
        for n in edges.iter().flat_map(|&n| [n, -n, n - 1, -n - 1]) {
            assert_eq!(epoch_seconds_len(n), epoch_seconds(n).len(), "{n}");
            assert_eq!(decimal_len(n), n.to_string().len(), "{n}");
        }
        for n in [i64::MIN, i64::MAX] {
            assert_eq!(epoch_seconds_len(n), epoch_seconds(n).len(), "{n}");
            assert_eq!(decimal_len(n), n.to_string().len(), "{n}");
        }
        for n in [0, 7, 10, 1_048_576, u64::MAX] {
            assert_eq!(Value::Integer(n).text_len(), n.to_string().len(), "{n}");
        }
        assert_eq!(Value::Text("sdc.sorter").text_len(), 10);
    }

    fn event() -> FileMoved {
        let mut e = FileMoved::from_move(Move {
            action_type: ActionType::Put,
            source_bucket: Some("hermes-incoming".into()),
            file_key: "a.bin".into(),
            destination_bucket: None,
            new_file_key: None,
            occurred_at: OccurredAt::from_millis(1_714_564_800_123),
        });
        e.size = Some(7);
        e.trace_id = Some("t".into());
        e
    }

    #[test]
    fn the_seed_dimensions_write_missing_values_as_not_available() {
        let e = event();
        let dims = seed_dimensions(&e);
        assert_eq!(dims[1], ("source_bucket", "hermes-incoming"));
        assert_eq!(dims[2], ("destination_bucket", "N/A"));
        assert_eq!(dims[4], ("new_file_key", "N/A"));
        assert_eq!(dims[5], ("event_id", e.event_id.as_str()));
        assert_eq!(stored("N/A"), None);
        assert_eq!(stored("x"), Some("x"));
    }

    #[test]
    fn optional_fields_come_in_order_and_only_when_set() {
        let e = event();
        let got: Vec<_> = optional_fields(&e).collect();
        assert_eq!(
            got,
            [("trace_id", Value::Text("t")), ("size", Value::Integer(7))]
        );
        assert!(got.iter().all(|(n, _)| OPTIONAL_FIELDS.contains(n)));
    }

    #[test]
    fn epoch_seconds_keep_three_decimals() {
        assert_eq!(epoch_seconds(1_714_564_800_123), "1714564800.123");
        assert_eq!(epoch_seconds(5), "0.005");
        assert_eq!(epoch_seconds(0), "0.000");
    }
}
