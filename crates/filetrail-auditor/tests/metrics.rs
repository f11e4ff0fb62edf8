//! `infra/emf-metrics.json` (read by the alarm and dashboard checks in `tests/infra`) says
//! exactly what the auditor emits.

use filetrail_audit::Counts;
use filetrail_auditor::metrics;
use filetrail_aws::emf::{DIMENSION, FUNCTION_NAME_ENV, NAMESPACE};
use serde_json::{Value, json};

const MANIFEST: &str = include_str!("../../../infra/emf-metrics.json");

#[test]
fn the_metrics_manifest_is_what_the_auditor_emits() {
    let manifest: Value = serde_json::from_str(MANIFEST).expect("manifest is JSON");
    let counts = Counts {
        stuck: 3,
        stuck_unparsable: 1,
        unprocessed: 4,
        unrecorded: 5,
        objects: 600,
        ..Counts::default()
    };
    let line: Value =
        serde_json::from_str(&metrics(&counts, "filetrail-dev-auditor").to_line(0)).expect("EMF");
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    let emitted: Vec<&str> = directive["Metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .filter_map(|m| m["Name"].as_str())
        .collect();
    assert_eq!(
        emitted,
        [
            "stuck_files",
            "unprocessed_files",
            "unrecorded_files",
            "audited_objects"
        ]
    );
    for (name, value) in [
        ("stuck_files", 3),
        ("unprocessed_files", 4),
        ("unrecorded_files", 5),
        ("audited_objects", 600),
    ] {
        assert_eq!(
            line[name].as_u64(),
            Some(value),
            "{name} is the report's count"
        );
    }
    assert_eq!(
        manifest["functions"]["auditor"]["metrics"],
        json!(emitted),
        "infra/emf-metrics.json lists the auditor's metrics"
    );
    assert_eq!(
        manifest["functions"]["auditor"]["binary"],
        "filetrail-auditor"
    );
    assert!(
        manifest["functions"]["auditor"]
            .get("dimension_value")
            .is_none()
    );
    assert_eq!(directive["Namespace"], NAMESPACE);
    assert_eq!(directive["Dimensions"], json!([[DIMENSION]]));
    assert_eq!(line[DIMENSION], "filetrail-dev-auditor");
    assert_eq!(manifest["dimension_value_from"], FUNCTION_NAME_ENV);
}
