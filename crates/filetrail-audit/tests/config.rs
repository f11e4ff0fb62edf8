//! The audit's configuration: the duration syntax and the two windows' defaults.

use std::time::Duration;

use filetrail_audit::config::{ENV_OLDER_THAN, ENV_SINCE, format_duration};
use filetrail_audit::{AuditConfig, DEFAULT_OLDER_THAN, DEFAULT_SINCE, parse_duration};
use filetrail_aws::Env;
use filetrail_stages::config::{ENV_INCOMING_BUCKET, ENV_INSTRUMENTS};

#[test]
fn durations_read_as_seconds_minutes_hours_or_days() {
    for (text, secs) in [
        ("90s", 90),
        ("15m", 900),
        ("24h", 86_400),
        ("7d", 604_800),
        ("900", 900),
        (" 0s ", 0),
    ] {
        assert_eq!(
            parse_duration(text),
            Ok(Duration::from_secs(secs)),
            "{text}"
        );
    }
    for bad in ["", "soon", "15x", "m", "-5m", "1.5h", "99999999999999999d"] {
        assert!(parse_duration(bad).is_err(), "{bad:?} must be refused");
    }
    for d in [0, 59, 60, 3600, 86_400, 90_061] {
        let d = Duration::from_secs(d);
        assert_eq!(parse_duration(&format_duration(d)), Ok(d));
    }
    assert_eq!(format_duration(Duration::from_secs(900)), "15m");
}

fn env(vars: &'static [(&'static str, &'static str)]) -> Env<'static> {
    Env::from_fn(move |k| {
        [
            (ENV_INCOMING_BUCKET, "hermes-incoming"),
            (ENV_INSTRUMENTS, "eea"),
        ]
        .iter()
        .chain(vars)
        .find(|(n, _)| *n == k)
        .map(|(_, v)| (*v).to_owned())
    })
}

#[test]
fn the_windows_default_to_15_minutes_and_24_hours_and_a_bad_value_names_its_variable() {
    let now = chrono::Utc::now();
    let c = AuditConfig::from_env(&env(&[]), now).expect("config");
    assert_eq!((c.older_than, c.since), (DEFAULT_OLDER_THAN, DEFAULT_SINCE));
    assert_eq!(
        (DEFAULT_OLDER_THAN, DEFAULT_SINCE),
        (Duration::from_secs(15 * 60), Duration::from_secs(24 * 3600))
    );
    let c = AuditConfig::from_env(&env(&[(ENV_OLDER_THAN, "1h"), (ENV_SINCE, "7d")]), now)
        .expect("config");
    assert_eq!(
        (c.older_than, c.since),
        (Duration::from_secs(3600), Duration::from_secs(7 * 86_400))
    );
    let e = AuditConfig::from_env(&env(&[(ENV_SINCE, "a week")]), now).expect_err("refused");
    assert_eq!(e.var, ENV_SINCE);
}
