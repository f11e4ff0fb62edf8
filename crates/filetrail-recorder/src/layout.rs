//! Record layouts: how one `FileMoved` becomes one Timestream record.
//!
//! Both layouts are pure functions of the event, and both put `event_id` in the record's
//! identity (dimensions + time + measure name): a re-sent event maps onto the record it already
//! wrote, and two different events can never share a record.

use aws_sdk_timestreamwrite::types::{Dimension, MeasureValue, MeasureValueType, Record, TimeUnit};
use filetrail_contract::FileMoved;
use filetrail_contract::record::epoch_seconds_len;
use filetrail_contract::record::{self, Value, name};
pub use filetrail_contract::record::{NOT_AVAILABLE, epoch_seconds};

/// Measure name of the `seed` layout.
pub const SEED_MEASURE_NAME: &str = record::SEED_MEASURE;
/// Measure name of the `multi` layout.
pub const MULTI_MEASURE_NAME: &str = record::MULTI_MEASURE;
/// Timestream's limit on one record, in bytes (dimensions, measure names and values, time).
/// <https://docs.aws.amazon.com/timestream/latest/developerguide/ts-limits.html>
pub const TIMESTREAM_MAX_RECORD_BYTES: usize = 2048;
/// Timestream's limit on the dimension names and values of one series together, in bytes.
/// <https://docs.aws.amazon.com/timestream/latest/developerguide/ts-limits.html>
pub const TIMESTREAM_MAX_SERIES_DIMENSION_BYTES: usize = 2048;
/// Bytes Timestream counts for a record's time.
const TIME_BYTES: usize = 8;

/// Which record layout the recorder writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The seed pipeline's single-measure records, which existing dashboards query.
    Seed,
    /// One multi-measure record per event, for new tables.
    Multi,
}

impl Layout {
    /// Every layout, in the order of [`Layout::NAMES`].
    pub const ALL: [Self; 2] = [Self::Seed, Self::Multi];
    /// The configuration names (`FILETRAIL_RECORD_LAYOUT`, `filetrail history --layout`).
    pub const NAMES: [&'static str; 2] = [Self::Seed.name(), Self::Multi.name()];

    /// The configuration name, `seed` or `multi`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Seed => "seed",
            Self::Multi => "multi",
        }
    }

    /// The measure name of every record of this layout (what a query selects with
    /// `measure_name = …`).
    pub const fn measure_name(self) -> &'static str {
        match self {
            Self::Seed => SEED_MEASURE_NAME,
            Self::Multi => MULTI_MEASURE_NAME,
        }
    }

    /// The attributes every record of this layout shares (sent once per call).
    pub fn common_attributes(self) -> Record {
        let kind = match self {
            Self::Seed => MeasureValueType::Double,
            Self::Multi => MeasureValueType::Multi,
        };
        Record::builder()
            .measure_name(self.measure_name())
            .measure_value_type(kind)
            .time_unit(TimeUnit::Milliseconds)
            .build()
    }

    /// The sizes Timestream counts for `event`'s record in this layout, computed without
    /// building it.
    pub fn sizes(self, event: &FileMoved) -> RecordSizes {
        let dims = record::seed_dimensions(event);
        let series = self.identity(&dims).map(|(n, v)| n.len() + v.len()).sum();
        RecordSizes {
            series,
            record: TIME_BYTES + series + self.measures_len(event, &dims),
        }
    }

    /// Why `event`'s record can never be stored (it breaks a Timestream limit), told from its
    /// [`Layout::sizes`]: [`Layout::record`] refuses exactly these events.
    pub fn check(self, event: &FileMoved) -> Result<(), String> {
        let RecordSizes { series, record } = self.sizes(event);
        if series > TIMESTREAM_MAX_SERIES_DIMENSION_BYTES {
            return Err(format!(
                "the {} record's dimensions are {series} bytes; Timestream's limit for the dimensions of a series is {TIMESTREAM_MAX_SERIES_DIMENSION_BYTES} bytes (file_key and new_file_key are too long together)",
                self.name()
            ));
        }
        if record > TIMESTREAM_MAX_RECORD_BYTES {
            return Err(format!(
                "the {} record is {record} bytes; Timestream's record limit is {TIMESTREAM_MAX_RECORD_BYTES} bytes (file_key and new_file_key are too long together)",
                self.name()
            ));
        }
        // The multi layout stores whole numbers as BIGINT, a 64-bit signed integer
        // (<https://docs.aws.amazon.com/timestream/latest/developerguide/supported-data-types.html>).
        let beyond_bigint = |(name, value)| match value {
            Value::Integer(n) if i64::try_from(n).is_err() => Some((name, n)),
            _ => None,
        };
        if self == Self::Multi
            && let Some((name, n)) = record::optional_fields(event).find_map(beyond_bigint)
        {
            return Err(format!(
                "{name} {n} is beyond Timestream's BIGINT range (a 64-bit signed integer: at most {})",
                i64::MAX
            ));
        }
        Ok(())
    }

    /// The record for `event`, or why it can never be stored ([`Layout::check`]).
    pub fn record(self, event: &FileMoved) -> Result<Record, String> {
        self.check(event)?;
        let dims = record::seed_dimensions(event);
        let seconds = epoch_seconds(event.occurred_at.millis());
        let builder = match self {
            Self::Seed => Record::builder().measure_value(seconds),
            Self::Multi => {
                let (key, new_key) = keys(&dims);
                Record::builder()
                    .set_measure_values(Some(multi_measures(event, seconds, key, new_key)))
            }
        };
        Ok(builder
            .set_dimensions(Some(
                self.identity(&dims).map(|(n, v)| dimension(n, v)).collect(),
            ))
            .time(event.occurred_at.millis().to_string())
            .build())
    }

    /// The dimensions of this layout's records, out of the seed dimensions: all six in the
    /// seed layout; in the multi layout all but the keys, which are measures there.
    fn identity<'a>(
        self,
        dims: &'a [(&'static str, &'a str); 6],
    ) -> impl Iterator<Item = (&'static str, &'a str)> + 'a {
        let keys_are_measures = matches!(self, Self::Multi);
        dims.iter()
            .copied()
            .filter(move |(n, _)| !(keys_are_measures && is_key(n)))
    }

    /// The bytes Timestream counts for the measure names and values of `event`'s record,
    /// as [`Layout::record`] writes them.
    fn measures_len(self, event: &FileMoved, dims: &[(&'static str, &str); 6]) -> usize {
        let seconds = SEED_MEASURE_NAME.len() + epoch_seconds_len(event.occurred_at.millis());
        match self {
            Self::Seed => seconds,
            Self::Multi => {
                let (key, new_key) = keys(dims);
                MULTI_MEASURE_NAME.len()
                    + seconds
                    + name::FILE_KEY.len()
                    + key.len()
                    + name::NEW_FILE_KEY.len()
                    + new_key.len()
                    + record::optional_fields(event)
                        .map(|(n, v)| n.len() + v.text_len())
                        .sum::<usize>()
            }
        }
    }
}

fn is_key(name: &str) -> bool {
    name == name::FILE_KEY || name == name::NEW_FILE_KEY
}

/// The values of `file_key` and `new_file_key` among the seed dimensions.
fn keys<'a>(dims: &[(&'static str, &'a str); 6]) -> (&'a str, &'a str) {
    let value = |key: &str| dims.iter().find(|(n, _)| *n == key).map_or("", |d| d.1);
    (value(name::FILE_KEY), value(name::NEW_FILE_KEY))
}

