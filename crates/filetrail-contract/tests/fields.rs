//! `FileMoved`'s optional fields are listed in four places that must agree: the type, the JSON
//! Schema's properties, `record::OPTIONAL_FIELDS` and `record::optional_fields`. Adding a field
//! to one fails here until every one has it (the Python side has its own check,
//! `python/tests/test_conformance.py`, against the same schema).

use std::collections::BTreeSet;

use filetrail_contract::record::{OPTIONAL_FIELDS, optional_fields};
use filetrail_contract::{FileMoved, SCHEMA_JSON};
use serde_json::{Value, json};

use super::BARE;

/// The schema's properties in order, and its optional ones: neither required nor nullable (the
/// nullable ones, the buckets and `new_file_key`, are the move itself).
fn schema_fields() -> (Vec<String>, BTreeSet<String>) {
    let schema: Value = serde_json::from_str(SCHEMA_JSON).expect("the schema is JSON");
    let required: BTreeSet<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .map(|v| v.as_str().expect("a name"))
        .collect();
    let resolve = |p: &Value| -> Value {
        match p["$ref"].as_str() {
            Some(r) => schema["$defs"][r.trim_start_matches("#/$defs/")].clone(),
            None => p.clone(),
        }
    };
    let properties = schema["properties"].as_object().expect("properties");
    let optional = properties
        .iter()
        .filter(|(name, p)| {
            let nullable = resolve(p)["type"]
                .as_array()
                .is_some_and(|t| t.contains(&json!("null")));
            !required.contains(name.as_str()) && !nullable
        })
        .map(|(name, _)| name.clone())
        .collect();
    (properties.keys().cloned().collect(), optional)
}

/// The fixture with every optional property of the schema set (a value of its schema type).
fn full_detail(optional: &BTreeSet<String>) -> Value {
    let schema: Value = serde_json::from_str(SCHEMA_JSON).expect("the schema is JSON");
    let mut detail: Value = serde_json::from_str(BARE).expect("fixture");
    for name in optional {
        let p = &schema["properties"][name];
        let integer = p["type"] == "integer";
        detail[name] = if integer { json!(7) } else { json!("x") };
    }
    detail
}

/// The optional fields of the type, and whether `e` carries each. The destructuring is
/// exhaustive on purpose (no `..`): a new field of `FileMoved` stops this test compiling until
/// it is named here, as a field of the move (`_`) or an optional one (in the list).
fn optional_fields_of_the_type(e: &FileMoved) -> Vec<(&'static str, bool)> {
    let FileMoved {
        schema_version: _,
        event_id: _,
        file_key: _,
        new_file_key: _,
        source_bucket: _,
        destination_bucket: _,
        action_type: _,
        occurred_at: _,
        stage,
        size,
        etag,
        version_id,
        trace_id,
    } = e;
    vec![
        ("stage", stage.is_some()),
        ("size", size.is_some()),
        ("etag", etag.is_some()),
        ("version_id", version_id.is_some()),
        ("trace_id", trace_id.is_some()),
    ]
}

#[test]
fn every_optional_field_is_in_the_type_the_schema_and_the_record_vocabulary() {
    let (properties, optional) = schema_fields();
    let listed: BTreeSet<String> = OPTIONAL_FIELDS.iter().map(|&f| f.to_owned()).collect();
    assert_eq!(
        listed, optional,
        "record::OPTIONAL_FIELDS and the schema's optional properties"
    );

    let detail = full_detail(&optional);
    let full = FileMoved::from_json(&detail.to_string())
        .unwrap_or_else(|e| panic!("FileMoved reads every property of the schema: {e}"));
    let of_type = optional_fields_of_the_type(&full);
    let names: BTreeSet<String> = of_type.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(
        names, optional,
        "FileMoved's optional fields and the schema's"
    );
    for (name, set) in of_type {
        assert!(
            set,
            "{name}: the schema's property does not reach the field"
        );
    }

    let written = serde_json::to_value(&full).expect("serializes");
    let keys: BTreeSet<String> = written
        .as_object()
        .expect("object")
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        properties.into_iter().collect::<BTreeSet<_>>(),
        "a full FileMoved writes exactly the schema's properties"
    );

    let recorded: Vec<&str> = optional_fields(&full).map(|(name, _)| name).collect();
    assert_eq!(
        recorded, OPTIONAL_FIELDS,
        "record::optional_fields yields every optional field, in OPTIONAL_FIELDS' order"
    );
}
