//! Timestream for LiveAnalytics write metering, computed from the records the recorder sends.
//!
//! AWS, "Metering and pricing: Writes"
//! (<https://docs.aws.amazon.com/timestream/latest/developerguide/metering-and-pricing.writes.html>):
//! the write size of a time series event is the sum of its timestamp (8 bytes), its dimension
//! names and values and its measure names (UTF-8 bytes) and its measure values (1 byte for a
//! BOOLEAN, 8 for a BIGINT or DOUBLE, the UTF-8 bytes of a VARCHAR); each write is counted in
//! units of 1 KiB; a write holds as many whole events as fit, and attributes sent once as
//! `CommonAttributes` are counted once per write ("a write can contain 36 time series events and
//! common attributes").
//!
//! AWS announced in July 2022 that dimension names and measure names written after
//! 2022-07-08 are no longer charged
//! (<https://aws.amazon.com/about-aws/whats-new/2022/07/amazon-timestream-improved-cost-effectiveness-updates-metadata-metering/>);
//! the metering page still counts them. [`Names`] computes either.
//!
//! BENCHMARKS.md's cost table uses these functions (the recorder bench prints their results).

use aws_sdk_timestreamwrite::types::{MeasureValueType, Record};

/// Bytes AWS meters for a timestamp.
pub const TIMESTAMP_BYTES: usize = 8;
/// Bytes AWS meters for a BIGINT or DOUBLE measure value.
pub const NUMBER_BYTES: usize = 8;
/// Bytes AWS meters for a BOOLEAN measure value.
pub const BOOLEAN_BYTES: usize = 1;
/// One metered write: 1 KiB.
pub const WRITE_UNIT_BYTES: usize = 1024;

/// Whether dimension names and measure names are metered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// As the metering page computes write size: names and values.
    Metered,
    /// As AWS announced for data written after 2022-07-08: values only.
    Free,
}

impl Names {
    fn bytes(self, name: &str) -> usize {
        match self {
            Self::Metered => name.len(),
            Self::Free => 0,
        }
    }
}

/// Bytes AWS meters for one measure value of `kind` (DOUBLE when no type is given, the
/// `Record` API's default). TIMESTAMP, which the metering page does not name, is counted as
/// the 8-byte number it is; filetrail writes none.
fn value_bytes(value: &str, kind: Option<&MeasureValueType>) -> usize {
    match kind {
        Some(MeasureValueType::Boolean) => BOOLEAN_BYTES,
        Some(MeasureValueType::Varchar) => value.len(),
        _ => NUMBER_BYTES,
    }
}

