//! AWS's own example events, kept once for every crate's tests, the demo and the soak, and the
//! one builder of an S3 notification and of a `FileMoved` envelope.

use filetrail_contract::{DETAIL_TYPE, FileMoved};
use serde_json::{Value, json};

/// AWS's documented SQS → Lambda event (aws_lambda_events' `example-sqs-event.json`).
pub const SQS_EVENT: &str = include_str!("../fixtures/sqs-event.json");
/// AWS's documented S3 `ObjectCreated:Put` notification (aws_lambda_events'
/// `example-s3-event.json`, bucket and key made filetrail's).
pub const S3_EVENT: &str = include_str!("../fixtures/s3-event.json");
/// AWS's documented scheduled EventBridge event (aws_lambda_events'
/// `example-eventbridge-schedule.json`): what a schedule rule sends, a sweep for the sorter.
pub const SCHEDULED_EVENT: &str = include_str!("../fixtures/eventbridge-schedule.json");
/// An EventBridge envelope around a valid `FileMoved` detail, as an SQS target receives it
/// (the contract's own fixture, not a copy).
pub const ENVELOPE: &str = include_str!("../../filetrail-contract/tests/fixtures/envelope.json");

/// The `source` the sorter publishes under: the envelopes' default.
pub const SORTER_SOURCE: &str = "sdc.sorter";

/// The EventBridge envelope an SQS target receives for `detail`, published by the sorter
/// ([`envelope_from`] with [`SORTER_SOURCE`]).
pub fn envelope(detail: &FileMoved) -> String {
    envelope_from(detail, SORTER_SOURCE)
}

/// The EventBridge envelope an SQS target receives for `detail` published under `source`: the
/// fields of AWS's example ([`ENVELOPE`]) in its order, the `id` `env-<event_id>` (one per event),
/// the `time` the move's. The one builder of an envelope for every crate's tests and benches;
/// written straight from the event (no `serde_json::Value` tree), so a bench's 10,000 cost
/// little.
pub fn envelope_from(detail: &FileMoved, source: &str) -> String {
    #[derive(serde::Serialize)]
    struct Envelope<'a> {
        version: &'a str,
        id: String,
        #[serde(rename = "detail-type")]
        detail_type: &'a str,
        source: &'a str,
        account: &'a str,
        time: String,
        region: &'a str,
        resources: [&'a str; 0],
        detail: &'a FileMoved,
    }
    serde_json::to_string(&Envelope {
        version: "0",
        id: format!("env-{}", detail.event_id),
        detail_type: DETAIL_TYPE,
        source,
        account: "111122223333",
        time: detail.occurred_at.to_string(),
        region: "us-east-1",
        resources: [],
        detail,
    })
    .unwrap_or_else(|e| panic!("an envelope is JSON: {e}"))
}

/// [`S3_EVENT`] naming `bucket` and `raw_key`, the key as the notification carries it
/// (form-encoded: [`form_encode`]).
pub fn s3_notification(bucket: &str, raw_key: &str) -> Value {
    let mut event: Value =
        serde_json::from_str(S3_EVENT).unwrap_or_else(|e| panic!("the S3 fixture is JSON: {e}"));
    let r = &mut event["Records"][0];
    r["s3"]["bucket"]["name"] = json!(bucket);
    r["s3"]["bucket"]["arn"] = json!(format!("arn:aws:s3:::{bucket}"));
    r["s3"]["object"]["key"] = json!(raw_key);
    event
}

/// The notification S3 sends when `key` (`size` bytes) is written to `bucket` at `event_time`
/// (RFC 3339): [`s3_notification`] with the key form-encoded as S3 encodes it.
pub fn s3_put(bucket: &str, key: &str, size: u64, event_time: &str) -> Value {
    let mut event = s3_notification(bucket, &form_encode(key));
    let r = &mut event["Records"][0];
    r["eventTime"] = json!(event_time);
    r["s3"]["object"]["size"] = json!(size);
    event
}

/// A key as S3 notifications carry it: form-encoded (a space is `+`, other bytes outside
/// `A-Za-z0-9-_./*` are `%XX`).
pub fn form_encode(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_put_notification_carries_its_key_form_encoded() {
        let event = s3_put(
            "hermes-incoming",
            "day one (1)/a+b.bin",
            7,
            "2024-05-01T12:00:00.000Z",
        );
        let r = &event["Records"][0];
        assert_eq!(r["s3"]["object"]["key"], "day+one+%281%29/a%2Bb.bin");
        assert_eq!(r["s3"]["bucket"]["arn"], "arn:aws:s3:::hermes-incoming");
        assert_eq!(
            (r["s3"]["object"]["size"].as_u64(), r["eventTime"].as_str()),
            (Some(7), Some("2024-05-01T12:00:00.000Z"))
        );
        assert_eq!(
            r["eventName"], "ObjectCreated:Put",
            "the rest is AWS's example"
        );
    }

    /// The built envelope has exactly the keys of AWS's example, and the contract reads it as
    /// the event it carries.
    #[test]
    fn a_built_envelope_has_the_shape_of_aws_example_and_carries_its_event() {
        let example: Value = serde_json::from_str(ENVELOPE).expect("JSON");
        let detail = FileMoved::from_json(&example["detail"].to_string()).expect("a FileMoved");
        let built: Value =
            serde_json::from_str(&envelope_from(&detail, "sdc.processor")).expect("JSON");
        let keys =
            |v: &Value| -> Vec<String> { v.as_object().expect("object").keys().cloned().collect() };
        assert_eq!(keys(&built), keys(&example));
        assert_eq!(built["source"], "sdc.processor");
        assert_eq!(built["id"], format!("env-{}", detail.event_id));
        assert_eq!(built["time"], detail.occurred_at.to_string());
        assert_eq!(
            FileMoved::from_json(&built["detail"].to_string()).expect("a FileMoved"),
            detail
        );
    }

    #[test]
    fn the_scheduled_event_is_a_scheduled_event() {
        let v: Value = serde_json::from_str(SCHEDULED_EVENT).expect("JSON");
        assert_eq!(v["detail-type"], "Scheduled Event");
    }
}
