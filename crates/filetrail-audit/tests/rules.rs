//! What counts as stuck, unprocessed and unrecorded, on in-process buckets and trail.

use filetrail_audit::memory::{MemoryBuckets, MemoryTrail};
use filetrail_audit::timestream::Sql;
use std::time::Duration;

use filetrail_audit::{Finding, FindingKind, Progress, RECORD_TIME_MARGIN, Report, audit};
use filetrail_recorder::Layout;

use super::{config, l0_key, l0_name, object, put};

const INCOMING: &str = "dev-hermes-incoming";
const EEA: &str = "dev-hermes-eea";
const NMS: &str = "dev-hermes-nemisis";
const L1: &str = "l1/2026/01/01/hermes_eea_l1_20260101T000000_v1.0.0.cdf";

fn sql() -> Sql {
    Sql::new("sdc_aws_logs", "sdc_aws_s3_bucket_log_table", Layout::Seed)
}

async fn run(buckets: &MemoryBuckets, trail: &MemoryTrail) -> Report {
    let calls = std::sync::Mutex::new(0usize);
    let report = audit(&config(), buckets, trail, &|_: &Progress| {
        *calls.lock().expect("lock") += 1;
    })
    .await
    .expect("audit");
    assert!(
        *calls.lock().expect("lock") >= 3,
        "progress after every page"
    );
    report
}

fn kinds(report: &Report) -> Vec<(&str, &str, &str)> {
    report
        .findings
        .iter()
        .map(|f| (f.kind.name(), f.bucket.as_str(), f.key.as_str()))
        .collect()
}

/// A healthy pipeline with one of each problem, and every edge the rules decide.
fn pipeline() -> (MemoryBuckets, MemoryTrail) {
    let mut b = MemoryBuckets::new();
    let mut t = MemoryTrail::new(sql());
    // Incoming: two old files (one parses), one that just landed.
    b.put(INCOMING, object(&l0_name(2), 60));
    b.put(INCOMING, object("notes.txt", 60));
    b.put(INCOMING, object(&l0_name(3), 5));
    // eea: day 1 sorted and processed (its product recorded too).
    b.put(EEA, object(&l0_key(1), 120));
    b.put(EEA, object(L1, 110));
    t.record(put((Some(INCOMING), &l0_name(1)), (EEA, Some(&l0_key(1)))));
    t.record(put((Some(EEA), &l0_key(1)), (EEA, Some(L1))));
    // Day 4 sorted, its processing failed: no record from it.
    b.put(EEA, object(&l0_key(4), 120));
    t.record(put((Some(INCOMING), &l0_name(4)), (EEA, Some(&l0_key(4)))));
    // A producer copied a product in without publishing.
    b.put(
        EEA,
        object("l1/2026/01/05/hermes_eea_l1_20260105T000000_v1.0.0.cdf", 30),
    );
    // Published by `filetrail publish` without a new key: the destination key is file_key.
    b.put(EEA, object("extra/calibration.json", 30));
    t.record(put((None, "extra/calibration.json"), (EEA, None)));
    // Too young to judge; older than --since: neither is checked.
    b.put(EEA, object("l1/2026/01/06/young.cdf", 5));
    b.put(EEA, object(&l0_key(7), 60 * 48));
    // A record of the same key in another bucket does not cover this one.
    b.put(
        NMS,
        object("l1/2026/01/08/hermes_nms_l1_20260108T000000_v1.0.0.cdf", 30),
    );
    t.record(put(
        (None, "x"),
        (
            EEA,
            Some("l1/2026/01/08/hermes_nms_l1_20260108T000000_v1.0.0.cdf"),
        ),
    ));
    (b, t)
}

