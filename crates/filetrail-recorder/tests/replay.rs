//! The real Timestream adapter inside the recorder, against replayed responses in AWS's shapes.

use std::time::Duration;

use filetrail_recorder::{
    Layout, Recorder, TimestreamSink, TimestreamWriter, WriteRecords, timestream_client,
};
use filetrail_testkit::replay;
use serde_json::{Value, json};

use super::{MemoryDlq, batch, envelope, failed_ids, handle, handle_within};

const REJECTED_TYPE: &str = "com.amazonaws.timestream.v20181101#RejectedRecordsException";

fn ingested(n: usize) -> http::Response<aws_smithy_types::body::SdkBody> {
    replay::json_response(
        200,
        &json!({"RecordsIngested": {"Total": n, "MemoryStore": n, "MagneticStore": 0}}),
    )
}

async fn recorder(
    responses: Vec<http::Response<aws_smithy_types::body::SdkBody>>,
) -> (
    Recorder<TimestreamSink<TimestreamWriter>, MemoryDlq>,
    replay::Replay,
) {
    recorder_in(Layout::Seed, responses).await
}

async fn recorder_in(
    layout: Layout,
    responses: Vec<http::Response<aws_smithy_types::body::SdkBody>>,
) -> (
    Recorder<TimestreamSink<TimestreamWriter>, MemoryDlq>,
    replay::Replay,
) {
    let http = replay::client(responses);
    let sdk = replay::sdk_config(&http).await;
    let client = timestream_client(&sdk).await.expect("client");
    let sink = TimestreamSink::new(
        TimestreamWriter::new(client, "sdc_aws_logs", "sdc_aws_s3_bucket_log_table"),
        layout,
    );
    let settings = super::quick_settings();
    (Recorder::new(sink, MemoryDlq::default(), settings), http)
}

fn event_ids_in(body: &Value) -> Vec<String> {
    body["Records"]
        .as_array()
        .expect("Records")
        .iter()
        .map(|r| {
            r["Dimensions"]
                .as_array()
                .expect("dims")
                .iter()
                .find(|d| d["Name"] == "event_id")
                .expect("event_id")["Value"]
                .as_str()
                .expect("value")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn throttling_then_success() {
    let (_events, messages) = batch(3);
    // The SDK's standard retry (3 attempts) meets the first three answers; the recorder's own
    // round retries what the SDK gave up on.
    let (recorder, http) = recorder(vec![
        replay::json_error(429, "ThrottlingException", "Rate exceeded"),
        replay::json_error(500, "InternalServerException", "Internal server error"),
        replay::json_error(429, "ThrottlingException", "Rate exceeded"),
        ingested(3),
    ])
    .await;
    let (response, counts) = handle(&recorder, &messages).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((counts.written, counts.retried), (3, 3));
    let bodies = replay::request_bodies(&http);
    assert_eq!(
        bodies.len(),
        4,
        "three SDK attempts, then the recorder's retry"
    );
    assert_eq!(
        bodies[0], bodies[3],
        "the retry sends the same records, byte for byte"
    );
    assert_eq!(
        replay::request_targets(&http)[0],
        "Timestream_20181101.WriteRecords"
    );
}

fn rejected(records: &[Value]) -> http::Response<aws_smithy_types::body::SdkBody> {
    replay::json_response(
        419,
        &json!({
            "__type": REJECTED_TYPE,
            "Message": "One or more records have been rejected. See RejectedRecords for details.",
            "RejectedRecords": records,
        }),
    )
}

const TOO_OLD: &str = "The record timestamp is outside the time range [2024-05-01T06:00:00.000Z, 2024-05-01T12:15:00.000Z) of the memory store.";

#[tokio::test]
async fn rejected_records_end_where_the_rules_say() {
    let (events, messages) = batch(5);
    let ids: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
    let lower = "The record version 1 is lower than the existing version 2. A higher version is required to update the measure value.";
    let (recorder, http) = recorder(vec![
        rejected(&[
            json!({"RecordIndex": 0, "Reason": lower, "ExistingVersion": 2}),
            json!({"RecordIndex": 1, "Reason": TOO_OLD}),
            json!({"RecordIndex": 2, "Reason": "The service is temporarily unable to accept this record."}),
        ]),
        ingested(2),
    ])
    .await;
    let (response, counts) = handle(&recorder, &messages).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        failed_ids(&response)
    );
    assert_eq!(counts.duplicate, 0, "no copies in the batch");
    assert_eq!(
        counts.dead_lettered, 1,
        "another event holds the identity: a conflict, never written"
    );
    assert_eq!(
        counts.written, 4,
        "1 and 2 after their retry, 3 and 4 in the first call"
    );

    let bodies = replay::request_bodies(&http);
    assert_eq!(bodies.len(), 2);
    assert_eq!(event_ids_in(&bodies[0]), ids);
    assert_eq!(
        event_ids_in(&bodies[1]),
        vec![ids[1].clone(), ids[2].clone()],
        "only the records that may pass are sent again"
    );
    assert_eq!(bodies[1]["Records"][0], bodies[0]["Records"][1]);
    assert_eq!(
        bodies[1]["CommonAttributes"],
        json!({"MeasureName": "timestamp", "MeasureValueType": "DOUBLE", "TimeUnit": "MILLISECONDS"})
    );

    let letters = recorder.dead_letters().letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].message_id, "m0");
    assert_eq!(
        letters[0].body, messages[0].1,
        "the original body, for replay"
    );
    assert!(
        letters[0].reason.contains(lower) && letters[0].reason.contains("stored version 2"),
        "the raw reason and both versions: {}",
        letters[0].reason
    );
    assert_eq!(letters[0].class.as_str(), "conflict");
}

