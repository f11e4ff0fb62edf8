use filetrail_contract::{ContractError, FileMoved, OccurredAt, parse_body};
use serde_json::{Value, json};

use super::{BARE, ENVELOPE, NOW};

/// Mutate the bare fixture, then parse it bare and inside the envelope; both must fail naming
/// `field` (the envelope form as `detail.<field>`). Returns the bare error.
fn rejected(field: &str, mutate: impl Fn(&mut Value)) -> ContractError {
    let mut bare: Value = serde_json::from_str(BARE).expect("fixture");
    mutate(&mut bare);
    let err = parse_body(bare.to_string().as_bytes(), NOW).expect_err("must be rejected");
    assert_eq!(err.field_name(), Some(field), "bare: {err}");
    assert!(
        err.to_string().starts_with(&format!("{field}: ")),
        "message names the field: {err}"
    );

    let mut env: Value = serde_json::from_str(ENVELOPE).expect("fixture");
    env["detail"] = bare;
    let err2 = parse_body(env.to_string().as_bytes(), NOW).expect_err("must be rejected");
    assert_eq!(
        err2.field_name(),
        Some(format!("detail.{field}").as_str()),
        "envelope: {err2}"
    );
    err
}

#[test]
fn fixtures_are_valid() {
    parse_body(ENVELOPE.as_bytes(), NOW).expect("envelope");
    parse_body(BARE.as_bytes(), NOW).expect("bare");
    parse_body(super::BARE_UNICODE.as_bytes(), NOW).expect("unicode delete");
}

#[test]
fn empty_key() {
    let e = rejected("file_key", |v| v["file_key"] = json!(""));
    assert!(e.to_string().contains("must not be empty"), "{e}");
}

#[test]
fn two_kilobyte_key() {
    let e = rejected("file_key", |v| v["file_key"] = json!("k".repeat(2048)));
    assert_eq!(
        e.to_string(),
        "file_key: is 2048 bytes of UTF-8; the limit is 1024 bytes"
    );
}

#[test]
fn key_limit_counts_bytes_not_characters() {
    // 513 two-byte characters: 513 characters, 1026 bytes.
    let e = rejected("new_file_key", |v| {
        v["new_file_key"] = json!("é".repeat(513))
    });
    assert_eq!(
        e.to_string(),
        "new_file_key: is 1026 bytes of UTF-8; the limit is 1024 bytes"
    );
}

#[test]
fn neither_bucket() {
    let e = rejected("source_bucket", |v| {
        v["source_bucket"] = Value::Null;
        v["destination_bucket"] = Value::Null;
    });
    assert!(
        e.to_string()
            .contains("at least one of source_bucket and destination_bucket"),
        "{e}"
    );
}

#[test]
fn bad_bucket_name() {
    rejected("destination_bucket", |v| {
        v["destination_bucket"] = json!("Hermes_EEA")
    });
    rejected("source_bucket", |v| v["source_bucket"] = json!("ab"));
}

#[test]
fn action_type_copy() {
    let e = rejected("action_type", |v| v["action_type"] = json!("COPY"));
    assert!(
        e.to_string().contains("COPY") && e.to_string().contains("PUT"),
        "{e}"
    );
}

#[test]
fn action_type_is_only_a_string() {
    // serde's externally tagged enum form is not the schema's enum, and a wrong JSON type names
    // the field instead of calling the body "not JSON".
    for v in [
        json!({"PUT": null}),
        json!({"DELETE": null}),
        json!({}),
        json!(["PUT"]),
        json!(7),
        Value::Null,
    ] {
        let e = rejected("action_type", |d| d["action_type"] = v.clone());
        assert!(e.to_string().contains("expected a string"), "{v}: {e}");
    }
}

/// The values of the JSON object `text` in the order the text lists them (a `serde_json::Map`
/// sorts them by key).
pub fn values_in_order(text: &str) -> Vec<Value> {
    struct InOrder(Vec<Value>);
    struct Visit;
    impl<'de> serde::de::Visitor<'de> for Visit {
        type Value = InOrder;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<InOrder, A::Error> {
            let mut out = Vec::new();
            while let Some((_, v)) = map.next_entry::<serde::de::IgnoredAny, Value>()? {
                out.push(v);
            }
            Ok(InOrder(out))
        }
    }
    impl<'de> serde::Deserialize<'de> for InOrder {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(Visit)
        }
    }
    serde_json::from_str::<InOrder>(text).expect("an object").0
}

#[test]
fn a_detail_is_an_object_not_an_array_of_its_fields() {
    // A derived struct would also read a JSON array of its fields in declaration order.
    // The fixture's values in declaration order (as `FileMoved` serializes), then `null` for
    // the two optional fields the fixture leaves out (`version_id`, `trace_id`).
    let bare = FileMoved::from_json(BARE).expect("fixture");
    let mut values = values_in_order(&bare.to_json());
    assert_eq!(values.len(), 11, "{values:?}");
    values.extend([Value::Null, Value::Null]);
    for array in [Value::Array(values), json!([]), json!([1, 2])] {
        let e = FileMoved::from_json(&format!(" {array}")).expect_err("an array is not a detail");
        assert_eq!(e.field_name(), Some("detail"), "{array}: {e}");
    }
    let mut env: Value = serde_json::from_str(ENVELOPE).expect("fixture");
    env["detail"] = json!([1, 2]);
    let e = parse_body(env.to_string().as_bytes(), NOW).expect_err("refused");
    assert_eq!(e.field_name(), Some("detail.detail"), "{e}");
    assert!(matches!(
        FileMoved::from_json("[1,"),
        Err(ContractError::NotJson { .. })
    ));
}