#[tokio::test]
async fn a_pipeline_with_one_of_each_problem_reports_exactly_those() {
    let (b, t) = pipeline();
    let report = run(&b, &t).await;
    assert_eq!(
        kinds(&report),
        [
            ("stuck", INCOMING, l0_name(2).as_str()),
            ("stuck", INCOMING, "notes.txt"),
            ("unprocessed", EEA, l0_key(4).as_str()),
            (
                "unrecorded",
                EEA,
                "l1/2026/01/05/hermes_eea_l1_20260105T000000_v1.0.0.cdf"
            ),
            (
                "unrecorded",
                NMS,
                "l1/2026/01/08/hermes_nms_l1_20260108T000000_v1.0.0.cdf"
            ),
        ]
    );
    let stuck: Vec<&Finding> = report.findings.iter().take(2).collect();
    assert_eq!(
        stuck[0].kind,
        FindingKind::Stuck {
            parses: Ok(format!("{EEA}/{}", l0_key(2)))
        }
    );
    let FindingKind::Stuck { parses: Err(why) } = &stuck[1].kind else {
        panic!("notes.txt does not parse: {:?}", stuck[1].kind);
    };
    assert!(why.contains("parts"), "{why}");
    assert_eq!(stuck[0].age.as_secs(), 3600);
    let c = report.counts;
    assert_eq!(
        (c.buckets, c.objects, c.checked, c.stuck, c.stuck_unparsable),
        (3, 11, 6, 2, 1)
    );
    assert_eq!((c.unprocessed, c.unrecorded), (1, 2));
    // One lookup per page, eea and nemisis, each a query from a day before the page's oldest
    // object and one over the whole trail for the keys it left without a record.
    assert_eq!((c.trail_queries, t.queries()), (4, 4));
    assert!(!report.is_clean());
}

#[tokio::test]
async fn once_each_problem_is_fixed_the_audit_is_clean() {
    let (mut b, mut t) = pipeline();
    // Sorted (and the unparsable file removed), processed, published.
    b.remove(INCOMING, &l0_name(2));
    b.remove(INCOMING, "notes.txt");
    b.put(EEA, object(&l0_key(2), 60));
    t.record(put((Some(INCOMING), &l0_name(2)), (EEA, Some(&l0_key(2)))));
    t.record(put((Some(EEA), &l0_key(2)), (EEA, Some("l1/2"))));
    t.record(put((Some(EEA), &l0_key(4)), (EEA, Some("l1/4"))));
    let l1_5 = "l1/2026/01/05/hermes_eea_l1_20260105T000000_v1.0.0.cdf";
    t.record(put((Some("producer"), l1_5), (EEA, None)));
    let l1_8 = "l1/2026/01/08/hermes_nms_l1_20260108T000000_v1.0.0.cdf";
    t.record(put((Some(INCOMING), "x.cdf"), (NMS, Some(l1_8))));
    let report = run(&b, &t).await;
    assert_eq!(kinds(&report), Vec::<(&str, &str, &str)>::new());
    assert!(report.is_clean());
    assert!(report.text().contains("clean"), "{}", report.text());
}

#[tokio::test]
async fn a_large_bucket_takes_one_query_per_page_of_keys() {
    let mut b = MemoryBuckets::new();
    b.put(INCOMING, object("done-long-ago", 1));
    b.put(NMS, object("x", 1));
    let mut recorded = MemoryTrail::new(sql());
    for i in 0..2500 {
        let o = object(&format!("l1/{i:05}.cdf"), 60);
        recorded.record_at(
            o.last_modified,
            put((Some("producer"), &o.key), (EEA, None)),
        );
        b.put(EEA, o);
    }
    let report = run(&b, &recorded).await;
    assert!(report.is_clean(), "{}", report.text());
    // 3 listing pages (1000, 1000, 500) → 3 queries; nemisis has nothing in the window.
    assert_eq!((report.counts.trail_queries, recorded.queries()), (3, 3));
    // Nothing recorded: each page's keys are asked a second time, over the whole trail.
    let empty = MemoryTrail::new(sql());
    let report = run(&b, &empty).await;
    assert_eq!(report.counts.unrecorded, 2500);
    assert_eq!((report.counts.trail_queries, empty.queries()), (6, 6));
    // A budget that holds about 100 keys cuts each page into several statements, each within it.
    let small = MemoryTrail::new(sql().with_max_query_bytes(4000));
    let report = run(&b, &small).await;
    assert_eq!(report.counts.unrecorded, 2500);
    assert!(small.queries() > 20, "{}", small.queries());
    assert!(small.statements().iter().all(|q| q.len() <= 4000));
}

