//! One function's EMF line checked against `infra/emf-metrics.json`, the manifest the alarm and
//! dashboard checks in `tests/infra` read: each function's metrics test calls [`check`].

use filetrail_aws::emf::{DIMENSION, FUNCTION_NAME_ENV, NAMESPACE};
use serde_json::{Value, json};

/// The metrics manifest, as committed.
pub const MANIFEST: &str = include_str!("../../../infra/emf-metrics.json");

/// Check the EMF `line` of the function the manifest calls `function`, built as `binary` and
/// deployed as `filetrail-dev-{function}`: its namespace and dimension are filetrail's, the
/// dimension's value is the deployed name (no constant in the manifest), and the manifest lists
/// exactly the metrics it emits, in order. Returns the parsed line and the emitted names.
pub fn check(line: &str, function: &str, binary: &str) -> (Value, Vec<String>) {
    let manifest: Value = serde_json::from_str(MANIFEST).expect("manifest is JSON");
    let line: Value = serde_json::from_str(line).expect("an EMF line is JSON");
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    let emitted: Vec<String> = directive["Metrics"]
        .as_array()
        .expect("a metric list")
        .iter()
        .filter_map(|m| m["Name"].as_str().map(str::to_owned))
        .collect();
    let entry = &manifest["functions"][function];
    assert_eq!(
        entry["metrics"],
        json!(emitted),
        "infra/emf-metrics.json lists the {function}'s metrics"
    );
    assert_eq!(entry["binary"], binary);
    assert!(
        entry.get("dimension_value").is_none(),
        "the {function} emits its deployed name, no constant"
    );
    assert_eq!(directive["Namespace"], NAMESPACE);
    assert_eq!(manifest["namespace"], NAMESPACE);
    assert_eq!(directive["Dimensions"], json!([[DIMENSION]]));
    assert_eq!(manifest["dimensions"], json!([DIMENSION]));
    assert_eq!(manifest["dimension_value_from"], FUNCTION_NAME_ENV);
    assert_eq!(line[DIMENSION], format!("filetrail-dev-{function}"));
    (line, emitted)
}