/// The metered size of the attributes `record` itself carries. A measure value without a type
/// of its own takes `inherited_type` (the type in `CommonAttributes`).
pub fn record_bytes(
    record: &Record,
    inherited_type: Option<&MeasureValueType>,
    names: Names,
) -> usize {
    let time = if record.time().is_some() {
        TIMESTAMP_BYTES
    } else {
        0
    };
    let dimensions: usize = record
        .dimensions()
        .iter()
        .map(|d| names.bytes(d.name()) + d.value().len())
        .sum();
    let measure_name = record.measure_name().map_or(0, |n| names.bytes(n));
    let kind = record.measure_value_type().or(inherited_type);
    let measure_value = record.measure_value().map_or(0, |v| value_bytes(v, kind));
    let measures: usize = record
        .measure_values()
        .iter()
        .map(|m| names.bytes(m.name()) + value_bytes(m.value(), Some(m.r#type())))
        .sum();
    time + dimensions + measure_name + measure_value + measures
}

/// What one WriteRecords call is metered as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteMetering {
    /// Metered bytes of the `CommonAttributes` (counted once in every 1 KiB write).
    pub common_bytes: usize,
    /// Metered bytes of each record, in order.
    pub record_bytes: Vec<usize>,
    /// 1 KiB writes the call is billed as.
    pub writes: usize,
}

/// Meter one WriteRecords call: `records` sharing `common`. Records are packed in order into
/// 1 KiB writes, each carrying the common attributes once and whole records; a record that
/// does not fit a write with the common attributes alone takes as many 1 KiB units as it spans.
pub fn meter_write(common: Option<&Record>, records: &[Record], names: Names) -> WriteMetering {
    let common_bytes = common.map_or(0, |c| record_bytes(c, None, names));
    let inherited = common.and_then(Record::measure_value_type);
    let sizes: Vec<usize> = records
        .iter()
        .map(|r| record_bytes(r, inherited, names))
        .collect();
    WriteMetering {
        common_bytes,
        writes: pack(common_bytes, &sizes),
        record_bytes: sizes,
    }
}

/// 1 KiB writes for records of `sizes`, each write carrying `common` bytes once.
pub fn pack(common: usize, sizes: &[usize]) -> usize {
    let mut writes = 0;
    let mut open: Option<usize> = None;
    for &size in sizes {
        match open {
            Some(used) if used + size <= WRITE_UNIT_BYTES => open = Some(used + size),
            _ => {
                let first = common + size;
                writes += first.div_ceil(WRITE_UNIT_BYTES);
                open = (first <= WRITE_UNIT_BYTES).then_some(first);
            }
        }
    }
    writes
}

#[cfg(test)]
mod tests {
    use aws_sdk_timestreamwrite::types::{Dimension, MeasureValue, TimeUnit};

    use super::*;
    use crate::Layout;

    fn dim(name: &str, value: &str) -> Dimension {
        Dimension::builder()
            .name(name)
            .value(value)
            .build()
            .expect("name and value are set")
    }

    /// The metering page's example event: CPU utilization of an EC2 instance.
    fn cpu(host: &str) -> Record {
        Record::builder()
            .time("1602983435238563000")
            .time_unit(TimeUnit::Nanoseconds)
            .dimensions(dim("region", "us-east-1"))
            .dimensions(dim("az", "1d"))
            .dimensions(dim("vpc", "vpc-1a2b3c4d"))
            .dimensions(dim("hostname", host))
            .measure_name("cpu_utilization")
            .measure_value("35.0")
            .measure_value_type(MeasureValueType::Double)
            .build()
    }

    #[test]
    fn the_pages_example_event_is_83_bytes() {
        assert_eq!(record_bytes(&cpu("host-24Gju"), None, Names::Metered), 83);
        // Names free: 83 - region, az, vpc, hostname (19) - cpu_utilization (15).
        assert_eq!(record_bytes(&cpu("host-24Gju"), None, Names::Free), 49);
    }

    #[test]
    fn the_pages_batching_example_is_9_writes_for_100_events() {
        // "a write can contain a batch of 12 time series events": 12 x 83 = 996 bytes.
        let twelve: Vec<Record> = (0..12).map(|_| cpu("host-24Gju")).collect();
        assert_eq!(meter_write(None, &twelve, Names::Metered).writes, 1);
        let thirteen: Vec<Record> = (0..13).map(|_| cpu("host-24Gju")).collect();
        assert_eq!(meter_write(None, &thirteen, Names::Metered).writes, 2);
        let hundred: Vec<Record> = (0..100).map(|_| cpu("host-24Gju")).collect();
        assert_eq!(meter_write(None, &hundred, Names::Metered).writes, 9);
    }

    #[test]
    fn common_attributes_count_once_per_write() {
        // The page's third example moves region, az, vpc and the measure name into the common
        // attributes. By the page's own formula they are 49 bytes and each event 34 (the page
        // prints 52 and 27, which add up to the same 83 but do not follow its formula).
        let common = Record::builder()
            .dimensions(dim("region", "us-east-1"))
            .dimensions(dim("az", "1d"))
            .dimensions(dim("vpc", "vpc-1a2b3c4d"))
            .measure_name("cpu_utilization")
            .measure_value_type(MeasureValueType::Double)
            .build();
        let event = Record::builder()
            .time("1602983435238563000")
            .dimensions(dim("hostname", "host-24Gju"))
            .measure_value("35.0")
            .build();
        let events = vec![event; 100];
        let m = meter_write(Some(&common), &events, Names::Metered);
        assert_eq!(m.common_bytes, 49);
        assert!(m.record_bytes.iter().all(|&b| b == 34));
        // (1024 - 49) / 34 = 28 events per write: 100 events take 4 writes.
        assert_eq!(m.writes, 4);
        // With the page's figures, 52 + 36 x 27 = 1024: 36 per write, 3 writes for 100.
        assert_eq!(pack(52, &[27; 100]), 3);
    }

    #[test]
    fn measure_values_count_by_type() {
        let r = Record::builder()
            .time("1")
            .measure_name("m")
            .measure_value_type(MeasureValueType::Multi)
            .measure_values(
                MeasureValue::builder()
                    .name("a")
                    .value("123456789")
                    .r#type(MeasureValueType::Bigint)
                    .build()
                    .expect("name, value and type are set"),
            )
            .measure_values(
                MeasureValue::builder()
                    .name("bb")
                    .value("true")
                    .r#type(MeasureValueType::Boolean)
                    .build()
                    .expect("name, value and type are set"),
            )
            .measure_values(
                MeasureValue::builder()
                    .name("ccc")
                    .value("héllo")
                    .r#type(MeasureValueType::Varchar)
                    .build()
                    .expect("name, value and type are set"),
            )
            .build();
        // time 8 + "m" 1 + a 1+8 + bb 2+1 + ccc 3+6 (UTF-8 bytes of "héllo").
        assert_eq!(record_bytes(&r, None, Names::Metered), 8 + 1 + 9 + 3 + 9);
        assert_eq!(record_bytes(&r, None, Names::Free), 8 + 8 + 1 + 6);
    }

    #[test]
    fn a_record_larger_than_a_write_spans_units() {
        assert_eq!(pack(0, &[1024]), 1);
        assert_eq!(pack(10, &[1020]), 2);
        // The open unit closes after an oversized record.
        assert_eq!(pack(10, &[1020, 10]), 3);
        assert_eq!(pack(0, &[]), 0);
    }

    #[test]
    fn the_seed_layout_meters_its_dimensions_and_one_double() {
        let mut e = filetrail_contract::FileMoved::from_move(filetrail_contract::Move {
            action_type: filetrail_contract::ActionType::Put,
            source_bucket: Some("hermes-incoming".into()),
            file_key: "a.bin".into(),
            destination_bucket: None,
            new_file_key: None,
            occurred_at: filetrail_contract::OccurredAt::from_millis(1_714_564_800_123),
        });
        e.stage = Some("sdc.sorter".into());
        let common = Layout::Seed.common_attributes();
        let record = Layout::Seed.record(&e).expect("a valid event");
        let m = meter_write(Some(&common), std::slice::from_ref(&record), Names::Metered);
        assert_eq!(m.common_bytes, "timestamp".len());
        let dims = ("action_type".len() + 3)
            + ("source_bucket".len() + "hermes-incoming".len())
            + ("destination_bucket".len() + 3)
            + ("file_key".len() + 5)
            + ("new_file_key".len() + 3)
            + ("event_id".len() + e.event_id.len());
        // The epoch-seconds value is a DOUBLE (its type is in the common attributes): 8 bytes.
        assert_eq!(m.record_bytes, vec![TIMESTAMP_BYTES + dims + NUMBER_BYTES]);
        assert_eq!(m.writes, 1);
    }
}
