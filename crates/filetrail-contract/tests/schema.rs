//! The JSON Schema and the Rust type must agree: every sample goes through both.

use filetrail_contract::{FileMoved, SCHEMA_JSON, parse_body};
use serde_json::{Value, json};

use super::{BARE, BARE_UNICODE, NOW};

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SCHEMA_JSON).expect("schema is JSON");
    jsonschema::draft202012::new(&schema).expect("schema compiles")
}

fn base() -> Value {
    serde_json::from_str(BARE).expect("fixture")
}

/// The fixture changed by `f`, with its `event_id` derived again from the changed fields when
/// they still make an event: so each sample breaks only the rule it is about.
fn with(f: impl Fn(&mut Value)) -> Value {
    let mut v = as_given(f);
    if let Ok(e) = FileMoved::from_json(&v.to_string()) {
        v["event_id"] = json!(e.to_move().event_id());
    }
    v
}

/// The fixture changed by `f`, `event_id` left as it is.
fn as_given(f: impl Fn(&mut Value)) -> Value {
    let mut v = base();
    f(&mut v);
    v
}

/// What Rust says of `s`: the field its first broken rule names.
fn rust_rejects(s: &Value) -> String {
    parse_body(s.to_string().as_bytes(), NOW)
        .map(|_| panic!("rust accepts {s}"))
        .unwrap_or_else(|e| e.field_name().unwrap_or("(no field)").to_owned())
}

#[test]
fn valid_samples_pass_both() {
    let v = validator();
    let samples = [
        base(),
        serde_json::from_str(BARE_UNICODE).expect("fixture"),
        // minimal: optional fields absent
        with(|v| {
            for k in ["stage", "size", "etag"] {
                v.as_object_mut().expect("object").remove(k);
            }
        }),
    ];
    for s in samples {
        assert!(v.is_valid(&s), "schema accepts {s}");
        parse_body(s.to_string().as_bytes(), NOW)
            .unwrap_or_else(|e| panic!("rust accepts {s}: {e}"));
    }
}

#[test]
fn invalid_samples_fail_both() {
    let v = validator();
    let samples: Vec<(&str, &str, Value)> = vec![
        ("empty key", "file_key", with(|v| v["file_key"] = json!(""))),
        (
            "2 KB key",
            "file_key",
            with(|v| v["file_key"] = json!("k".repeat(2048))),
        ),
        (
            "no bucket",
            "source_bucket",
            with(|v| {
                v["source_bucket"] = Value::Null;
                v["destination_bucket"] = Value::Null;
            }),
        ),
        (
            "buckets absent",
            "source_bucket",
            with(|v| {
                let o = v.as_object_mut().expect("object");
                o.remove("source_bucket");
                o.remove("destination_bucket");
            }),
        ),
        (
            "COPY",
            "action_type",
            with(|v| v["action_type"] = json!("COPY")),
        ),
        (
            "tagged action",
            "action_type",
            with(|v| v["action_type"] = json!({"PUT": null})),
        ),
        (
            "1969",
            "occurred_at",
            with(|v| v["occurred_at"] = json!("1969-12-31T23:59:59.999Z")),
        ),
        (
            "microseconds",
            "occurred_at",
            with(|v| v["occurred_at"] = json!("2024-05-01T12:00:00.123456Z")),
        ),
        (
            "offset",
            "occurred_at",
            with(|v| v["occurred_at"] = json!("2024-05-01T12:00:00.123+02:00")),
        ),
        (
            "schema_version 2",
            "schema_version",
            with(|v| v["schema_version"] = json!(2)),
        ),
        ("unknown field", "extra", with(|v| v["extra"] = json!(1))),
        (
            "missing event_id",
            "event_id",
            with(|v| {
                v.as_object_mut().expect("object").remove("event_id");
            }),
        ),
        (
            "uppercase bucket",
            "source_bucket",
            with(|v| v["source_bucket"] = json!("Hermes")),
        ),
        ("negative size", "size", with(|v| v["size"] = json!(-5))),
        ("empty stage", "stage", with(|v| v["stage"] = json!(""))),
        (
            "key not a string",
            "file_key",
            with(|v| v["file_key"] = json!(7)),
        ),
    ];
    for (name, field, s) in samples {
        assert!(!v.is_valid(&s), "schema rejects {name}");
        assert_eq!(
            rust_rejects(&s),
            field,
            "rust rejects {name} for its {field}"
        );
    }
}

#[test]
fn rules_only_rust_can_check_are_documented_in_the_schema() {
    // A schema counts characters, not bytes, cannot see the clock, and cannot hash:
    // the schema's description says so, and these samples show the difference.
    let v = validator();
    let description = serde_json::from_str::<Value>(SCHEMA_JSON).expect("json")["description"]
        .as_str()
        .expect("description")
        .to_owned();
    for rule in ["UTF-8 bytes", "15 minutes", "event_id must equal"] {
        assert!(
            description.contains(rule),
            "schema description mentions {rule}"
        );
    }
    let only_rust = [
        ("file_key", with(|v| v["file_key"] = json!("é".repeat(600)))),
        (
            "event_id",
            as_given(|v| v["event_id"] = json!("0123456789abcdef0123456789abcdef")),
        ),
        (
            "occurred_at",
            with(|v| v["occurred_at"] = json!("2999-01-01T00:00:00.000Z")),
        ),
    ];
    for (field, s) in only_rust {
        assert!(v.is_valid(&s), "the schema cannot see it: {s}");
        assert_eq!(rust_rejects(&s), field);
    }
}
