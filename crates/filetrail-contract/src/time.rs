//! `occurred_at`: RFC 3339 UTC with millisecond precision, held as epoch milliseconds.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// When a move happened, in milliseconds since the Unix epoch (UTC).
///
/// Serialized as `YYYY-MM-DDTHH:MM:SS.mmmZ`. Parsing accepts 0 to 3 fractional digits and a
/// `Z` or `+00:00` suffix; anything finer than a millisecond, or another offset, is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OccurredAt(i64);

/// The format every error about `occurred_at` quotes.
pub const OCCURRED_AT_FORMAT: &str =
    "RFC 3339 UTC with at most millisecond precision, e.g. 2024-05-01T12:00:00.123Z";

impl OccurredAt {
    /// From epoch milliseconds.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Epoch milliseconds.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// The current time, truncated to the millisecond.
    pub fn now() -> Self {
        Self(Utc::now().timestamp_millis())
    }

    /// From a chrono UTC time, truncated to the millisecond.
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Self(t.timestamp_millis())
    }

    /// Parse the contract's RFC 3339 form; the error says what is wrong.
    pub fn parse(s: &str) -> Result<Self, String> {
        parse_rfc3339_utc_ms(s).ok_or_else(|| format!("must be {OCCURRED_AT_FORMAT}; got {s:?}"))
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
}

fn parse_rfc3339_utc_ms(s: &str) -> Option<OccurredAt> {
    let b = s.as_bytes();
    // YYYY-MM-DDTHH:MM:SS is 19 bytes.
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (hour, min, sec) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    let rest = &b[19..];
    let (frac, tz) = match rest.first() {
        Some(b'.') => {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if !(1..=3).contains(&n) {
                return None;
            }
            let f = digits(&rest[1..=n])? * 10u32.pow(3 - u32::try_from(n).ok()?);
            (f, &rest[1 + n..])
        }
        _ => (0, rest),
    };
    if tz != b"Z" && tz != b"+00:00" {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let t = date.and_hms_milli_opt(hour, min, sec, frac)?;
    Some(OccurredAt(t.and_utc().timestamp_millis()))
}

impl fmt::Display for OccurredAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%S%.3fZ")),
            None => write!(f, "{}ms", self.0),
        }
    }
}

impl Serialize for OccurredAt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OccurredAt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}
