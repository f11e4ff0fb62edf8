//! `filetrail history` against replayed Timestream Query responses.

use filetrail_cli::history::{
    Layout, TimestreamHistory, rfc3339, table, timestream_query_client, trail,
};
use filetrail_testkit::replay;
use serde_json::{Value, json};

fn columns() -> Value {
    json!([
        {"Name": "time", "Type": {"ScalarType": "TIMESTAMP"}},
        {"Name": "action_type", "Type": {"ScalarType": "VARCHAR"}},
        {"Name": "file_key", "Type": {"ScalarType": "VARCHAR"}},
        {"Name": "new_file_key", "Type": {"ScalarType": "VARCHAR"}},
        {"Name": "source_bucket", "Type": {"ScalarType": "VARCHAR"}},
        {"Name": "destination_bucket", "Type": {"ScalarType": "VARCHAR"}},
        {"Name": "event_id", "Type": {"ScalarType": "VARCHAR"}}
    ])
}

fn row(time: &str, key: &str, new_key: &str, from: &str, to: &str, id: &str) -> Value {
    json!({"Data": [
        {"ScalarValue": time}, {"ScalarValue": "PUT"}, {"ScalarValue": key}, {"ScalarValue": new_key},
        {"ScalarValue": from}, {"ScalarValue": to}, {"ScalarValue": id}
    ]})
}

fn page(rows: &[Value], next: Option<&str>) -> http::Response<aws_smithy_types::body::SdkBody> {
    let mut body = json!({
        "QueryId": "AEDQCANNSV2VJ3BN2RWAWFD6W6AHPSQKOVAFVRWAAWYPBCG6VEVKNKI",
        "Rows": rows,
        "ColumnInfo": columns(),
        "QueryStatus": {"ProgressPercentage": 100.0, "CumulativeBytesScanned": 1000, "CumulativeBytesMetered": 10000000}
    });
    if let Some(t) = next {
        body["NextToken"] = t.into();
    }
    replay::json_response(200, &body)
}

const RAW: &str = "hermes_eea_l0_2024122-120000_v01.bin";
const L0: &str = "l0/2024/05/01/hermes_eea_l0_2024122-120000_v01.bin";
const L1: &str = "l1/2024/05/01/hermes_eea_l1_20240501T120000_v01.cdf";
const QL: &str = "ql/2024/05/01/hermes_eea_ql_20240501T120000_v01.png";

#[tokio::test]
async fn a_file_through_three_stages_with_pagination() {
    let sorted = row(
        "2024-05-01 12:00:05.000000000",
        RAW,
        L0,
        "hermes-incoming",
        "hermes-eea",
        "aaaa",
    );
    let http = replay::client(vec![
        // RAW: two pages (a re-sent sort recorded twice in an old table shows up once).
        page(std::slice::from_ref(&sorted), Some("page-2")),
        page(&[sorted], None),
        // L0 → L1 (processing)
        page(
            &[row(
                "2024-05-01 12:01:10.250000000",
                L0,
                L1,
                "hermes-eea",
                "hermes-eea",
                "bbbb",
            )],
            None,
        ),
        // L1 → QL (quick-look)
        page(
            &[row(
                "2024-05-01 12:02:00.5",
                L1,
                QL,
                "hermes-eea",
                "hermes-eea",
                "cccc",
            )],
            None,
        ),
        // QL: nothing further
        page(&[], None),
    ]);
    let client = timestream_query_client(&replay::sdk_config(&http).await)
        .await
        .expect("client");
    let source = TimestreamHistory::new(
        client,
        "sdc_aws_logs",
        "sdc_aws_s3_bucket_log_table",
        Layout::Seed,
    );
    let moves = trail(&source, RAW).await.expect("trail");

    let keys: Vec<(&str, &str)> = moves
        .iter()
        .map(|m| (m.file_key.as_str(), m.new_file_key.as_str()))
        .collect();
    assert_eq!(
        keys,
        [(RAW, L0), (L0, L1), (L1, QL)],
        "newest last, each move once"
    );
    assert_eq!(moves[0].time, "2024-05-01T12:00:05.000Z");
    assert_eq!(moves[2].time, "2024-05-01T12:02:00.500Z");

    let bodies = replay::request_bodies(&http);
    assert_eq!(bodies.len(), 5);
    assert_eq!(
        bodies[0]["QueryString"],
        format!(
            "SELECT time, action_type, file_key, new_file_key, source_bucket, destination_bucket, event_id FROM \"sdc_aws_logs\".\"sdc_aws_s3_bucket_log_table\" WHERE measure_name = 'timestamp' AND file_key = '{RAW}' ORDER BY time ASC"
        )
    );
    assert_eq!(
        bodies[1]["NextToken"], "page-2",
        "the second page is asked for"
    );
    assert!(
        bodies[2]["QueryString"]
            .as_str()
            .expect("q")
            .contains(&format!("file_key = '{L0}'"))
    );
    assert!(
        bodies[4]["QueryString"]
            .as_str()
            .expect("q")
            .contains(&format!("file_key = '{QL}'"))
    );

    let text = table(&moves);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].starts_with("time"));
    assert!(
        lines[1].contains(&format!("hermes-incoming/{RAW}"))
            && lines[1].contains(&format!("hermes-eea/{L0}"))
    );
    assert!(lines[3].contains(&format!("hermes-eea/{QL}")) && lines[3].ends_with("cccc"));
}

#[test]
fn keys_are_escaped_in_the_query() {
    let http = replay::client(vec![]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let client = rt
        .block_on(async { aws_sdk_timestreamquery::Client::new(&replay::sdk_config(&http).await) });
    let h = TimestreamHistory::new(client, "db\"x", "t", Layout::Multi);
    let q = h.query("it's a key");
    assert!(q.contains("file_key = 'it''s a key'"), "{q}");
    assert!(q.contains("FROM \"db\"\"x\".\"t\""), "{q}");
    assert!(q.contains("measure_name = 'file_moved'"), "{q}");
}

#[test]
fn timestream_times_become_rfc3339() {
    assert_eq!(
        rfc3339("2024-05-01 12:00:00.123000000"),
        "2024-05-01T12:00:00.123Z"
    );
    assert_eq!(rfc3339("2024-05-01 12:00:00"), "2024-05-01T12:00:00.000Z");
}
