//! `infra/emf-metrics.json` (read by the alarm and dashboard checks in `tests/infra`) says
//! exactly what the sorter and the processor emit.

use filetrail_aws::emf::{MetricCounts, Metrics};
use filetrail_stages::{ProcessCounts, SortCounts};
use serde::Serialize;

/// The counts' fields (from serde) and the EMF line: every field is a metric of the same name,
/// and the manifest lists them in order.
fn check<C: MetricCounts + Serialize + Default>(function: &str, binary: &str) {
    let counts = C::default();
    let metrics: Metrics = counts.metrics(&format!("filetrail-dev-{function}"));
    let fields: Vec<String> = serde_json::to_value(&counts)
        .expect("counts")
        .as_object()
        .expect("a struct")
        .keys()
        .cloned()
        .collect();
    let (_, emitted) = filetrail_testkit::emf::check(&metrics.to_line(0), function, binary);
    let mut sorted_emitted = emitted.clone();
    sorted_emitted.sort_unstable();
    let mut sorted_fields = fields;
    sorted_fields.sort_unstable();
    assert_eq!(
        sorted_emitted, sorted_fields,
        "{function}: every count is a metric"
    );
    assert_eq!(C::NAMES, emitted, "{function}: the metrics in field order");
}

#[test]
fn the_metrics_manifest_is_what_the_stages_emit() {
    check::<SortCounts>("sorter", "filetrail-sorter");
    check::<ProcessCounts>("processor", "filetrail-processor");
}
