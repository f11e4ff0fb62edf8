//! `infra/emf-metrics.json` (read by the alarm and dashboard checks in `tests/infra`) says
//! exactly what the recorder emits.

use filetrail_aws::emf::MetricCounts;
use filetrail_recorder::{Counts, Lag};

#[test]
fn the_metrics_manifest_is_what_the_recorder_emits() {
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
    let (line, emitted) = filetrail_testkit::emf::check(
        &counts.metrics("filetrail-dev-recorder").to_line(0),
        "recorder",
        "filetrail-recorder",
    );
    for (name, value) in fields {
        assert_eq!(line[name].as_u64(), Some(value), "{name} is emitted");
    }
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    assert_eq!(emitted, names);
}
