//! Record layouts, checked on the exact request bytes the real adapter sends.

use filetrail_contract::{OccurredAt, parse_body};
use filetrail_recorder::{Layout, RecordSizes, TimestreamWriter, WriteRecords};
use filetrail_testkit::replay;
use serde_json::{Value, json};

const ENVELOPE: &str = filetrail_testkit::fixtures::ENVELOPE;

fn fixture() -> filetrail_contract::FileMoved {
    parse_body(ENVELOPE.as_bytes(), OccurredAt::now())
        .expect("fixture")
        .event
}

/// The body of the WriteRecords request the real adapter sends for `events`.
async fn request_body(
    layout: Layout,
    events: &[filetrail_contract::FileMoved],
) -> (Value, Vec<u8>) {
    let http = replay::client(vec![replay::json_response(
        200,
        &json!({"RecordsIngested": {"Total": events.len()}}),
    )]);
    let client = filetrail_recorder::timestream_client(&replay::sdk_config(&http).await)
        .await
        .expect("client");
    let writer = TimestreamWriter::new(client, "sdc_aws_logs", "sdc_aws_s3_bucket_log_table");
    let records = events
        .iter()
        .map(|e| layout.record(e).expect("record"))
        .collect();
    writer
        .write_records(layout.common_attributes(), records)
        .await
        .expect("written");
    let req = http
        .actual_requests()
        .next()
        .expect("one request")
        .body()
        .bytes()
        .expect("body")
        .to_vec();
    (serde_json::from_slice(&req).expect("json"), req)
}

fn dim(name: &str, value: &str) -> Value {
    json!({"Name": name, "Value": value})
}

#[tokio::test]
async fn seed_layout_is_exactly_the_dashboards_layout() {
    let (body, _) = request_body(Layout::Seed, &[fixture()]).await;
    assert_eq!(
        body,
        json!({
            "DatabaseName": "sdc_aws_logs",
            "TableName": "sdc_aws_s3_bucket_log_table",
            "CommonAttributes": {"MeasureName": "timestamp", "MeasureValueType": "DOUBLE", "TimeUnit": "MILLISECONDS"},
            "Records": [{
                "Dimensions": [
                    dim("action_type", "PUT"),
                    dim("source_bucket", "hermes-incoming"),
                    dim("destination_bucket", "hermes-eea"),
                    dim("file_key", "hermes_EEA_l0_2022259-030002_v01.bin"),
                    dim("new_file_key", "l0/2022/09/16/hermes_EEA_l0_2022259-030002_v01.bin"),
                    dim("event_id", "e2113f9bc4c7f6312abcab98f9e1a139"),
                ],
                "MeasureValue": "1714564800.123",
                "Time": "1714564800123",
            }],
        })
    );
}

#[tokio::test]
async fn missing_values_are_na() {
    let mut e = fixture();
    e.destination_bucket = None;
    e.new_file_key = None;
    e.action_type = filetrail_contract::ActionType::Delete;
    let e = filetrail_contract::FileMoved {
        event_id: e.to_move().event_id(),
        ..e
    };
    let (body, _) = request_body(Layout::Seed, &[e]).await;
    let dims = &body["Records"][0]["Dimensions"];
    assert_eq!(dims[0], dim("action_type", "DELETE"));
    assert_eq!(dims[2], dim("destination_bucket", "N/A"));
    assert_eq!(dims[4], dim("new_file_key", "N/A"));
}

