//! The Timestream trail against replayed Query responses in AWS's shape (`QueryId`,
//! `ColumnInfo[].Name/Type.ScalarType`, `Rows[].Data[].ScalarValue`, `NextToken`,
//! `QueryStatus`; <https://docs.aws.amazon.com/timestream/latest/developerguide/API_query_Query.html>).

use aws_smithy_types::body::SdkBody;
use filetrail_audit::memory::MemoryBuckets;
use filetrail_audit::timestream::Sql;
use filetrail_audit::{Lookup, Progress, TimestreamTrail, Trail, audit};
use filetrail_recorder::Layout;
use filetrail_testkit::replay;
use serde_json::{Value, json};

use super::{config, l0_key, l0_name, object};

const EEA: &str = "dev-hermes-eea";

fn page(rows: &[[&str; 4]], next: Option<&str>) -> http::Response<SdkBody> {
    let column = |name: &str| json!({"Name": name, "Type": {"ScalarType": "VARCHAR"}});
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| json!({"Data": r.iter().map(|v| json!({"ScalarValue": v})).collect::<Vec<_>>()}))
        .collect();
    let mut body = json!({
        "QueryId": "AEDQCANNSV2VJ3BN2RWAWFD6W6AHPSQKOVAFVRWAAWYPBCG6VEVKNKI",
        "Rows": rows,
        "ColumnInfo": [
            column("source_bucket"), column("file_key"),
            column("destination_bucket"), column("new_file_key")
        ],
        "QueryStatus": {"ProgressPercentage": 100.0, "CumulativeBytesScanned": 2048, "CumulativeBytesMetered": 10000000}
    });
    if let Some(t) = next {
        body["NextToken"] = t.into();
    }
    replay::json_response(200, &body)
}

async fn trail(responses: Vec<http::Response<SdkBody>>) -> (TimestreamTrail, replay::Replay) {
    let http = replay::client(responses);
    let client = aws_sdk_timestreamquery::Client::new(&replay::sdk_config(&http).await);
    (
        TimestreamTrail::new(
            client,
            Sql::new("sdc_aws_logs", "sdc_aws_s3_bucket_log_table", Layout::Seed),
        ),
        http,
    )
}

#[tokio::test]
async fn one_query_per_page_its_result_pages_followed_and_the_findings_exact() {
    let (l0_1, l0_2) = (l0_key(1), l0_key(2));
    let l1 = "l1/2026/01/01/hermes_eea_l1_20260101T000000_v1.0.0.cdf";
    let (name_1, name_2) = (l0_name(1), l0_name(2));
    let (t, http) = trail(vec![
        // An empty first page with a token (a query still running), then the rows.
        page(&[], Some("page-2")),
        page(
            &[
                ["dev-hermes-incoming", &name_1, EEA, &l0_1],
                ["dev-hermes-incoming", &name_2, EEA, &l0_2],
            ],
            Some("page-3"),
        ),
        page(&[[EEA, &l0_1, EEA, l1]], None),
        // The keys left without a record, asked again over the whole trail: still none.
        page(&[], None),
        // nemisis: nothing in the window, no query.
    ])
    .await;
    let mut b = MemoryBuckets::new();
    b.put("dev-hermes-incoming", object("late.bin", 1));
    for key in [
        &l0_1,
        &l0_2,
        &l1.to_owned(),
        &"l1/unannounced.cdf".to_owned(),
    ] {
        b.put(EEA, object(key, 60));
    }
    b.put("dev-hermes-nemisis", object("old", 60 * 72));
    let report = audit(&config(), &b, &t, &|_: &Progress| {})
        .await
        .expect("audit");
    assert_eq!(
        super::found(&report),
        [
            ("unprocessed", l0_2.as_str()),
            ("unrecorded", "l1/unannounced.cdf")
        ]
    );
    assert_eq!(
        report.counts.trail_queries, 2,
        "the page's query, then one for the two keys it left without a record"
    );
    let bodies = replay::request_bodies(&http);
    assert_eq!(bodies.len(), 4, "three result pages, then the second query");
    let sql = bodies[0]["QueryString"].as_str().expect("query");
    // The first asks records from a day before the page's oldest object (modified an hour
    // before now).
    let bound =
        (super::now() - chrono::Duration::hours(1) - chrono::Duration::days(1)).timestamp_millis();
    let select = "SELECT source_bucket, file_key, destination_bucket, new_file_key FROM \"sdc_aws_logs\".\"sdc_aws_s3_bucket_log_table\" \
             WHERE measure_name = 'timestamp' AND action_type = 'PUT'";
    assert_eq!(
        sql,
        format!(
            "{select} AND time >= from_milliseconds({bound}) AND ((source_bucket = '{EEA}' AND file_key IN ('{l0_1}', '{l0_2}')) \
             OR (destination_bucket = '{EEA}' AND (new_file_key IN ('{l0_1}', '{l0_2}', '{l1}', 'l1/unannounced.cdf') \
             OR file_key IN ('{l0_1}', '{l0_2}', '{l1}', 'l1/unannounced.cdf'))))"
        )
    );
    assert_eq!(bodies[1]["NextToken"], "page-2");
    assert_eq!(bodies[2]["NextToken"], "page-3");
    assert_eq!(
        bodies[2]["QueryString"], bodies[0]["QueryString"],
        "a token goes with its query"
    );
    // The second: no bound, only the keys the first left without a record.
    assert_eq!(
        bodies[3]["QueryString"].as_str().expect("query"),
        format!(
            "{select} AND ((source_bucket = '{EEA}' AND file_key IN ('{l0_2}')) \
             OR (destination_bucket = '{EEA}' AND (new_file_key IN ('l1/unannounced.cdf') OR file_key IN ('l1/unannounced.cdf'))))"
        )
    );
}

