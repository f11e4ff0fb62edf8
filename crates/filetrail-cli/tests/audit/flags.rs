//! `filetrail audit`'s flags and defaults through the binary on the emulator: the default
//! windows, flags winning over the variables, `--inventory` read instead of a listing (and
//! refused for the incoming bucket).

use chrono::{SecondsFormat, Utc};
use filetrail_audit::config::{ENV_OLDER_THAN, ENV_SINCE};
use filetrail_recorder::SEED_MEASURE_NAME;
use filetrail_recorder::config::{ENV_DATABASE, ENV_TABLE};
use filetrail_stages::config::{
    ENV_BUCKET_PREFIX, ENV_INCOMING_BUCKET, ENV_INSTRUMENTS, ENV_MISSION,
};
use filetrail_testkit::front::Front;
use filetrail_testkit::timestream_query::{QUERY, audit_trail};
use filetrail_testkit::{emulator, endpoint, inventory, pipeline, unique_name};
use serde_json::Value;

use super::{filetrail, filetrail_via, findings, l0, l0_key};

/// Fresh incoming and eea buckets under a fresh prefix: (prefix, incoming, eea, S3 client).
async fn buckets() -> (String, String, String, aws_sdk_s3::Client) {
    let s3 = filetrail_stages::s3_client(&emulator().await);
    let b = pipeline::mission_buckets(&s3, "f").await;
    (b.prefix, b.incoming, b.instrument, s3)
}

/// An hour from now, for `--now`: what lands now is an hour old then.
fn in_an_hour() -> String {
    (Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The exit code, the JSON report (Null when there is none) and standard error of `cmd`.
async fn run(mut cmd: tokio::process::Command) -> (Option<i32>, Value, String) {
    let out = cmd.output().await.expect("run");
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), report, stderr)
}

#[tokio::test]
async fn the_windows_default_to_15_minutes_and_24_hours_and_flags_win_over_the_variables() {
    let (prefix, incoming, eea, s3) = buckets().await;
    inventory::put_object(&s3, &incoming, &l0(20), b"waiting".to_vec()).await;
    let now = in_an_hour();

    // The variables alone: the stages' names, no windows set.
    let mut cmd = filetrail();
    cmd.env(ENV_MISSION, "hermes")
        .env(ENV_INSTRUMENTS, "eea")
        .env(ENV_BUCKET_PREFIX, &prefix)
        .env(ENV_INCOMING_BUCKET, &incoming)
        .env_remove(ENV_OLDER_THAN)
        .env_remove(ENV_SINCE)
        .args(["--json", "audit", "--now", &now]);
    let (code, report, stderr) = run(cmd).await;
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(
        (report["older_than_s"].as_u64(), report["since_s"].as_u64()),
        (Some(15 * 60), Some(24 * 3600)),
        "{report}"
    );

    // Variables naming another mission's buckets and other windows...
    let other = |cmd: &mut tokio::process::Command| {
        cmd.env(ENV_MISSION, "padre")
            .env(ENV_INSTRUMENTS, "meddea")
            .env(ENV_BUCKET_PREFIX, "nowhere-")
            .env(ENV_INCOMING_BUCKET, unique_name("nowhere"))
            .env(ENV_OLDER_THAN, "2h")
            .env(ENV_SINCE, "7d");
    };
    let mut cmd = filetrail();
    other(&mut cmd);
    cmd.args(["--json", "audit", "--now", &now]);
    let (code, _, stderr) = run(cmd).await;
    assert_eq!(
        code,
        Some(1),
        "the variables' buckets do not exist: {stderr}"
    );
    assert!(stderr.contains("NoSuchBucket"), "{stderr}");

    // ...lose to the flags.
    let mut cmd = filetrail();
    other(&mut cmd);
    cmd.args(["--json", "audit", "--now", &now])
        .args(["--mission", "hermes", "--instruments", "eea"])
        .args(["--bucket-prefix", &prefix, "--incoming-bucket", &incoming])
        .args(["--older-than", "30m", "--since", "2h"]);
    let (code, report, stderr) = run(cmd).await;
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(
        (report["older_than_s"].as_u64(), report["since_s"].as_u64()),
        (Some(30 * 60), Some(2 * 3600)),
        "{report}"
    );
    assert_eq!(report["counts"]["buckets"], 2, "incoming and eea: {report}");
    let stuck = &report["findings"][0];
    assert_eq!(stuck["bucket"], incoming.as_str(), "{report}");
    assert_eq!(
        stuck["destination"],
        format!("{eea}/{}", l0_key(20)),
        "the flags' mission, instrument and prefix name the destination"
    );
}

#[tokio::test]
async fn an_inventory_report_is_read_instead_of_a_listing_and_one_of_incoming_is_refused() {
    let (prefix, incoming, eea, s3) = buckets().await;
    let sdk = emulator().await;
    let (database, table) = (unique_name("inv"), pipeline::TABLE.to_owned());
    pipeline::timestream_table(&sdk, &database, &table)
        .await
        .expect("table");
    let front = Front::start(
        &endpoint(),
        vec![(QUERY, audit_trail(&database, &table, SEED_MEASURE_NAME))],
    )
    .await;
    // The bucket holds an object the report does not list; the report lists one it no longer
    // holds. Only the report's is audited.
    inventory::put_object(&s3, &eea, "l1/listed-only.cdf", b"x".to_vec()).await;
    let modified = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let csv = inventory::row(&eea, "l1/reported%20only.cdf", true, false, &modified);
    let report_of_eea = inventory::report(&s3, &eea, inventory::SCHEMA, &[&csv], "CSV").await;
    let audit = |manifest: &str| {
        let mut cmd = filetrail_via(front.url());
        cmd.env(ENV_MISSION, "hermes")
            .env(ENV_INSTRUMENTS, "eea")
            .env(ENV_BUCKET_PREFIX, &prefix)
            .env(ENV_INCOMING_BUCKET, &incoming)
            .env(ENV_DATABASE, &database)
            .env(ENV_TABLE, &table)
            .args(["--json", "audit", "--now", &in_an_hour()])
            .args(["--inventory", manifest]);
        cmd
    };
    let (code, report, stderr) = run(audit(&report_of_eea)).await;
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(
        findings(&report),
        [(
            "unrecorded".into(),
            "l1/reported only.cdf".into(),
            Value::Null
        )],
        "{report}"
    );
    assert_eq!(report["counts"]["objects"], 1, "{report}");
    assert_eq!(
        report["counts"]["trail_queries"], 2,
        "the page from its bound, then its unrecorded key over the whole trail: {report}"
    );
    assert_eq!(
        front.answered(QUERY),
        4,
        "two queries, each an empty page, then its rows"
    );

    // A report of the incoming bucket is refused: a snapshot would show files sorted since as
    // stuck.
    let report_of_incoming = inventory::report(&s3, &incoming, inventory::SCHEMA, &[], "CSV").await;
    let (code, _, stderr) = run(audit(&report_of_incoming)).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "IncomingInventory: --inventory names a report of the incoming bucket {incoming}"
        )),
        "{stderr}"
    );
}