/// One record's sizes as [`Layout::check`] holds them against Timestream's limits, in bytes:
/// names and values as their UTF-8 text (AWS's metering counts a BIGINT or DOUBLE value as 8
/// bytes instead; the two differ by a few bytes, ARCHITECTURE.md's gap 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSizes {
    /// The dimension names and values (the series).
    pub series: usize,
    /// The whole record: time, dimensions, measure names and values.
    pub record: usize,
}

/// A name that is not a layout's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected \"seed\" or \"multi\"; got {0:?}")]
pub struct UnknownLayout(pub String);

impl std::str::FromStr for Layout {
    type Err = UnknownLayout;

    /// The layout named `seed` or `multi` ([`Layout::NAMES`]).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|l| l.name() == name)
            .ok_or_else(|| UnknownLayout(name.to_owned()))
    }
}

/// The measures of the `multi` layout: the seed measure, the keys, then every optional field
/// the event carries ([`record::optional_fields`]).
fn multi_measures(
    event: &FileMoved,
    seconds: String,
    key: &str,
    new_key: &str,
) -> Vec<MeasureValue> {
    let mut measures = Vec::with_capacity(8);
    let mut measure = |name: &str, value: String, kind: MeasureValueType| {
        measures.push(
            MeasureValue::builder()
                .name(name)
                .value(value)
                .r#type(kind)
                .build()
                .unwrap_or_else(|_| unreachable!("name, value and type are set")),
        );
    };
    measure(SEED_MEASURE_NAME, seconds, MeasureValueType::Double);
    measure(name::FILE_KEY, key.to_owned(), MeasureValueType::Varchar);
    measure(
        name::NEW_FILE_KEY,
        new_key.to_owned(),
        MeasureValueType::Varchar,
    );
    for (name, value) in record::optional_fields(event) {
        match value {
            Value::Text(t) => measure(name, t.to_owned(), MeasureValueType::Varchar),
            Value::Integer(n) => measure(name, n.to_string(), MeasureValueType::Bigint),
        }
    }
    measures
}

/// A dimension. Its `DimensionValueType` is left out: VARCHAR is its only value and it is
/// optional (<https://docs.aws.amazon.com/timestream/latest/developerguide/API_Dimension.html>),
/// so each dimension is 31 request bytes fewer to write and sign.
fn dimension(name: &str, value: &str) -> Dimension {
    Dimension::builder()
        .name(name)
        .value(value)
        .build()
        .unwrap_or_else(|_| unreachable!("name and value are set"))
}
