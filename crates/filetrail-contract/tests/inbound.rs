use filetrail_contract::{
    BodyShape, ContractError, Delivery, FileMoved, parse_body, parse_body_str, parse_event_str,
};
use serde_json::{Value, json};

use super::validation::values_in_order;
use super::{BARE, DEAD_LETTER_FORMS, ENVELOPE, NOW};

/// Bodies of every kind: valid in each shape (escaped strings included), and invalid in the ways
/// the one-pass reading of an envelope must leave to the shape-reading path.
fn bodies() -> Vec<String> {
    let env: Value = serde_json::from_str(ENVELOPE).expect("fixture");
    let bare = FileMoved::from_json(BARE).expect("fixture");
    let mut values = values_in_order(&bare.to_json());
    values.extend([Value::Null, Value::Null]);
    let with = |key: &str, value: Value| {
        let mut e = env.clone();
        e[key] = value;
        e.to_string()
    };
    let mut stale = env.clone();
    stale["detail"]["file_key"] = json!("hermes_eea_l0_2024100-000000_v02.bin");
    let mut unknown = env.clone();
    unknown["detail"]["colour"] = json!("blue");
    vec![
        ENVELOPE.to_owned(),
        BARE.to_owned(),
        with("source", json!("sdc.\"quoted\"é")),
        with("id", json!("line\nbreak")),
        with("detail", Value::Array(values)),
        with("detail", json!(null)),
        with("detail-type", json!("FileCopied")),
        with("detail-type", json!(7)),
        with("source", json!(7)),
        stale.to_string(),
        unknown.to_string(),
        "{\"detail-type\":\"FileMoved\",\"detail\":{}}".to_owned(),
        "[]".to_owned(),
        // A struct's derive also reads an array of its fields; an envelope is an object.
        format!("[{},\"FileMoved\"]", env["detail"]),
        format!("[{},\"FileMoved\",\"x\",\"y\"]", env["detail"]),
        // A field the shape-reading path declares, repeated.
        format!(
            "{{\"detail\":{},\"detail-type\":\"FileMoved\",\"schema_version\":1,\"schema_version\":1}}",
            env["detail"]
        ),
        "not json".to_owned(),
    ]
}

/// The recorder's reading (the event only, one pass over a valid envelope) says exactly what
/// the full reading says, for every body, valid or not; and only the first four bodies are
/// valid (the one pass accepts nothing the shape-reading path refuses).
#[test]
fn the_event_alone_is_read_as_the_full_body_is() {
    for (i, body) in bodies().into_iter().enumerate() {
        let full = parse_body_str(&body, NOW).map(|inbound| inbound.event);
        assert_eq!(parse_event_str(&body, NOW), full, "{body}");
        assert_eq!(full.is_ok(), i < 4, "body {i}: {body}: {full:?}");
    }
}

/// Strings with escapes (read owned, not borrowed) keep their value in the shape.
#[test]
fn an_escaped_source_is_read_whole() {
    let body = &bodies()[2];
    let inbound = parse_body_str(body, NOW).expect("valid");
    assert!(
        matches!(&inbound.shape, BodyShape::Envelope { source, .. } if source == "sdc.\"quoted\"é"),
        "{:?}",
        inbound.shape
    );
}

/// A detail given as an array of its values in field order, which a derived struct would read,
/// is refused on every path.
#[test]
fn an_array_detail_is_refused() {
    let body = &bodies()[4];
    let e = parse_event_str(body, NOW).expect_err("an array is not a detail");
    assert!(matches!(e, ContractError::Field { .. }), "{e}");
    assert_eq!(e.field_name(), Some("detail.detail"), "{e}");
}

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
