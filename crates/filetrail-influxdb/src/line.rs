//! InfluxDB line protocol: one `FileMoved` as one point, escaped so every InfluxDB reads it
//! back exactly.
//!
//! A point is `measurement,tags fields time`:
//!
//! ```text
//! file_moved,action_type=PUT,destination_bucket=hermes-eea,event_id=5f0c…,file_key=a\ b.bin,new_file_key=l0/a\ b.bin,source_bucket=hermes-incoming timestamp=1714564800.123,stage="sdc.sorter",size=1048576i 1714564800123
//! ```
//!
//! - tags: the seed layout's dimensions (`action_type`, `source_bucket`, `destination_bucket`,
//!   `file_key`, `new_file_key`, [`NOT_AVAILABLE`] for a missing value) and `event_id`, in
//!   sorted key order;
//! - fields: `timestamp` (the seed measure: `occurred_at` in epoch seconds, a float) and the
//!   optional `stage`, `size` (integer), `etag`, `version_id`, `trace_id`;
//! - time: `occurred_at` in epoch milliseconds (written with `precision=ms`).
//!
//! The point is a pure function of the event and its identity (measurement, tags, time)
//! contains `event_id`: a re-sent event overwrites its own point with identical values, and
//! two events never share a point.
//!
//! # Escaping
//!
//! Line protocol escapes `,`, `=` and space in tag values with a backslash, and `"` and `\` in
//! string field values. Three things it cannot carry the same way on every InfluxDB:
//! a newline (it ends the line), a tab (InfluxDB 3 splits on it), and a backslash in a tag
//! value (InfluxDB 1.x keeps `\\` as two backslashes and refuses a value ending in `\`;
//! InfluxDB 3 reads `\\` as one). So tag values first go through [`tag_text`]: `%`, `\` and
//! the control characters U+0000–U+001F and U+007F are percent-encoded (`%25`, `%5C`, `%0A`,
//! …, upper-case hex); every other character, all of Unicode included, is kept as it is.
//! Only S3 keys can contain these characters (bucket names, `action_type` and `event_id`
//! cannot), so ordinary keys are stored verbatim and dashboards see them unchanged;
//! [`text_from_tag`] reverses it. String fields keep control characters raw inside their
//! quotes, which every InfluxDB line splitter honours.

use std::borrow::Cow;
use std::fmt::Write;

use filetrail_contract::FileMoved;
use filetrail_contract::record::{self, Value};
pub use filetrail_contract::record::{NOT_AVAILABLE, epoch_seconds};

/// The default measurement name: the record vocabulary's name of one move
/// ([`record::MULTI_MEASURE`]).
pub const DEFAULT_MEASUREMENT: &str = record::MULTI_MEASURE;
/// The field holding the seed measure, `occurred_at` in epoch seconds.
pub const SEED_FIELD: &str = record::SEED_MEASURE;
/// InfluxDB 1.x/2.x refuse a series key (measurement plus tags, escaped) longer than this.
pub const MAX_SERIES_KEY_BYTES: usize = 65_535;

/// Tag names, in the sorted order they are written: the seed dimensions
/// ([`record::seed_dimensions`]).
pub const TAG_NAMES: [&str; 6] = [
    record::name::ACTION_TYPE,
    record::name::DESTINATION_BUCKET,
    record::name::EVENT_ID,
    record::name::FILE_KEY,
    record::name::NEW_FILE_KEY,
    record::name::SOURCE_BUCKET,
];

fn needs_percent(c: char) -> bool {
    c == '%' || c == '\\' || c.is_ascii_control()
}

