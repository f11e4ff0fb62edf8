//! AWS's own example events, kept once for every crate's tests, the demo and the soak, and the
//! one builder of an S3 notification from them.

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

    #[test]
    fn the_scheduled_event_is_a_scheduled_event() {
        let v: Value = serde_json::from_str(SCHEDULED_EVENT).expect("JSON");
        assert_eq!(v["detail-type"], "Scheduled Event");
    }
}