#[tokio::test]
async fn multi_layout_is_one_multi_measure_record() {
    let (body, _) = request_body(Layout::Multi, &[fixture()]).await;
    assert_eq!(
        body["CommonAttributes"],
        json!({"MeasureName": "file_moved", "MeasureValueType": "MULTI", "TimeUnit": "MILLISECONDS"})
    );
    let r = &body["Records"][0];
    assert_eq!(r["Time"], "1714564800123");
    let dims: Vec<&str> = r["Dimensions"]
        .as_array()
        .expect("dims")
        .iter()
        .map(|d| d["Name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        dims,
        [
            "action_type",
            "source_bucket",
            "destination_bucket",
            "event_id"
        ]
    );
    let measures: Vec<(String, String, String)> = r["MeasureValues"]
        .as_array()
        .expect("measures")
        .iter()
        .map(|m| {
            (
                m["Name"].as_str().expect("n").into(),
                m["Value"].as_str().expect("v").into(),
                m["Type"].as_str().expect("t").into(),
            )
        })
        .collect();
    assert_eq!(
        measures[0],
        ("timestamp".into(), "1714564800.123".into(), "DOUBLE".into())
    );
    assert_eq!(
        measures[1],
        (
            "file_key".into(),
            "hermes_EEA_l0_2022259-030002_v01.bin".into(),
            "VARCHAR".into()
        )
    );
    assert!(measures.contains(&("size".into(), "1048576".into(), "BIGINT".into())));
    assert!(measures.contains(&("stage".into(), "sdc.sorter".into(), "VARCHAR".into())));
}

#[tokio::test]
async fn same_event_in_byte_identical_record_out() {
    for layout in [Layout::Seed, Layout::Multi] {
        let e = fixture();
        let (_, a) = request_body(layout, std::slice::from_ref(&e)).await;
        let (_, b) = request_body(layout, std::slice::from_ref(&e)).await;
        assert_eq!(a, b, "{layout:?}: the same request bytes");
        // Inside a larger call, the record's bytes are the same too.
        let (many, _) = request_body(layout, &[super::event(1), e.clone(), super::event(2)]).await;
        let (one, _) = request_body(layout, &[e]).await;
        assert_eq!(
            many["Records"][1].to_string(),
            one["Records"][0].to_string()
        );
    }
}

#[test]
fn records_over_the_timestream_limit_are_refused_with_the_limit() {
    let mut e = fixture();
    e.file_key = "k".repeat(1024);
    e.new_file_key = Some("n".repeat(1024));
    let err = Layout::Seed.record(&e).expect_err("too large");
    assert!(err.contains("2048") && err.contains("bytes"), "{err}");
    assert!(Layout::Seed.record(&fixture()).is_ok());
}

/// The sizes Timestream counts, read off a built record: dimension names and values; then
/// time, measure names and values.
fn built_sizes(r: &aws_sdk_timestreamwrite::types::Record, layout: Layout) -> RecordSizes {
    let series: usize = r
        .dimensions()
        .iter()
        .map(|d| d.name().len() + d.value().len())
        .sum();
    let measures: usize = match layout {
        Layout::Seed => {
            layout.measure_name().len() + r.measure_value().expect("seed measure value").len()
        }
        Layout::Multi => {
            layout.measure_name().len()
                + r.measure_values()
                    .iter()
                    .map(|m| m.name().len() + m.value().len())
                    .sum::<usize>()
        }
    };
    RecordSizes {
        series,
        record: 8 + series + measures,
    }
}

/// `check` tells from sizes what `record` would build: the sizes it computes are the built
/// record's, for every optional field and for keys on both sides of both limits, and an event
/// is refused exactly when one of them passes its limit. (`record` refuses through `check`, so
/// the records built are what tests the sizes; a refusal shows only that a size passed.)
#[test]
fn checked_sizes_are_the_built_records() {
    let mut events = vec![fixture()];
    let mut bare = fixture();
    (bare.stage, bare.etag, bare.size, bare.new_file_key) = (None, None, None, None);
    events.push(bare);
    let mut every = fixture();
    every.version_id = Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".into());
    every.trace_id = Some("Root=1-5759e988-bd862e3fe1be46a994272793".into());
    every.size = Some(i64::MAX as u64);
    every.occurred_at = OccurredAt::from_millis(-1_234);
    events.push(every);
    for len in (700..1024).step_by(13) {
        let mut e = fixture();
        e.file_key = "k".repeat(len);
        e.new_file_key = Some("é".repeat(len / 2 + 5));
        events.push(e);
    }
    let mut refused = [0, 0];
    for layout in Layout::ALL {
        for e in &events {
            let sizes = layout.sizes(e);
            let too_big = sizes.series > 2048 || sizes.record > 2048;
            match layout.record(e) {
                Ok(r) => {
                    assert!(!too_big, "{layout:?} {sizes:?}");
                    assert_eq!(built_sizes(&r, layout), sizes, "{layout:?}");
                    assert_eq!(layout.check(e), Ok(()));
                }
                Err(reason) => {
                    assert!(too_big, "{layout:?} {sizes:?}: {reason}");
                    assert_eq!(layout.check(e), Err(reason));
                    refused[usize::from(layout == Layout::Multi)] += 1;
                }
            }
        }
    }
    assert!(
        refused.iter().all(|&n| n > 0),
        "both layouts refuse some: {refused:?}"
    );
    assert!(
        refused.iter().all(|&n| n < events.len()),
        "both layouts take some: {refused:?}"
    );
}

/// The multi layout stores `size` as a BIGINT, a 64-bit signed integer: a size beyond it is
/// refused with a reason naming the field and the limit; the seed layout does not store it.
#[test]
fn a_size_beyond_bigint_is_refused_where_it_is_stored() {
    let mut e = fixture();
    e.size = Some(i64::MAX as u64 + 1);
    let reason = Layout::Multi.check(&e).expect_err("beyond BIGINT");
    assert!(
        reason.contains("size 9223372036854775808") && reason.contains("BIGINT"),
        "{reason}"
    );
    assert_eq!(Layout::Multi.record(&e).err(), Some(reason));
    assert!(Layout::Seed.record(&e).is_ok());
    e.size = Some(i64::MAX as u64);
    assert!(Layout::Multi.record(&e).is_ok());
}