#[tokio::test]
async fn a_page_is_asked_from_a_day_before_its_oldest_object_and_an_older_record_is_never_missing()
{
    assert_eq!(RECORD_TIME_MARGIN, Duration::from_secs(24 * 3600));
    let mut b = MemoryBuckets::new();
    b.put(INCOMING, object("done-long-ago", 1));
    b.put(NMS, object("x", 1));
    let mut t = MemoryTrail::new(sql());
    // eea's oldest object in the window was modified two hours ago: the bound is a day before.
    let oldest = object(&l0_key(9), 120);
    let bound = oldest.last_modified - chrono::Duration::days(1);
    let ms = chrono::Duration::milliseconds(1);
    let (at_bound, before, unrecorded) = ("l1/at-bound.cdf", "l1/before.cdf", "l1/never.cdf");
    for key in [at_bound, before, unrecorded] {
        b.put(EEA, object(key, 60));
    }
    b.put(EEA, oldest.clone());
    // Just inside the bound: found by the page's query.
    t.record_at(bound, put((Some("producer"), at_bound), (EEA, None)));
    // Just outside it (a Python stage's source time; a product already stored, recorded with
    // its old time): found only by the second query, so neither is a finding.
    t.record_at(bound - ms, put((Some("producer"), before), (EEA, None)));
    t.record_at(
        oldest.last_modified,
        put((Some(INCOMING), &l0_name(9)), (EEA, Some(&l0_key(9)))),
    );
    t.record_at(bound - ms, put((Some(EEA), &l0_key(9)), (EEA, Some(L1))));
    let report = run(&b, &t).await;
    assert_eq!(kinds(&report), [("unrecorded", EEA, unrecorded)]);
    let statements = t.statements();
    assert_eq!(statements.len(), 2, "{statements:#?}");
    let first = &statements[0];
    assert!(
        first.contains(&format!(
            " AND time >= from_milliseconds({}) AND ",
            bound.timestamp_millis()
        )),
        "{first}"
    );
    // The second: over the whole trail, only the keys the first left without a record.
    let second = &statements[1];
    assert!(!second.contains("time >="), "{second}");
    let l0 = l0_key(9);
    for (key, asked) in [
        (l0.as_str(), true),
        (before, true),
        (unrecorded, true),
        (at_bound, false),
    ] {
        assert_eq!(
            second.contains(&format!("'{key}'")),
            asked,
            "{key}: {second}"
        );
    }
    assert!(
        second.contains(&format!("file_key IN ('{l0}')")),
        "the l0 file asked as a source, its product unseen: {second}"
    );
}

#[tokio::test]
async fn the_report_renders_as_text_and_json() {
    let (b, t) = pipeline();
    let report = run(&b, &t).await;
    let text = report.text();
    assert!(
        text.contains("stuck 2 (1 unparsable), unprocessed 1, unrecorded 2"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "stuck        {INCOMING}/notes.txt  age 1h  not sorted, and never will be"
        )),
        "{text}"
    );
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["clean"], false);
    assert_eq!(json["older_than_s"], 900);
    assert_eq!(json["counts"]["unrecorded"], 2);
    let first = &json["findings"][0];
    assert_eq!(first["kind"], "stuck");
    assert_eq!(first["parses"], true);
    assert_eq!(first["destination"], format!("{EEA}/{}", l0_key(2)));
    assert_eq!(first["age_s"], 3600);
    assert_eq!(first["last_modified"], "2026-12-02T11:00:00.000Z");
    assert_eq!(json["findings"][1]["parses"], false);
    assert!(json["findings"][1]["parse_error"].is_string());
    assert_eq!(json["findings"][2]["kind"], "unprocessed");
    assert!(json["findings"][2]["parses"].is_null());
}

#[tokio::test]
async fn a_missing_bucket_stops_the_audit_with_its_error() {
    let mut b = MemoryBuckets::new();
    b.put(INCOMING, object("a", 1));
    let err = audit(&config(), &b, &MemoryTrail::new(sql()), &|_: &Progress| {})
        .await
        .expect_err("eea is missing");
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");
    assert!(!err.retryable());
}
