//! Record layouts: how one `FileMoved` becomes one Timestream record.
//!
//! Both layouts are pure functions of the event, and both put `event_id` in the record's
//! identity (dimensions + time + measure name): a re-sent event maps onto the record it already
//! wrote, and two different events can never share a record.

use aws_sdk_timestreamwrite::types::{
    Dimension, DimensionValueType, MeasureValue, MeasureValueType, Record, TimeUnit,
};
use filetrail_contract::FileMoved;
use filetrail_contract::limits::TIMESTREAM_MAX_RECORD_BYTES;

/// The value of a dimension the event leaves empty (as the seed pipeline writes it).
pub const NOT_AVAILABLE: &str = "N/A";
/// Measure name of the `seed` layout.
pub const SEED_MEASURE_NAME: &str = "timestamp";
/// Measure name of the `multi` layout.
pub const MULTI_MEASURE_NAME: &str = "file_moved";
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
    /// The configuration name, `seed` or `multi`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Seed => "seed",
            Self::Multi => "multi",
        }
    }

    /// The attributes every record of this layout shares (sent once per call).
    pub fn common_attributes(self) -> Record {
        let (name, kind) = match self {
            Self::Seed => (SEED_MEASURE_NAME, MeasureValueType::Double),
            Self::Multi => (MULTI_MEASURE_NAME, MeasureValueType::Multi),
        };
        Record::builder()
            .measure_name(name)
            .measure_value_type(kind)
            .time_unit(TimeUnit::Milliseconds)
            .build()
    }

    /// The record for `event`, or why it can never be stored.
    pub fn record(self, event: &FileMoved) -> Result<Record, String> {
        let na = |v: &Option<String>| v.clone().unwrap_or_else(|| NOT_AVAILABLE.to_owned());
        let seconds = epoch_seconds(event.occurred_at.millis());
        let mut size = TIME_BYTES;
        let mut dims = Vec::with_capacity(6);
        let mut dimension = |name: &str, value: String| {
            size += name.len() + value.len();
            dims.push(dimension(name, value));
        };
        dimension("action_type", event.action_type.as_str().to_owned());
        dimension("source_bucket", na(&event.source_bucket));
        dimension("destination_bucket", na(&event.destination_bucket));
        let builder = match self {
            Self::Seed => {
                dimension("file_key", event.file_key.clone());
                dimension("new_file_key", na(&event.new_file_key));
                dimension("event_id", event.event_id.clone());
                size += SEED_MEASURE_NAME.len() + seconds.len();
                Record::builder()
                    .set_dimensions(Some(dims))
                    .measure_value(seconds)
            }
            Self::Multi => {
                dimension("event_id", event.event_id.clone());
                size += MULTI_MEASURE_NAME.len();
                let mut measures = Vec::with_capacity(8);
                let mut measure = |name: &str, value: String, kind: MeasureValueType| {
                    size += name.len() + value.len();
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
                measure(
                    "file_key",
                    event.file_key.clone(),
                    MeasureValueType::Varchar,
                );
                measure(
                    "new_file_key",
                    na(&event.new_file_key),
                    MeasureValueType::Varchar,
                );
                let optional = [
                    ("stage", &event.stage),
                    ("etag", &event.etag),
                    ("version_id", &event.version_id),
                    ("trace_id", &event.trace_id),
                ];
                for (name, value) in optional {
                    if let Some(v) = value {
                        measure(name, v.clone(), MeasureValueType::Varchar);
                    }
                }
                if let Some(s) = event.size {
                    measure("size", s.to_string(), MeasureValueType::Bigint);
                }
                Record::builder()
                    .set_dimensions(Some(dims))
                    .set_measure_values(Some(measures))
            }
        };
        if size > TIMESTREAM_MAX_RECORD_BYTES {
            return Err(format!(
                "the {} record is {size} bytes; Timestream's record limit is {TIMESTREAM_MAX_RECORD_BYTES} bytes (file_key and new_file_key are too long together)",
                self.name()
            ));
        }
        Ok(builder.time(event.occurred_at.millis().to_string()).build())
    }
}

fn dimension(name: &str, value: String) -> Dimension {
    Dimension::builder()
        .name(name)
        .value(value)
        .dimension_value_type(DimensionValueType::Varchar)
        .build()
        .unwrap_or_else(|_| unreachable!("name and value are set"))
}

/// Epoch milliseconds as decimal epoch seconds with exactly three decimals (`1714564800.123`).
pub fn epoch_seconds(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}
