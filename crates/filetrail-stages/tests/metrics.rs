//! `infra/emf-metrics.json` (read by the alarm and dashboard checks in `tests/infra`) says
//! exactly what the sorter and the processor emit.

use filetrail_aws::emf::{DIMENSION, FUNCTION_NAME_ENV, MetricCounts, Metrics, NAMESPACE};
use filetrail_stages::{ProcessCounts, SortCounts};
use serde::Serialize;
use serde_json::{Value, json};

const MANIFEST: &str = include_str!("../../../infra/emf-metrics.json");

/// The counts' fields (from serde) and the EMF line: every field is a metric of the same name,
/// and the manifest lists them in order.
fn check<C: MetricCounts + Serialize + Default>(function: &str, binary: &str) {
    let counts = C::default();
    let metrics: Metrics = counts.metrics(&format!("filetrail-dev-{function}"));
    let manifest: Value = serde_json::from_str(MANIFEST).expect("manifest is JSON");
    let fields: Vec<String> = serde_json::to_value(&counts)
        .expect("counts")
        .as_object()
        .expect("a struct")
        .keys()
        .cloned()
        .collect();
    let line: Value = serde_json::from_str(&metrics.to_line(0)).expect("EMF");
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    let emitted: Vec<&str> = directive["Metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .filter_map(|m| m["Name"].as_str())
        .collect();
    let mut sorted_emitted = emitted.clone();
    sorted_emitted.sort_unstable();
    let mut sorted_fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    sorted_fields.sort_unstable();
    assert_eq!(
        sorted_emitted, sorted_fields,
        "{function}: every count is a metric"
    );
    assert_eq!(C::NAMES, emitted, "{function}: the metrics in field order");
    assert_eq!(
        manifest["functions"][function]["metrics"],
        json!(emitted),
        "infra/emf-metrics.json lists the {function}'s metrics"
    );
    assert_eq!(manifest["functions"][function]["binary"], binary);
    assert!(
        manifest["functions"][function]
            .get("dimension_value")
            .is_none(),
        "the {function} emits its deployed name, no constant"
    );
    assert_eq!(directive["Namespace"], NAMESPACE);
    assert_eq!(manifest["namespace"], NAMESPACE);
    assert_eq!(directive["Dimensions"], json!([[DIMENSION]]));
    assert_eq!(manifest["dimensions"], json!([DIMENSION]));
    assert_eq!(manifest["dimension_value_from"], FUNCTION_NAME_ENV);
    assert_eq!(line[DIMENSION], format!("filetrail-dev-{function}"));
}

#[test]
fn the_metrics_manifest_is_what_the_stages_emit() {
    check::<SortCounts>("sorter", "filetrail-sorter");
    check::<ProcessCounts>("processor", "filetrail-processor");
}
