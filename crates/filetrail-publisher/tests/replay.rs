//! The real EventBridge adapter against replayed responses in AWS's wire shape.

use filetrail_publisher::{EventBridge, PublishError, Publisher};
use filetrail_testkit::replay;
use serde_json::{Value, json};

async fn publisher(
    responses: Vec<http::Response<aws_smithy_types::body::SdkBody>>,
) -> (Publisher<EventBridge>, replay::Replay) {
    let http = replay::client(responses);
    let sdk = replay::sdk_config(&http).await;
    let client = aws_sdk_eventbridge::Client::new(&sdk);
    let p = Publisher::new(
        EventBridge::new(client, "filetrail-bus"),
        super::config("filetrail-bus"),
    )
    .with_backoff(super::fast_backoff());
    (p, http)
}

fn entry_ids(body: &Value) -> Vec<String> {
    body["Entries"]
        .as_array()
        .expect("Entries")
        .iter()
        .map(|e| {
            let detail: Value =
                serde_json::from_str(e["Detail"].as_str().expect("Detail")).expect("detail json");
            detail["event_id"].as_str().expect("event_id").to_owned()
        })
        .collect()
}

#[tokio::test]
async fn only_retryable_failed_entries_are_sent_again() {
    let events = super::events(5);
    let ids: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
    let (p, http) = publisher(vec![
        replay::json_response(200, &json!({
            "FailedEntryCount": 3,
            "Entries": [
                {"EventId": "11111111-1111-1111-1111-111111111111"},
                {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded."},
                {"ErrorCode": "InternalFailure", "ErrorMessage": "Internal failure."},
                {"ErrorCode": "InvalidArgument", "ErrorMessage": "Parameter Detail is not valid."},
                {"EventId": "55555555-5555-5555-5555-555555555555"}
            ]
        })),
        replay::json_response(200, &json!({
            "FailedEntryCount": 1,
            "Entries": [
                {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded."},
                {"EventId": "33333333-3333-3333-3333-333333333333"}
            ]
        })),
        replay::json_response(200, &json!({
            "FailedEntryCount": 0,
            "Entries": [{"EventId": "22222222-2222-2222-2222-222222222222"}]
        })),
    ])
    .await;

    let err = p.publish(&events).await.expect_err("one entry is invalid");
    let PublishError::Failed { failures, report } = err;
    assert_eq!(report.delivered, 4);
    assert_eq!(report.calls, 3);
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].event_id, ids[3]);
    assert_eq!(failures[0].code, "InvalidArgument");
    assert_eq!(failures[0].message, "Parameter Detail is not valid.");

    let bodies = replay::request_bodies(&http);
    assert_eq!(bodies.len(), 3);
    assert_eq!(entry_ids(&bodies[0]), ids);
    assert_eq!(
        entry_ids(&bodies[1]),
        vec![ids[1].clone(), ids[2].clone()],
        "only the retryable ones"
    );
    assert_eq!(
        entry_ids(&bodies[2]),
        vec![ids[1].clone()],
        "never an entry that already succeeded"
    );
    let first = &bodies[0]["Entries"][0];
    assert_eq!(first["EventBusName"], "filetrail-bus");
    assert_eq!(first["Source"], "sdc.test");
    assert_eq!(first["DetailType"], "FileMoved");
    let detail: Value =
        serde_json::from_str(first["Detail"].as_str().expect("detail")).expect("json");
    assert_eq!(
        detail,
        serde_json::to_value(&events[0]).expect("event json")
    );
    let target = http
        .actual_requests()
        .next()
        .expect("request")
        .headers()
        .get("x-amz-target")
        .map(str::to_owned);
    assert_eq!(target.as_deref(), Some("AWSEvents.PutEvents"));
}

/// A failed entry is sent again only with one of AWS's two retryable entry codes: the codes
/// that make a whole call retryable (`InternalException`, `ServiceUnavailable`) are not entry
/// codes AWS lists as retryable, and an entry that carries one is final.
#[tokio::test]
async fn an_entry_is_sent_again_only_with_a_retryable_entry_code() {
    assert_eq!(
        filetrail_aws::PUT_EVENTS_RETRYABLE_ENTRY_CODES,
        ["ThrottlingException", "InternalFailure"]
    );
    let events = super::events(2);
    let (p, http) = publisher(vec![replay::json_response(
        200,
        &json!({
            "FailedEntryCount": 2,
            "Entries": [
                {"ErrorCode": "InternalException", "ErrorMessage": "m"},
                {"ErrorCode": "ServiceUnavailable", "ErrorMessage": "m"}
            ]
        }),
    )])
    .await;
    let PublishError::Failed { failures, report } = p.publish(&events).await.expect_err("final");
    assert_eq!((report.calls, report.retried), (1, 0));
    assert_eq!(
        failures.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(),
        ["InternalException", "ServiceUnavailable"]
    );
    assert_eq!(http.actual_requests().count(), 1);
}

#[tokio::test]
async fn call_level_throttling_is_retried_and_access_denied_is_not() {
    let events = super::events(2);
    let (p, http) = publisher(vec![
        replay::json_error(400, "ThrottlingException", "Rate exceeded"),
        replay::json_error(
            500,
            "InternalException",
            "We encountered an internal error.",
        ),
        replay::json_response(
            200,
            &json!({"FailedEntryCount": 0, "Entries": [{"EventId": "a"}, {"EventId": "b"}]}),
        ),
    ])
    .await;
    let report = p.publish(&events).await.expect("retried to success");
    assert_eq!(report.delivered, 2);
    assert_eq!(http.actual_requests().count(), 3);

    let (p, http) = publisher(vec![replay::json_error(
        400,
        "AccessDeniedException",
        "User is not authorized to perform: events:PutEvents",
    )])
    .await;
    let PublishError::Failed { failures, .. } = p.publish(&events).await.expect_err("denied");
    assert_eq!(
        http.actual_requests().count(),
        1,
        "a permanent error is not retried"
    );
    assert_eq!(failures.len(), 2);
    assert!(failures.iter().all(|f| f.code == "AccessDeniedException"));
}

#[tokio::test]
async fn retries_stop_at_the_deadline_and_report_the_last_code() {
    let events = super::events(1);
    let throttled = || {
        replay::json_response(
            200,
            &json!({"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded."}]}),
        )
    };
    let (p, http) = publisher((0..200).map(|_| throttled()).collect()).await;
    let p = p.with_deadline(std::time::Duration::from_millis(100));
    let PublishError::Failed { failures, report } = p.publish(&events).await.expect_err("deadline");
    assert_eq!(report.delivered, 0);
    assert_eq!(failures[0].code, "ThrottlingException");
    assert!(
        failures[0].message.contains("deadline"),
        "{}",
        failures[0].message
    );
    let sent = http.actual_requests().count();
    assert!(
        (2..200).contains(&sent),
        "retried a bounded number of times: {sent}"
    );
}