#[test]
fn timestamp_in_1969() {
    let e = rejected("occurred_at", |v| {
        v["occurred_at"] = json!("1969-12-31T23:59:59.999Z")
    });
    assert!(e.to_string().contains("before 1970"), "{e}");
}

#[test]
fn timestamp_twenty_minutes_in_the_future() {
    let future = OccurredAt::from_millis(NOW.millis() + 20 * 60 * 1000);
    let e = rejected("occurred_at", |v| {
        v["occurred_at"] = json!(future.to_string())
    });
    assert!(e.to_string().contains("15 minutes"), "{e}");
    // 14 minutes is fine for the time rule (the event_id then no longer matches: a later rule).
    let near = OccurredAt::from_millis(NOW.millis() + 14 * 60 * 1000);
    rejected("event_id", |v| v["occurred_at"] = json!(near.to_string()));
}

#[test]
fn timestamp_precision_and_zone() {
    for bad in [
        "2024-05-01T12:00:00.1234Z",
        "2024-05-01T12:00:00.123+02:00",
        "2024-05-01 12:00:00.123Z",
        "2024-05-01T12:00:00.123",
        "2024-02-30T12:00:00.123Z",
        "1714564800123",
    ] {
        let e = rejected("occurred_at", |v| v["occurred_at"] = json!(bad));
        assert!(e.to_string().contains("RFC 3339 UTC"), "{bad}: {e}");
    }
    let e = rejected("occurred_at", |v| {
        v["occurred_at"] = json!(1_714_564_800_123_i64)
    });
    assert!(e.to_string().contains("invalid type"), "{e}");
}

#[test]
fn python_isoformat_is_accepted() {
    // datetime.isoformat(timespec="milliseconds") writes +00:00: the same instant as Z.
    let a = OccurredAt::parse("2024-05-01T12:00:00.123+00:00").expect("python form");
    let b = OccurredAt::parse("2024-05-01T12:00:00.123Z").expect("Z form");
    assert_eq!(a, b);
    assert_eq!(
        OccurredAt::parse("2024-05-01T12:00:00.1Z")
            .expect("1 digit")
            .millis()
            % 1000,
        100
    );
    assert_eq!(b.to_string(), "2024-05-01T12:00:00.123Z");
}

#[test]
fn schema_version_and_unknown_fields() {
    rejected("schema_version", |v| v["schema_version"] = json!(2));
    let e = rejected("occured_at", |v| v["occured_at"] = json!("typo"));
    assert!(e.to_string().contains("unknown field"), "{e}");
    let e = rejected("file_key", |v| v["file_key"] = json!(42));
    assert!(e.to_string().contains("expected a string"), "{e}");
    let e = rejected("file_key", |v| {
        v.as_object_mut().expect("object").remove("file_key");
    });
    assert!(e.to_string().contains("missing field `file_key`"), "{e}");
}

#[test]
fn event_id_must_be_the_derived_one() {
    let e = rejected("event_id", |v| {
        v["event_id"] = json!("00000000000000000000000000000000")
    });
    assert!(
        e.to_string().contains("e2113f9bc4c7f6312abcab98f9e1a139"),
        "error shows the expected id: {e}"
    );
}

#[test]
fn optional_text_limits() {
    rejected("stage", |v| v["stage"] = json!(""));
    rejected("trace_id", |v| v["trace_id"] = json!("t".repeat(257)));
    rejected("size", |v| v["size"] = json!(-1));
}

#[test]
fn not_utf8_and_not_json() {
    let mut bytes = BARE.as_bytes().to_vec();
    bytes[10] = 0xff;
    let e = parse_body(&bytes, NOW).expect_err("invalid utf-8");
    assert_eq!(e, ContractError::NotUtf8 { offset: 10 });
    assert!(e.to_string().starts_with("body: not valid UTF-8"), "{e}");

    for body in ["", "not json", "{\"detail\": ", "{\"schema_version\":1,}"] {
        let e = parse_body(body.as_bytes(), NOW).expect_err("not json");
        assert!(matches!(e, ContractError::NotJson { .. }), "{body:?}: {e}");
        assert!(e.to_string().starts_with("body: not JSON"), "{e}");
    }
    for body in ["[1,2]", "\"s\"", "{}", "{\"hello\":1}"] {
        let e = parse_body(body.as_bytes(), NOW).expect_err("wrong shape");
        assert!(
            matches!(e, ContractError::UnknownShape { .. }),
            "{body:?}: {e}"
        );
    }
}

#[test]
fn envelope_with_other_detail_type() {
    let mut env: Value = serde_json::from_str(ENVELOPE).expect("fixture");
    env["detail-type"] = json!("Object Created");
    let e = parse_body(env.to_string().as_bytes(), NOW).expect_err("wrong detail-type");
    assert_eq!(e.field_name(), Some("detail-type"));
}

#[test]
fn a_key_of_exactly_the_limit_is_accepted_one_byte_more_is_not() {
    let mut v: Value = serde_json::from_str(BARE).expect("fixture");
    v["file_key"] = json!("k".repeat(1024));
    let e = FileMoved::from_json(&v.to_string()).expect("an event");
    v["event_id"] = json!(e.to_move().event_id());
    parse_body(v.to_string().as_bytes(), NOW).expect("1024 bytes is the limit, inclusive");
    let e = rejected("file_key", |v| v["file_key"] = json!("k".repeat(1025)));
    assert_eq!(
        e.to_string(),
        "file_key: is 1025 bytes of UTF-8; the limit is 1024 bytes"
    );
}
