//! `infra/emf-metrics.json` (read by the alarm and dashboard checks in `tests/infra`) says
//! exactly what the auditor emits.

use filetrail_audit::Counts;
use filetrail_auditor::{AuditCounts, metrics};
use filetrail_aws::emf::MetricCounts;

#[test]
fn the_metrics_manifest_is_what_the_auditor_emits() {
    let counts = Counts {
        stuck: 3,
        stuck_unparsable: 1,
        unprocessed: 4,
        unrecorded: 5,
        objects: 600,
        ..Counts::default()
    };
    let (line, emitted) = filetrail_testkit::emf::check(
        &metrics(&counts, "filetrail-dev-auditor").to_line(0),
        "auditor",
        "filetrail-auditor",
    );
    let fields = [
        ("stuck_files", 3),
        ("unprocessed_files", 4),
        ("unrecorded_files", 5),
        ("audited_objects", 600),
    ];
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    assert_eq!(emitted, names);
    assert_eq!(
        AuditCounts::NAMES,
        names,
        "the counts! struct's fields are the metric names"
    );
    for (name, value) in fields {
        assert_eq!(
            line[name].as_u64(),
            Some(value),
            "{name} is the report's count"
        );
    }
}
