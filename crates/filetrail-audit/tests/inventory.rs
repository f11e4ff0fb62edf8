//! S3 Inventory reports read from the emulator: a `manifest.json` and gzip CSV data files in
//! AWS's documented format
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html>).

use filetrail_audit::memory::{MemoryBuckets, MemoryTrail};
use filetrail_audit::timestream::Sql;
use filetrail_audit::{Inventoried, ObjectSource, Progress, S3Url, audit};
use filetrail_recorder::Layout;
use filetrail_testkit::inventory::{self, SCHEMA, gzip, put_object};

use super::{config, l0_key, object, put};

const EEA: &str = "dev-hermes-eea";

async fn s3() -> aws_sdk_s3::Client {
    filetrail_stages::s3_client(&filetrail_testkit::emulator().await)
}

/// A report of `EEA` in a fresh destination bucket (the test kit's, in AWS's format).
async fn report(s3: &aws_sdk_s3::Client, schema: &str, files: &[&str], format: &str) -> S3Url {
    inventory::report(s3, EEA, schema, files, format)
        .await
        .parse()
        .expect("url")
}

fn row(key: &str, latest: bool, marker: bool, modified: &str) -> String {
    inventory::row(EEA, key, latest, marker, modified)
}

#[tokio::test]
async fn a_report_lists_the_current_objects_with_their_keys_decoded() {
    let s3 = s3().await;
    let l0 = l0_key(1);
    let files = [
        row(&l0, true, false, "2026-12-02T11:00:00.000Z")
            + &row(
                "l1/with+space%2Bplus%C3%A9.cdf",
                true,
                false,
                "2026-12-02T10:00:00.000Z",
            ),
        row(
            "l1/old-version.cdf",
            false,
            false,
            "2026-12-01T10:00:00.000Z",
        ) + &row("l1/deleted.cdf", true, true, "2026-12-02T09:00:00.000Z"),
    ];
    let url = report(&s3, SCHEMA, &[&files[0], &files[1]], "CSV").await;
    let source = Inventoried::load(s3.clone(), MemoryBuckets::new(), &[url])
        .await
        .expect("manifest");
    let first = source.page(EEA, None).await.expect("page 1");
    let keys: Vec<&str> = first.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, [l0.as_str(), "l1/with space+plusé.cdf"]);
    assert_eq!(
        first.objects[0].last_modified,
        super::now() - chrono::Duration::hours(1)
    );
    assert_eq!(first.objects[0].size, 10);
    let second = source.page(EEA, first.next).await.expect("page 2");
    assert!(
        second.objects.is_empty(),
        "noncurrent versions and delete markers are left out"
    );
    assert_eq!(second.next, None);
    let manifest = source.manifest(EEA).expect("manifest");
    assert!(manifest.data_bucket().starts_with("inv-"), "{manifest:?}");
    assert_eq!(
        manifest.created().map(|t| t.timestamp_millis()),
        Some(inventory::CREATED_MS)
    );
}

#[tokio::test]
async fn an_audit_reads_an_inventoried_bucket_and_lists_the_others() {
    let s3 = s3().await;
    let l0 = l0_key(1);
    let csv = row(&l0, true, false, "2026-12-02T11:00:00.000Z")
        + &row(
            "l1/unannounced.cdf",
            true,
            false,
            "2026-12-02T11:00:00.000Z",
        );
    let url = report(&s3, SCHEMA, &[&csv], "CSV").await;
    let mut listed = MemoryBuckets::new();
    listed.put("dev-hermes-incoming", object("a", 1));
    listed.put("dev-hermes-nemisis", object("b", 60 * 48));
    let mut trail = MemoryTrail::new(Sql::new("d", "t", Layout::Seed));
    trail.record(put((Some("dev-hermes-incoming"), "x"), (EEA, Some(&l0))));
    let source = Inventoried::load(s3, listed, &[url])
        .await
        .expect("manifest");
    let report = audit(&config(), &source, &trail, &|_: &Progress| {})
        .await
        .expect("audit");
    assert_eq!(
        super::found(&report),
        [
            ("unprocessed", l0.as_str()),
            ("unrecorded", "l1/unannounced.cdf")
        ]
    );
    assert_eq!(report.counts.objects, 4);
}

#[tokio::test]
async fn a_damaged_or_unreadable_report_is_refused_with_the_reason() {
    let s3 = s3().await;
    // Not CSV.
    let url = report(&s3, SCHEMA, &[], "Parquet").await;
    let err = Inventoried::load(s3.clone(), MemoryBuckets::new(), &[url])
        .await
        .expect_err("parquet");
    assert!(err.message.contains("only CSV"), "{err}");
    // No LastModifiedDate column.
    let url = report(&s3, "Bucket, Key, Size", &[], "CSV").await;
    let err = Inventoried::load(s3.clone(), MemoryBuckets::new(), &[url])
        .await
        .expect_err("no dates");
    assert!(err.message.contains("LastModifiedDate"), "{err}");
    // A data file whose bytes are not the manifest's.
    let url = report(
        &s3,
        SCHEMA,
        &[&row("k", true, false, "2026-12-02T11:00:00.000Z")],
        "CSV",
    )
    .await;
    let source = Inventoried::load(s3.clone(), MemoryBuckets::new(), std::slice::from_ref(&url))
        .await
        .expect("manifest");
    let key = source.manifest(EEA).expect("manifest").files[0].key.clone();
    put_object(&s3, &url.bucket, &key, gzip("\"x\",\"tampered\"\n")).await;
    let err = source.page(EEA, None).await.expect_err("md5");
    assert!(err.message.contains("MD5"), "{err}");
    // A manifest that is not there.
    let missing: S3Url = format!("s3://{}/nope/manifest.json", url.bucket)
        .parse()
        .expect("url");
    let err = Inventoried::load(s3, MemoryBuckets::new(), &[missing])
        .await
        .expect_err("missing");
    assert_eq!(
        (err.operation, err.code.as_str()),
        ("GetObject", "NoSuchKey")
    );
}
