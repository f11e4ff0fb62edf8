//! `infra/emf-metrics.json` (read by the alarm and dashboard checks in `tests/infra`) says
//! exactly what the recorder emits.

use filetrail_aws::emf::{DIMENSION, FUNCTION_NAME_ENV, NAMESPACE};
use filetrail_recorder::{Counts, Lag};
use serde_json::Value;

const MANIFEST: &str = include_str!("../../../infra/emf-metrics.json");

#[test]
fn the_metrics_manifest_is_what_the_recorder_emits() {
    let manifest: Value = serde_json::from_str(MANIFEST).expect("manifest is JSON");
    // Every field, each with its own value: a new field must be named here (the literal does
    // not compile without it) and emitted under its name.
    let counts = Counts {
        received: 11,
        written: 12,
        duplicate: 13,
        retried: 14,
        dead_lettered: 15,
        failed: 16,
        lag: Lag {
            max_ms: Some(17),
            p50_ms: Some(18),
            oldest_message_age_ms: Some(19),
        },
    };
    let fields = [
        ("received", 11),
        ("written", 12),
        ("duplicate", 13),
        ("retried", 14),
        ("dead_lettered", 15),
        ("failed", 16),
        ("recording_lag_max_ms", 17),
        ("recording_lag_p50_ms", 18),
        ("oldest_message_age_ms", 19),
    ];
    let line: Value =
        serde_json::from_str(&counts.metrics("filetrail-dev-recorder").to_line(0)).expect("EMF");
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    let emitted: Vec<&str> = directive["Metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .filter_map(|m| m["Name"].as_str())
        .collect();
    for (name, value) in fields {
        assert_eq!(line[name].as_u64(), Some(value), "{name} is emitted");
    }
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    assert_eq!(emitted, names);
    assert_eq!(
        manifest["functions"]["recorder"]["metrics"],
        serde_json::json!(names),
        "infra/emf-metrics.json lists the recorder's metrics"
    );
    assert_eq!(
        manifest["functions"]["recorder"]["binary"],
        "filetrail-recorder"
    );
    assert_eq!(directive["Namespace"], NAMESPACE);
    assert_eq!(manifest["namespace"], NAMESPACE);
    assert_eq!(directive["Dimensions"], serde_json::json!([[DIMENSION]]));
    assert_eq!(manifest["dimensions"], serde_json::json!([DIMENSION]));
    assert_eq!(line[DIMENSION], "filetrail-dev-recorder");
    assert_eq!(manifest["dimension_value_from"], FUNCTION_NAME_ENV);
}