/// The text stored in a tag for `s`: `%`, `\` and ASCII control characters percent-encoded,
/// everything else unchanged (see the module documentation).
pub fn tag_text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_percent) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_percent(c) {
            let _ = write!(out, "%{:02X}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The original text of a tag written by [`tag_text`]. `%XX` sequences are decoded; a `%`
/// not followed by two hex digits (a tag some other writer stored) is kept as it is.
pub fn text_from_tag(tag: &str) -> String {
    if !tag.contains('%') {
        return tag.to_owned();
    }
    let b = tag.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let hex = |c: u8| char::from(c).to_digit(16);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn escape_into(out: &mut String, s: &str, special: &[char]) {
    for c in s.chars() {
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// What a measurement name escapes.
const MEASUREMENT_SPECIAL: &[char] = &[',', ' '];
/// What a tag key or value escapes.
const TAG_SPECIAL: &[char] = &[',', '=', ' '];

/// Append a measurement name, escaping `,` and space.
pub fn push_measurement(out: &mut String, name: &str) {
    escape_into(out, name, MEASUREMENT_SPECIAL);
}

/// Append a tag key or value (already passed through [`tag_text`]), escaping `,`, `=` and space.
pub fn push_tag(out: &mut String, s: &str) {
    escape_into(out, s, TAG_SPECIAL);
}

/// Append a string field value in double quotes, escaping `"` and `\`.
pub fn push_string_field(out: &mut String, s: &str) {
    out.push('"');
    escape_into(out, s, &['"', '\\']);
    out.push('"');
}

/// Why the point for `event` in `measurement` can never be stored, told from lengths without
/// writing it: [`point`] refuses exactly these events, with the same reason.
pub fn check(measurement: &str, event: &FileMoved) -> Result<(), String> {
    let escaped = |s: &str, special: &[char]| -> usize {
        s.chars()
            .map(|c| c.len_utf8() + usize::from(special.contains(&c)))
            .sum()
    };
    let tag_len = |s: &str| -> usize {
        s.chars()
            .map(|c| match needs_percent(c) {
                // `%XX`: none of the three needs escaping.
                true => 3,
                false => c.len_utf8() + usize::from(TAG_SPECIAL.contains(&c)),
            })
            .sum()
    };
    let series_key = escaped(measurement, MEASUREMENT_SPECIAL)
        + record::seed_dimensions(event)
            .iter()
            .map(|(name, value)| 2 + escaped(name, TAG_SPECIAL) + tag_len(value))
            .sum::<usize>();
    if series_key > MAX_SERIES_KEY_BYTES {
        return Err(series_key_too_long(series_key));
    }
    match record::optional_fields(event).find_map(|(name, value)| match value {
        Value::Integer(n) if i64::try_from(n).is_err() => Some(integer_out_of_range(name, n)),
        _ => None,
    }) {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

fn series_key_too_long(bytes: usize) -> String {
    format!(
        "the point's series key is {bytes} bytes; InfluxDB's limit is {MAX_SERIES_KEY_BYTES} bytes"
    )
}

fn integer_out_of_range(name: &str, n: u64) -> String {
    format!(
        "{name} {n} is beyond InfluxDB's integer range (at most {})",
        i64::MAX
    )
}

/// The line-protocol point for `event` in `measurement` (no trailing newline), or why it can
/// never be stored.
pub fn point(measurement: &str, event: &FileMoved) -> Result<String, String> {
    let mut tags = record::seed_dimensions(event);
    tags.sort_unstable_by_key(|(name, _)| *name);
    let mut line = String::with_capacity(256 + event.file_key.len() * 2);
    push_measurement(&mut line, measurement);
    for (name, value) in tags {
        line.push(',');
        push_tag(&mut line, name);
        line.push('=');
        push_tag(&mut line, &tag_text(value));
    }
    if line.len() > MAX_SERIES_KEY_BYTES {
        return Err(series_key_too_long(line.len()));
    }
    let ms = event.occurred_at.millis();
    line.push(' ');
    line.push_str(SEED_FIELD);
    line.push('=');
    record::push_epoch_seconds(&mut line, ms);
    for (name, value) in record::optional_fields(event) {
        line.push(',');
        line.push_str(name);
        line.push('=');
        match value {
            Value::Text(v) => push_string_field(&mut line, v),
            Value::Integer(n) => {
                let n = i64::try_from(n).map_err(|_| integer_out_of_range(name, n))?;
                let _ = write!(line, "{n}i");
            }
        }
    }
    let _ = write!(line, " {ms}");
    Ok(line)
}

/// A field value of a parsed point.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A float (`1.5`).
    Float(f64),
    /// An integer (`42i`).
    Integer(i64),
    /// A string (`"text"`).
    String(String),
    /// A boolean (`true`).
    Boolean(bool),
}

/// One point read back from line protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPoint {
    /// The measurement, unescaped.
    pub measurement: String,
    /// Tag key and value pairs in line order, unescaped (still in [`tag_text`] form).
    pub tags: Vec<(String, String)>,
    /// Field key and value pairs in line order.
    pub fields: Vec<(String, FieldValue)>,
    /// The timestamp as written.
    pub time: Option<i64>,
}

impl ParsedPoint {
    /// The value of tag `name`, decoded with [`text_from_tag`].
    pub fn tag(&self, name: &str) -> Option<String> {
        self.tags
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| text_from_tag(v))
    }

    /// The value of field `name`.
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

/// Read one line the way InfluxDB does (`\` escapes `,`, `=` and space in keys and tag values;
/// `\"` and `\\` in string fields; any other backslash is literal). Used by tests to prove
/// that what [`point`] writes reads back as the event.
pub fn parse_point(line: &str) -> Result<ParsedPoint, String> {
    let mut c = Cursor {
        chars: line.chars().collect(),
        i: 0,
    };
    let measurement = c.token(&[',', ' '], &[',', ' ']);
    if measurement.is_empty() {
        return Err("missing measurement".into());
    }
    let mut tags = Vec::new();
    while c.eat(',') {
        tags.push(c.tag()?);
    }
    if !c.eat(' ') {
        return Err("missing fields".into());
    }
    let mut fields = vec![c.field()?];
    while c.eat(',') {
        fields.push(c.field()?);
    }
    let time = if c.eat(' ') {
        let t: String = c.chars[c.i..].iter().collect();
        Some(t.parse().map_err(|_| format!("bad timestamp {t:?}"))?)
    } else if c.i < c.chars.len() {
        return Err("trailing content".into());
    } else {
        None
    };
    Ok(ParsedPoint {
        measurement,
        tags,
        fields,
        time,
    })
}

/// A position in a line being parsed.
struct Cursor {
    chars: Vec<char>,
    i: usize,
}

impl Cursor {
    /// Step over `c` if it is next.
    fn eat(&mut self, c: char) -> bool {
        let next = self.chars.get(self.i) == Some(&c);
        self.i += usize::from(next);
        next
    }

    /// An unquoted token up to one of `stops` (unescaped), unescaping `escapable`.
    fn token(&mut self, stops: &[char], escapable: &[char]) -> String {
        let mut out = String::new();
        while let Some(&c) = self.chars.get(self.i) {
            match self.chars.get(self.i + 1) {
                Some(&n) if c == '\\' && escapable.contains(&n) => {
                    out.push(n);
                    self.i += 2;
                    continue;
                }
                _ if stops.contains(&c) => break,
                _ => {}
            }
            out.push(c);
            self.i += 1;
        }
        out
    }

    /// `key=value` of a tag.
    fn tag(&mut self) -> Result<(String, String), String> {
        let k = self.token(&['=', ',', ' '], &[',', '=', ' ']);
        if !self.eat('=') {
            return Err(format!("tag {k:?} has no '='"));
        }
        let v = self.token(&[',', ' '], &[',', '=', ' ']);
        if k.is_empty() || v.is_empty() {
            return Err("empty tag key or value".into());
        }
        Ok((k, v))
    }

    /// `key=value` of a field: a quoted string, an integer (`42i`), a boolean or a float.
    fn field(&mut self) -> Result<(String, FieldValue), String> {
        let k = self.token(&['=', ',', ' '], &[',', '=', ' ']);
        if !self.eat('=') {
            return Err(format!("field {k:?} has no '='"));
        }
        if self.eat('"') {
            return Ok((k, FieldValue::String(self.string()?)));
        }
        let raw = self.token(&[',', ' '], &[]);
        let value = if let Some(n) = raw.strip_suffix('i') {
            FieldValue::Integer(n.parse().map_err(|_| format!("bad integer {raw:?}"))?)
        } else if let Ok(b) = raw.parse::<bool>() {
            FieldValue::Boolean(b)
        } else {
            FieldValue::Float(raw.parse().map_err(|_| format!("bad float {raw:?}"))?)
        };
        Ok((k, value))
    }

    /// The rest of a string field after its opening quote, through the closing one.
    fn string(&mut self) -> Result<String, String> {
        let mut s = String::new();
        loop {
            match self.chars.get(self.i) {
                None => return Err("unterminated string field".into()),
                Some('"') => {
                    self.i += 1;
                    return Ok(s);
                }
                Some('\\') if matches!(self.chars.get(self.i + 1), Some('"' | '\\')) => {
                    s.push(self.chars[self.i + 1]);
                    self.i += 2;
                }
                Some(&c) => {
                    s.push(c);
                    self.i += 1;
                }
            }
        }
    }
}