#[tokio::test]
async fn an_identical_rewrite_is_written_not_a_duplicate() {
    // Timestream answers a re-write of a stored record with the same values with success: the
    // second delivery (another invocation) sends the same record again and counts it written.
    let e = super::event(40);
    let (recorder, http) = recorder(vec![ingested(1), ingested(1)]).await;
    for _ in 0..2 {
        let (response, counts) = handle(&recorder, &[("m".into(), envelope(&e))]).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!((counts.written, counts.duplicate), (1, 0));
        assert_eq!(
            counts.dead_lettered, 0,
            "an identical re-write is no conflict"
        );
    }
    let bodies = replay::request_bodies(&http);
    assert_eq!(bodies.len(), 2, "each delivery writes");
    assert_eq!(bodies[0], bodies[1], "the same record, byte for byte");
    assert!(recorder.dead_letters().letters().is_empty());
}

/// The same `event_id` with other values in what the multi layout stores (here `size`, which
/// the id does not cover).
fn other_values_same_id(e: &filetrail_contract::FileMoved) -> filetrail_contract::FileMoved {
    let mut other = e.clone();
    other.size = Some(e.size.unwrap_or(0) + 1);
    assert_eq!(other.event_id, e.event_id);
    other
}

/// In the multi layout a record's values include what `event_id` does not cover, so AWS's
/// rejection of a record with a stored identity (RejectedRecordsException, `ExistingVersion`)
/// means a different event holds the id: a conflict, dead-lettered with both versions and the
/// raw reason, never counted as written.
#[tokio::test]
async fn a_multi_layout_record_rejected_for_its_identity_is_a_conflict() {
    let e = other_values_same_id(&super::event(41));
    let exists = "A record already exists with the same time, dimensions, measure name, and record version. A higher record version must be specified in order to update the measure value.";
    let (recorder, http) = recorder_in(
        Layout::Multi,
        vec![rejected(&[
            json!({"RecordIndex": 0, "Reason": exists, "ExistingVersion": 1}),
        ])],
    )
    .await;
    let (response, counts) = handle(&recorder, &[("m0".into(), envelope(&e))]).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        (counts.written, counts.duplicate, counts.dead_lettered),
        (0, 0, 1)
    );
    assert_eq!(replay::request_bodies(&http).len(), 1, "never sent again");
    let letters = recorder.dead_letters().letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].class.as_str(), "conflict");
    assert!(
        letters[0].reason.contains(exists) && letters[0].reason.contains("stored version 1"),
        "{}",
        letters[0].reason
    );
}

/// Two different events claiming one id in one batch: in the multi layout their records differ,
/// so the first is written and the second dead-lettered as a conflict naming both; in the seed
/// layout (which stores neither's `size`) the records are identical, so it is a copy.
#[tokio::test]
async fn two_events_with_one_id_in_a_batch_are_a_conflict_where_the_records_differ() {
    let mut first = super::event(42);
    first.size = Some(10);
    let second = other_values_same_id(&first);
    let (letter, messages) = second_dead_lettered(&first, &second, "conflict").await;
    assert_eq!(letter.body, messages[1].1, "the original body, for replay");
    let size = |e: &filetrail_contract::FileMoved| format!("\"size\":{}", e.size.unwrap_or(0));
    assert!(
        letter.reason.contains(&first.event_id)
            && letter.reason.contains(&size(&first))
            && letter.reason.contains(&size(&second)),
        "both versions named: {}",
        letter.reason
    );

    one_batch(Layout::Seed, &messages, (1, 1, 0)).await;
}

