//! The history query: every point recorded for one `file_key`, as typed rows.

use filetrail_contract::{ActionType, OccurredAt};
use serde_json::Value;

use crate::Error;
use crate::line::{SEED_FIELD, tag_text, text_from_tag};
use filetrail_contract::record::{self, name};

/// One recorded move of a file, as the history query returns it.
///
/// Tags are decoded from their stored form ([`crate::line::tag_text`]), so `file_key` and
/// `new_file_key` are the exact S3 keys. A tag stored as `N/A` (the seed layout's "missing")
/// is `None`. Optional fields the event did not carry are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    /// When the move happened (`occurred_at`, the point's time).
    pub time: OccurredAt,
    /// The event's idempotency key.
    pub event_id: String,
    /// `PUT` or `DELETE`.
    pub action_type: ActionType,
    /// Bucket the file left.
    pub source_bucket: Option<String>,
    /// Bucket the file reached.
    pub destination_bucket: Option<String>,
    /// Key before the move (the key queried).
    pub file_key: String,
    /// Key after the move, when it changed: the key to follow to the next stage.
    pub new_file_key: Option<String>,
    /// The seed measure: `occurred_at` in epoch seconds.
    pub timestamp: Option<f64>,
    /// The optional fields the point carries ([`record::OPTIONAL_FIELDS`]), as stored.
    pub optional: Vec<(&'static str, Value)>,
}

impl HistoryRow {
    /// The optional field `name`, when the point has it.
    pub fn optional(&self, name: &str) -> Option<&Value> {
        self.optional
            .iter()
            .find_map(|(n, v)| (*n == name).then_some(v))
    }
}

/// An InfluxQL string literal: single-quoted, with `\`, `'` and newlines escaped.
pub fn influxql_string(s: &str) -> String {
    quoted(s, '\'')
}

/// An InfluxQL identifier: double-quoted, with `\`, `"` and newlines escaped.
pub fn influxql_identifier(s: &str) -> String {
    quoted(s, '"')
}

/// `s` between two `quote`s, with `\`, `quote` and newlines backslash-escaped. InfluxQL reads
/// strings and quoted identifiers alike: any character but a raw newline, with the escapes
/// `\\`, `\"`, `\'` and `\n` (<https://docs.influxdata.com/influxdb/v1.8/query_language/spec/#identifiers>,
/// `#strings`).
fn quoted(s: &str, quote: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// The InfluxQL statement selecting every point of `file_key` in `measurement`.
pub fn history_query(measurement: &str, file_key: &str) -> String {
    format!(
        "SELECT * FROM {} WHERE \"file_key\" = {}",
        influxql_identifier(measurement),
        influxql_string(&tag_text(file_key))
    )
}

/// The rows of a `/query` answer (`epoch=ms`) to [`history_query`], oldest first.
pub fn rows(answer: &Value) -> Result<Vec<HistoryRow>, Error> {
    let mut out = Vec::new();
    let results = answer
        .get("results")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Decode("no \"results\" in the /query answer".into()))?;
    for series in results
        .iter()
        .filter_map(|r| r.get("series").and_then(Value::as_array))
        .flatten()
    {
        let columns: Vec<&str> = series
            .get("columns")
            .and_then(Value::as_array)
            .map(|c| c.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for values in series
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let cell = |name: &str| -> Option<&Value> {
                let i = columns.iter().position(|c| *c == name)?;
                values.get(i).filter(|v| !v.is_null())
            };
            out.push(row(&cell)?);
        }
    }
    out.sort_by_key(|r| r.time);
    Ok(out)
}

fn row<'a>(cell: &dyn Fn(&str) -> Option<&'a Value>) -> Result<HistoryRow, Error> {
    let text = |name: &str| cell(name).and_then(Value::as_str).map(text_from_tag);
    let tag = |name: &str| text(name).filter(|v| record::stored(v).is_some());
    let required = |name: &str| {
        text(name).ok_or_else(|| Error::Decode(format!("a history row has no {name:?}")))
    };
    let time = cell("time").and_then(Value::as_i64).ok_or_else(|| {
        Error::Decode("a history row has no millisecond \"time\" (epoch=ms)".into())
    })?;
    let action_type = match required(name::ACTION_TYPE)?.as_str() {
        "PUT" => ActionType::Put,
        "DELETE" => ActionType::Delete,
        other => {
            return Err(Error::Decode(format!(
                "action_type {other:?} is neither PUT nor DELETE"
            )));
        }
    };
    // Field strings are stored as they are (only tags are percent-encoded).
    let optional = record::OPTIONAL_FIELDS
        .iter()
        .filter_map(|&name| cell(name).map(|v| (name, v.clone())))
        .collect();
    Ok(HistoryRow {
        time: OccurredAt::from_millis(time),
        event_id: required(name::EVENT_ID)?,
        action_type,
        source_bucket: tag(name::SOURCE_BUCKET),
        destination_bucket: tag(name::DESTINATION_BUCKET),
        file_key: required(name::FILE_KEY)?,
        new_file_key: tag(name::NEW_FILE_KEY),
        timestamp: cell(SEED_FIELD).and_then(Value::as_f64),
        optional,
    })
}
