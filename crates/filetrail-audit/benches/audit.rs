//! Audit figures for BENCHMARKS.md: `cargo bench -p filetrail-audit --bench audit`, read by
//! `scripts/bench.py` (`--only audit` rewrites that section alone).
//!
//! One audit of 100,000 objects in an instrument bucket (a quarter level-0 files with their
//! products recorded, 4,000 objects unrecorded, 1,000 level-0 files without products, of which
//! 876 have names that parse: a name whose seconds pass 59 is no science name) and
//! 100 stuck files in incoming, through the in-process stand-ins of `filetrail_audit::memory`:
//! the listing pages as ListObjectsV2 does (1,000 keys), and the trail cuts each lookup into
//! the SQL statements Timestream would receive. Figures: objects per second, trail queries
//! per 1,000 objects and bytes per query, at Timestream's query limit and at a 16 KiB one.
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use filetrail_audit::memory::{MemoryBuckets, MemoryTrail};
use filetrail_audit::timestream::Sql;
use filetrail_audit::{AuditConfig, Progress, StoredObject, TrailRecord, audit};
use filetrail_recorder::Layout;
use filetrail_stages::NameRules;

const OBJECTS: usize = 100_000;
const ROUNDS: u32 = 5;
const EEA: &str = "hermes-eea";
const INCOMING: &str = "hermes-incoming";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn config() -> AuditConfig {
    AuditConfig {
        rules: NameRules::new("hermes", NameRules::parse_instruments("eea").unwrap()).unwrap(),
        incoming_bucket: INCOMING.into(),
        bucket_prefix: String::new(),
        older_than: Duration::from_secs(15 * 60),
        since: Duration::from_secs(24 * 3600),
        now: now(),
    }
}

fn object(key: String, minutes: i64) -> StoredObject {
    StoredObject {
        key,
        last_modified: now() - chrono::Duration::minutes(minutes),
        size: 1 << 20,
    }
}

fn put(from: (&str, &str), to: (&str, &str)) -> TrailRecord {
    TrailRecord {
        source_bucket: Some(from.0.into()),
        file_key: from.1.into(),
        destination_bucket: Some(to.0.into()),
        new_file_key: Some(to.1.into()),
    }
}

fn pipeline(sql: Sql) -> (MemoryBuckets, MemoryTrail) {
    let mut b = MemoryBuckets::new();
    let mut t = MemoryTrail::new(sql);
    for i in 0..100 {
        b.put(
            INCOMING,
            object(format!("hermes_eea_l0_2026001-{i:06}_v01.bin"), 60),
        );
    }
    let files = OBJECTS / 4;
    for i in 0..files {
        let (day, sec) = (i % 365 + 1, i / 365);
        let date = chrono::NaiveDate::from_yo_opt(2026, u32::try_from(day).unwrap()).unwrap();
        let dir = date.format("%Y/%m/%d");
        let name = format!("hermes_eea_l0_2026{day:03}-{sec:06}_v01.bin");
        let l0 = format!("l0/{dir}/{name}");
        b.put(EEA, object(l0.clone(), 600));
        if i % 25 != 0 {
            t.record(put((INCOMING, &name), (EEA, &l0)));
        }
        for level in ["l1", "ql", "l2"] {
            let p = format!(
                "{level}/{dir}/hermes_eea_{level}_{}T{sec:06}_v1.0.0.cdf",
                date.format("%Y%m%d")
            );
            b.put(EEA, object(p.clone(), 590));
            if i % 25 != 1 {
                t.record(put((EEA, &l0), (EEA, &p)));
            }
        }
    }
    (b, t)
}

async fn run(label: &str, sql: Sql) {
    let (b, t) = pipeline(sql);
    let mut best = Duration::MAX;
    let mut report = None;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let r = audit(&config(), &b, &t, &|_: &Progress| {}).await.unwrap();
        best = best.min(start.elapsed());
        report = Some(r);
    }
    let r = report.unwrap();
    let c = r.counts;
    let per_round = |n: usize| n as f64 / f64::from(ROUNDS);
    println!(
        "audit {label}: {} objects ({} checked) in {:.1} ms: {:.0} objects/s; {} trail queries = {:.2} per 1,000 objects, {:.0} bytes per query; stuck {}, unprocessed {}, unrecorded {}",
        c.objects,
        c.checked,
        best.as_secs_f64() * 1e3,
        c.objects as f64 / best.as_secs_f64(),
        c.trail_queries,
        c.trail_queries as f64 * 1000.0 / c.objects as f64,
        per_round(t.query_bytes()) / per_round(t.queries()),
        c.stuck,
        c.unprocessed,
        c.unrecorded
    );
}

fn main() {
    let Some(rt) = filetrail_testkit::bench::runtime() else {
        return;
    };
    let sql = || Sql::new("sdc_aws_logs", "sdc_aws_s3_bucket_log_table", Layout::Seed);
    rt.block_on(run("(Timestream's query limit (262,144))", sql()));
    rt.block_on(run(
        "(a 16 KiB query limit)",
        sql().with_max_query_bytes(16 * 1024),
    ));
}