/// `first` then `second` (one `event_id`) recorded as one batch in the multi layout: the first
/// written in the one call, the second dead-lettered as `class`. Its letter, and the messages.
async fn second_dead_lettered(
    first: &filetrail_contract::FileMoved,
    second: &filetrail_contract::FileMoved,
    class: &str,
) -> (filetrail_recorder::DeadLetter, [(String, String); 2]) {
    let messages = [
        ("m0".to_owned(), envelope(first)),
        ("m1".to_owned(), envelope(second)),
    ];
    let (recorder, bodies) = one_batch(Layout::Multi, &messages, (1, 0, 1)).await;
    assert_eq!(event_ids_in(&bodies[0]), vec![first.event_id.clone()]);
    let mut letters = recorder.dead_letters().letters();
    assert_eq!(letters.len(), 1);
    let letter = letters.remove(0);
    assert_eq!(
        (letter.message_id.as_str(), letter.class.as_str()),
        ("m1", class)
    );
    (letter, messages)
}

/// A later event with the first's id whose own record can never be stored (here its optional
/// fields push the multi record past Timestream's 2 KB) is dead-lettered as invalid with its own
/// reason: never taken for a copy of the first, which is written.
#[tokio::test]
async fn a_later_event_with_the_same_id_whose_record_cannot_be_stored_is_dead_lettered() {
    let mut first = super::event(43);
    first.file_key = format!("{}.bin", "k".repeat(700));
    first.new_file_key = Some(format!("l0/{}.bin", "n".repeat(700)));
    first.stage = None;
    first.event_id = first.to_move().event_id();
    let mut second = first.clone();
    second.trace_id = Some("t".repeat(256));
    second.etag = Some("e".repeat(256));
    second.version_id = Some("v".repeat(256));
    let (letter, _) = second_dead_lettered(&first, &second, "invalid").await;
    assert!(letter.reason.contains("2048"), "{}", letter.reason);
}

/// Record `messages` as one batch in `layout` against a store that takes one call: nothing is
/// handed back, the counts are (written, duplicate, dead-lettered), and one call was made
/// (its body returned).
async fn one_batch(
    layout: Layout,
    messages: &[(String, String)],
    counts: (u64, u64, u64),
) -> (
    Recorder<TimestreamSink<TimestreamWriter>, MemoryDlq>,
    Vec<Value>,
) {
    let (recorder, http) = recorder_in(layout, vec![ingested(1)]).await;
    let (response, got) = handle(&recorder, messages).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((got.written, got.duplicate, got.dead_lettered), counts);
    let bodies = replay::request_bodies(&http);
    assert_eq!(bodies.len(), 1);
    (recorder, bodies)
}

#[tokio::test]
async fn a_time_range_rejection_is_retried_in_the_invocation_before_dead_lettering() {
    let messages = vec![
        ("m0".to_owned(), envelope(&super::event(30))),
        ("m1".to_owned(), envelope(&super::event(31))),
    ];
    // m0: refused once (right after a retention change), then written. m1: refused on every
    // attempt, then dead-lettered with the reason.
    let mut answers = vec![rejected(&[
        json!({"RecordIndex": 0, "Reason": TOO_OLD}),
        json!({"RecordIndex": 1, "Reason": TOO_OLD}),
    ])];
    answers.push(rejected(&[json!({"RecordIndex": 1, "Reason": TOO_OLD})]));
    let attempts = filetrail_recorder::MAX_WRITE_ATTEMPTS;
    for _ in 2..attempts {
        answers.push(rejected(&[json!({"RecordIndex": 0, "Reason": TOO_OLD})]));
    }
    let (recorder, http) = recorder(answers).await;
    let (response, counts) = handle(&recorder, &messages).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        failed_ids(&response)
    );
    assert_eq!((counts.written, counts.dead_lettered), (1, 1));
    assert_eq!(http.actual_requests().count(), attempts as usize);
    let letters = recorder.dead_letters().letters();
    assert_eq!(letters[0].message_id, "m1");
    assert_eq!(letters[0].class.as_str(), "rejected");
    assert!(
        letters[0].reason.contains(TOO_OLD)
            && letters[0].reason.contains("retention change")
            && letters[0]
                .reason
                .contains(&format!("refused {attempts} times")),
        "{}",
        letters[0].reason
    );
}

