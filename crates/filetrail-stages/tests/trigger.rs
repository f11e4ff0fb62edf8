//! Invocation payloads in AWS's real shapes.

use filetrail_stages::trigger::decode_notification_key;
use filetrail_stages::{ObjectRef, Trigger, parse_trigger};
use serde_json::{Value, json};

fn parse(json: &str) -> Trigger {
    parse_trigger(&serde_json::from_str::<Value>(json).expect("json")).expect("a trigger")
}

fn one(bucket: &str, key: &str) -> Trigger {
    Trigger::Objects {
        objects: vec![ObjectRef {
            bucket: bucket.into(),
            key: key.into(),
        }],
        ignored: 0,
    }
}

#[test]
fn s3_notification_fixture_names_its_object_with_the_key_decoded() {
    // The aws_lambda_events fixture: bucket "sourcebucket", key "Happy%20Face.jpg".
    assert_eq!(
        parse(super::S3_NOTIFICATION),
        one("sourcebucket", "Happy Face.jpg")
    );
}

#[test]
fn notification_keys_are_form_decoded() {
    let cases = [
        (
            "hermes_eea_l1_20230205T000006_v1.0.0.cdf",
            "hermes_eea_l1_20230205T000006_v1.0.0.cdf",
        ),
        ("red+flower.jpg", "red flower.jpg"),
        (
            "uploads/day+one+%281%29/a%2Bb.bin",
            "uploads/day one (1)/a+b.bin",
        ),
        ("caf%C3%A9.txt", "café.txt"),
        ("100%25.txt", "100%.txt"),
    ];
    for (raw, key) in cases {
        assert_eq!(decode_notification_key(raw).expect("decodes"), key, "{raw}");
        assert_eq!(
            parse_trigger(&super::s3_notification("b-1", raw)).expect("trigger"),
            one("b-1", key)
        );
    }
    assert!(decode_notification_key("%FF%FE").is_err(), "not UTF-8");
}

#[test]
fn several_records_and_non_creation_records() {
    let mut v = super::s3_notification("incoming", "a.bin");
    let mut removed = v["Records"][0].clone();
    removed["eventName"] = "ObjectRemoved:Delete".into();
    let mut second = v["Records"][0].clone();
    second["eventName"] = "ObjectCreated:CompleteMultipartUpload".into();
    second["s3"]["object"]["key"] = "b.bin".into();
    let mut foreign = v["Records"][0].clone();
    foreign["eventSource"] = "aws:sqs".into();
    v["Records"] = json!([v["Records"][0].clone(), removed, second, foreign]);
    assert_eq!(
        parse_trigger(&v).expect("trigger"),
        Trigger::Objects {
            objects: vec![
                ObjectRef {
                    bucket: "incoming".into(),
                    key: "a.bin".into()
                },
                ObjectRef {
                    bucket: "incoming".into(),
                    key: "b.bin".into()
                },
            ],
            ignored: 2,
        }
    );
}

#[test]
fn eventbridge_object_created_names_its_object_as_is() {
    assert_eq!(
        parse(super::OBJECT_CREATED),
        one("amzn-s3-demo-bucket1", "example-key")
    );
    // EventBridge carries the key unencoded: '+' and '%' are part of the name.
    let v = super::object_created("b-1", "a+b %41.bin");
    assert_eq!(
        parse_trigger(&v).expect("trigger"),
        one("b-1", "a+b %41.bin")
    );
}

#[test]
fn other_s3_eventbridge_events_are_ignored() {
    assert_eq!(
        parse(super::OBJECT_DELETED),
        Trigger::Objects {
            objects: vec![],
            ignored: 1
        }
    );
}

#[test]
fn events_without_records_are_sweeps() {
    assert_eq!(parse(super::SCHEDULED_EVENT), Trigger::Sweep);
    assert_eq!(parse("{}"), Trigger::Sweep);
    assert_eq!(parse(r#"{"Records": []}"#), Trigger::Sweep);
}

#[test]
fn malformed_events_are_errors() {
    for bad in [
        json!("a string"),
        json!([1, 2]),
        json!(null),
        json!({"Records": [{"eventName": "ObjectCreated:Put"}]}),
        json!({"Records": "nope"}),
        json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {}}}),
    ] {
        let err = parse_trigger(&bad).expect_err("refused");
        assert!(err.to_string().starts_with("unrecognised event"), "{err}");
    }
}
