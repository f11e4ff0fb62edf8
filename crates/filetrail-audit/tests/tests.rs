//! The audit's integration tests (one binary): the audit's rules on in-process stand-ins, the
//! Timestream adapter on replayed Query responses, the S3 Inventory reader on the emulator.

mod config;
mod influx;
mod inventory;
mod listing;
mod rules;
mod timestream;

use std::time::Duration;

use chrono::{DateTime, Utc};
use filetrail_audit::{AuditConfig, StoredObject, TrailRecord};
use filetrail_stages::NameRules;

/// The audit's fixed "now".
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

/// Mission `hermes`, instruments `eea` and `nemisis:nms`, prefix `dev-`, default windows.
pub fn config() -> AuditConfig {
    AuditConfig {
        rules: NameRules::new(
            "hermes",
            NameRules::parse_instruments("eea,nemisis:nms").expect("instruments"),
        )
        .expect("rules"),
        incoming_bucket: "dev-hermes-incoming".into(),
        bucket_prefix: "dev-".into(),
        older_than: Duration::from_secs(15 * 60),
        since: Duration::from_secs(24 * 3600),
        now: now(),
    }
}

/// An object modified `minutes` before [`now`].
pub fn object(key: &str, minutes: i64) -> StoredObject {
    StoredObject {
        key: key.into(),
        last_modified: now() - chrono::Duration::minutes(minutes),
        size: 10,
    }
}

/// A recorded `PUT` from `from` (bucket, key) to `to` (bucket, new key or none).
pub fn put(from: (Option<&str>, &str), to: (&str, Option<&str>)) -> TrailRecord {
    TrailRecord {
        source_bucket: from.0.map(str::to_owned),
        file_key: from.1.into(),
        destination_bucket: Some(to.0.into()),
        new_file_key: to.1.map(str::to_owned),
    }
}

/// Each finding as (kind, key), in the report's order.
pub fn found(report: &filetrail_audit::Report) -> Vec<(&str, &str)> {
    report
        .findings
        .iter()
        .map(|f| (f.kind.name(), f.key.as_str()))
        .collect()
}

/// A level-0 file name of instrument `eea` on day `day` of 2026.
pub fn l0_name(day: u32) -> String {
    format!("hermes_eea_l0_2026{day:03}-000000_v01.bin")
}

/// Where the sorter puts [`l0_name`].
pub fn l0_key(day: u32) -> String {
    let date = chrono::NaiveDate::from_yo_opt(2026, day).expect("day");
    format!("l0/{}/{}", date.format("%Y/%m/%d"), l0_name(day))
}