#[tokio::test]
async fn a_deadline_too_short_hands_the_rest_back_to_sqs() {
    let (_events, messages) = batch(4);
    let throttles = (0..100)
        .map(|_| replay::json_error(429, "ThrottlingException", "Rate exceeded"))
        .collect();
    let (recorder, http) = recorder(throttles).await;
    // Long enough for the SDK's three attempts (their backoff stays under 300 ms), short
    // enough to cut the recorder's rounds.
    let (response, counts, took) =
        handle_within(&recorder, &messages, Duration::from_millis(800)).await;
    assert!(
        took < Duration::from_secs(2),
        "stopped at the deadline: {took:?}"
    );
    assert_eq!(failed_ids(&response), ["m0", "m1", "m2", "m3"]);
    assert_eq!(
        (counts.failed, counts.written, counts.dead_lettered),
        (4, 0, 0)
    );
    let sent = http.actual_requests().count();
    assert!(
        (4..100).contains(&sent),
        "the SDK's attempts, then the recorder's, a bounded number of times: {sent}"
    );
}

#[tokio::test]
async fn endpoint_discovery_only_without_an_endpoint_override() {
    // With an override (AWS_ENDPOINT_URL, the emulator): no DescribeEndpoints, the override is used.
    let http = replay::client(vec![ingested(1)]);
    let client = timestream_client(&replay::sdk_config(&http).await)
        .await
        .expect("client");
    let writer = TimestreamWriter::new(client, "db", "table");
    let record = Layout::Seed.record(&super::event(1)).expect("record");
    writer
        .write_records(Layout::Seed.common_attributes(), vec![record.clone()])
        .await
        .expect("written");
    assert_eq!(
        replay::request_targets(&http),
        ["Timestream_20181101.WriteRecords"]
    );
    assert!(replay::request_uris(&http)[0].starts_with("https://replay.invalid"));

    // Without one (in AWS): DescribeEndpoints first, then WriteRecords to the discovered cell.
    let http = replay::client(vec![
        replay::json_response(
            200,
            &json!({"Endpoints": [{"Address": "ingest-cell2.timestream.us-east-1.amazonaws.com", "CachePeriodInMinutes": 1440}]}),
        ),
        ingested(1),
    ]);
    let client = timestream_client(&replay::sdk_config_without_endpoint(&http))
        .await
        .expect("discovery");
    let writer = TimestreamWriter::new(client, "db", "table");
    writer
        .write_records(Layout::Seed.common_attributes(), vec![record])
        .await
        .expect("written");
    assert_eq!(
        replay::request_targets(&http),
        [
            "Timestream_20181101.DescribeEndpoints",
            "Timestream_20181101.WriteRecords"
        ]
    );
    assert!(
        replay::request_uris(&http)[1]
            .starts_with("https://ingest-cell2.timestream.us-east-1.amazonaws.com"),
        "{:?}",
        replay::request_uris(&http)
    );
}

#[tokio::test]
async fn a_stale_discovered_endpoint_is_discovered_again_then_written() {
    // In AWS: the endpoint discovered at start-up goes stale; Timestream answers
    // InvalidEndpointException (HTTP 421). The recorder discovers again and writes there.
    let cell = |n: u32| {
        replay::json_response(
            200,
            &json!({"Endpoints": [{"Address": format!("ingest-cell{n}.timestream.us-east-1.amazonaws.com"), "CachePeriodInMinutes": 1440}]}),
        )
    };
    let http = replay::client(vec![
        cell(1),
        replay::json_response(
            421,
            &json!({"__type": "com.amazonaws.timestream.v20181101#InvalidEndpointException", "Message": "The requested endpoint is not valid."}),
        ),
        cell(2),
        ingested(1),
    ]);
    let client = timestream_client(&replay::sdk_config_without_endpoint(&http))
        .await
        .expect("discovery");
    let sink = TimestreamSink::new(TimestreamWriter::new(client, "db", "table"), Layout::Seed);
    let settings = super::quick_settings();
    let recorder = Recorder::new(sink, MemoryDlq::default(), settings);
    let (response, counts) = handle(&recorder, &[("m".into(), envelope(&super::event(50)))]).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        failed_ids(&response)
    );
    assert_eq!(counts.written, 1);
    assert_eq!(
        replay::request_targets(&http),
        [
            "Timestream_20181101.DescribeEndpoints",
            "Timestream_20181101.WriteRecords",
            "Timestream_20181101.DescribeEndpoints",
            "Timestream_20181101.WriteRecords"
        ]
    );
    let uris = replay::request_uris(&http);
    assert!(uris[1].starts_with("https://ingest-cell1."), "{uris:?}");
    assert!(uris[3].starts_with("https://ingest-cell2."), "{uris:?}");
}