#[tokio::test]
async fn quotes_are_doubled_and_n_a_reads_as_no_new_key() {
    let key = "l1/o'brien.cdf";
    let (t, http) = trail(vec![page(&[["producer", key, EEA, "N/A"]], None)]).await;
    let keys = [key];
    let found = t
        .lookup(&Lookup {
            bucket: EEA,
            sources: &[],
            destinations: &keys,
            not_before: None,
        })
        .await
        .expect("lookup");
    assert_eq!(found.queries, 1);
    assert_eq!(found.records[0].new_file_key, None);
    assert_eq!(found.records[0].destination_key(), key);
    let sql = replay::request_bodies(&http)[0]["QueryString"]
        .as_str()
        .expect("query")
        .to_owned();
    assert!(sql.contains("IN ('l1/o''brien.cdf')"), "{sql}");
    assert!(!sql.contains("source_bucket ="), "no source side: {sql}");
}

#[tokio::test]
async fn a_lookup_over_the_query_limit_is_cut_into_queries_that_fit() {
    let keys: Vec<String> = (0..350)
        .map(|i| format!("l{}/{i:04}-{}.cdf", u8::from(i >= 50), "x".repeat(40)))
        .collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (sources, destinations) = refs.split_at(50);
    let responses = (0..10).map(|_| page(&[], None)).collect();
    let (t, http) = trail(responses).await;
    let t = t.with_max_query_bytes(8192);
    // Bounded, as the audit's first lookup of a page is: the bound counts in every statement.
    let lookup = Lookup {
        bucket: EEA,
        sources,
        destinations,
        not_before: Some(super::now()),
    };
    let parts = t.sql().parts(&lookup);
    let found = t.lookup(&lookup).await.expect("lookup");
    assert_eq!(found.queries, parts.len());
    assert!(parts.len() > 1);
    let bodies = replay::request_bodies(&http);
    assert_eq!(bodies.len(), parts.len());
    let mut named = 0;
    for b in &bodies {
        let q = b["QueryString"].as_str().expect("query");
        assert!(q.len() <= 8192, "{} bytes", q.len());
        assert!(q.contains(" AND time >= from_milliseconds("), "{q}");
        named += refs
            .iter()
            .filter(|k| q.contains(&format!("'{k}'")))
            .count();
    }
    assert_eq!(named, 350, "every key in exactly one query");
}

#[tokio::test]
async fn a_throttled_query_is_retried_and_an_access_error_stops_the_audit() {
    let (t, http) = trail(vec![
        replay::json_error(400, "ThrottlingException", "Rate exceeded"),
        page(&[], None),
        replay::json_error(
            400,
            "AccessDeniedException",
            "not authorized to perform: timestream:Select",
        ),
    ])
    .await;
    let keys = ["a"];
    let lookup = Lookup {
        bucket: EEA,
        sources: &[],
        destinations: &keys,
        not_before: None,
    };
    assert_eq!(t.lookup(&lookup).await.expect("retried").queries, 1);
    let err = t.lookup(&lookup).await.expect_err("denied");
    assert!(!err.retryable);
    assert!(err.message.contains("AccessDeniedException"), "{err}");
    assert_eq!(replay::request_bodies(&http).len(), 3);
}

#[tokio::test]
async fn the_multi_layout_is_read_by_its_measure_name_and_a_null_is_no_value() {
    // The multi layout's keys are measures: a record the query reads without one answers
    // `NullValue` (API_query_Datum.html).
    let l0 = l0_key(3);
    let column = |name: &str| json!({"Name": name, "Type": {"ScalarType": "VARCHAR"}});
    let row = |v: [Value; 4]| json!({"Data": v.to_vec()});
    let body = json!({
        "QueryId": "AEDQCANNSV2VJ3BN2RWAWFD6W6AHPSQKOVAFVRWAAWYPBCG6VEVKNKJ",
        "Rows": [
            row([json!({"ScalarValue": "dev-hermes-incoming"}), json!({"ScalarValue": l0_name(3)}),
                 json!({"ScalarValue": EEA}), json!({"ScalarValue": l0})]),
            row([json!({"ScalarValue": "producer"}), json!({"ScalarValue": "l1/x.cdf"}),
                 json!({"ScalarValue": EEA}), json!({"NullValue": true})]),
        ],
        "ColumnInfo": [column("source_bucket"), column("file_key"), column("destination_bucket"), column("new_file_key")],
        "QueryStatus": {"ProgressPercentage": 100.0, "CumulativeBytesScanned": 512, "CumulativeBytesMetered": 10000000}
    });
    let http = replay::client(vec![replay::json_response(200, &body)]);
    let client = aws_sdk_timestreamquery::Client::new(&replay::sdk_config(&http).await);
    let t = TimestreamTrail::new(client, Sql::new("filetrail", "moves", Layout::Multi));
    let keys = [l0.as_str(), "l1/x.cdf"];
    let found = t
        .lookup(&Lookup {
            bucket: EEA,
            sources: &keys[..1],
            destinations: &keys,
            not_before: None,
        })
        .await
        .expect("lookup");
    let sql = replay::request_bodies(&http)[0]["QueryString"]
        .as_str()
        .expect("query")
        .to_owned();
    assert!(
        sql.starts_with("SELECT source_bucket, file_key, destination_bucket, new_file_key FROM \"filetrail\".\"moves\" WHERE measure_name = 'file_moved' AND action_type = 'PUT' AND ("),
        "{sql}"
    );
    let keys: Vec<&str> = found.records.iter().map(|r| r.destination_key()).collect();
    assert_eq!(
        keys,
        [l0.as_str(), "l1/x.cdf"],
        "a null new_file_key: the key is unchanged"
    );
}
