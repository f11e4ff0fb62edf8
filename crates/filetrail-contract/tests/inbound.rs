use filetrail_contract::{BodyShape, Delivery, parse_body, parse_body_str};
use serde_json::Value;

use super::{BARE, DEAD_LETTER_FORMS, ENVELOPE, NOW};

#[test]
fn envelope_is_the_primary_form() {
    let inbound = parse_body(ENVELOPE.as_bytes(), NOW).expect("envelope");
    assert_eq!(
        inbound.shape,
        BodyShape::Envelope {
            id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718".into(),
            source: "sdc.sorter".into()
        }
    );
    assert_eq!(inbound.event.event_id, "e2113f9bc4c7f6312abcab98f9e1a139");
    assert_eq!(inbound.event.size, Some(1_048_576));
}

#[test]
fn bare_detail_is_tolerated_and_equal() {
    let bare = parse_body(BARE.as_bytes(), NOW).expect("bare");
    let env = parse_body(ENVELOPE.as_bytes(), NOW).expect("envelope");
    assert_eq!(bare.shape, BodyShape::Bare);
    assert_eq!(bare.event, env.event);
}

#[test]
fn every_dead_letter_form_parses_with_its_delivery() {
    let event: Value = serde_json::from_str(DEAD_LETTER_FORMS).expect("fixture");
    let records = event["Records"].as_array().expect("records");
    let deliveries: Vec<Delivery> = records
        .iter()
        .map(|r| {
            let inbound =
                parse_body_str(r["body"].as_str().expect("body"), NOW).expect("body parses");
            assert_eq!(inbound.event.event_id, "e2113f9bc4c7f6312abcab98f9e1a139");
            Delivery::from_attributes(|name| {
                r["messageAttributes"][name]["stringValue"]
                    .as_str()
                    .or(r["attributes"][name].as_str())
            })
        })
        .collect();
    assert_eq!(deliveries[0], Delivery::Direct);
    assert!(matches!(
        &deliveries[1],
        Delivery::TargetDeadLetter { error_code, rule_arn: Some(rule), target_arn: Some(_), error_message: Some(_) }
            if error_code == "NO_RESOURCE" && rule.ends_with("rule/filetrail/file-moved")
    ));
    assert_eq!(
        deliveries[2],
        Delivery::Redrive {
            source_queue_arn: "arn:aws:sqs:us-east-1:111122223333:filetrail-events".into()
        }
    );
    assert!(
        matches!(&deliveries[3], Delivery::RecorderDeadLetter { reason, class: Some(c) }
        if reason.starts_with("Timestream rejected") && c == "rejected")
    );
    assert_eq!(deliveries[1].reason(), "eventbridge: NO_RESOURCE");
    assert!(
        deliveries[3]
            .reason()
            .starts_with("recorder: Timestream rejected")
    );
}
