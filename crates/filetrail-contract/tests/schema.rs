//! The JSON Schema and the Rust type must agree: every sample goes through both.

use filetrail_contract::{SCHEMA_JSON, parse_body};
use serde_json::{Value, json};

use super::{BARE, BARE_UNICODE, NOW};

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SCHEMA_JSON).expect("schema is JSON");
    jsonschema::draft202012::new(&schema).expect("schema compiles")
}

fn base() -> Value {
    serde_json::from_str(BARE).expect("fixture")
}

fn with(f: impl Fn(&mut Value)) -> Value {
    let mut v = base();
    f(&mut v);
    v
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
    let samples: Vec<(&str, Value)> = vec![
        ("empty key", with(|v| v["file_key"] = json!(""))),
        (
            "2 KB key",
            with(|v| v["file_key"] = json!("k".repeat(2048))),
        ),
        (
            "no bucket",
            with(|v| {
                v["source_bucket"] = Value::Null;
                v["destination_bucket"] = Value::Null;
            }),
        ),
        (
            "buckets absent",
            with(|v| {
                let o = v.as_object_mut().expect("object");
                o.remove("source_bucket");
                o.remove("destination_bucket");
            }),
        ),
        ("COPY", with(|v| v["action_type"] = json!("COPY"))),
        (
            "tagged action",
            with(|v| v["action_type"] = json!({"PUT": null})),
        ),
        (
            "1969",
            with(|v| v["occurred_at"] = json!("1969-12-31T23:59:59.999Z")),
        ),
        (
            "microseconds",
            with(|v| v["occurred_at"] = json!("2024-05-01T12:00:00.123456Z")),
        ),
        (
            "offset",
            with(|v| v["occurred_at"] = json!("2024-05-01T12:00:00.123+02:00")),
        ),
        ("schema_version 2", with(|v| v["schema_version"] = json!(2))),
        ("unknown field", with(|v| v["extra"] = json!(1))),
        (
            "missing event_id",
            with(|v| {
                v.as_object_mut().expect("object").remove("event_id");
            }),
        ),
        (
            "uppercase bucket",
            with(|v| v["source_bucket"] = json!("Hermes")),
        ),
        ("negative size", with(|v| v["size"] = json!(-5))),
        ("empty stage", with(|v| v["stage"] = json!(""))),
        ("key not a string", with(|v| v["file_key"] = json!(7))),
    ];
    for (name, s) in samples {
        assert!(!v.is_valid(&s), "schema rejects {name}");
        assert!(
            parse_body(s.to_string().as_bytes(), NOW).is_err(),
            "rust rejects {name}"
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
        with(|v| v["file_key"] = json!("é".repeat(600))),
        with(|v| v["event_id"] = json!("0123456789abcdef0123456789abcdef")),
        with(|v| v["occurred_at"] = json!("2999-01-01T00:00:00.000Z")),
    ];
    for s in only_rust {
        assert!(v.is_valid(&s));
        assert!(parse_body(s.to_string().as_bytes(), NOW).is_err());
    }
}
