//! ListObjectsV2 pagination on the emulator: a small `MaxKeys` makes the listing of a few
//! objects several real pages, each continued with the last page's `NextContinuationToken`.

use filetrail_audit::memory::MemoryTrail;
use filetrail_audit::timestream::Sql;
use filetrail_audit::{ObjectSource, Progress, S3Listing, audit};
use filetrail_recorder::Layout;
use filetrail_testkit::{CallCounter, emulator, inventory, unique_name};

use super::config;

/// An S3 client for the emulator (path-style, as `filetrail_stages::s3_client` builds it)
/// counting its requests.
async fn counted_s3() -> (aws_sdk_s3::Client, CallCounter) {
    let sdk = emulator().await;
    let counter = CallCounter::default();
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .interceptor(counter.clone())
            .build(),
    );
    (client, counter)
}

#[tokio::test]
async fn a_bucket_is_listed_in_real_pages_each_continued_from_the_last() {
    let (s3, calls) = counted_s3().await;
    let bucket = unique_name("list");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let keys: Vec<String> = (0..7).map(|i| format!("l1/{i:02}.cdf")).collect();
    for k in &keys {
        inventory::put_object(&s3, &bucket, k, b"x".to_vec()).await;
    }
    let listing = S3Listing::new(s3.clone()).with_page_keys(3);
    let before = calls.count();
    let (mut pages, mut token) = (Vec::new(), None);
    loop {
        let page = listing.page(&bucket, token).await.expect("page");
        pages.push(
            page.objects
                .iter()
                .map(|o| o.key.clone())
                .collect::<Vec<_>>(),
        );
        token = page.next;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(calls.count() - before, 3, "three ListObjectsV2 calls");
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
    assert_eq!(
        pages.concat(),
        keys,
        "every key once, in order, across the pages"
    );
}

#[tokio::test]
async fn an_audit_reads_every_page_of_every_bucket() {
    let (s3, _) = counted_s3().await;
    let mut config = config();
    config.bucket_prefix = format!("{}-", unique_name("pg"));
    config.incoming_bucket = format!("{}hermes-incoming", config.bucket_prefix);
    config.now = chrono::Utc::now() + chrono::Duration::hours(1);
    let buckets = [config.incoming_bucket.clone()]
        .into_iter()
        .chain(config.instrument_buckets());
    for (i, b) in buckets.enumerate() {
        s3.create_bucket().bucket(&b).send().await.expect("bucket");
        for n in 0..(i * 3 + 4) {
            inventory::put_object(&s3, &b, &format!("k{n:02}"), b"x".to_vec()).await;
        }
    }
    let pages = std::sync::Mutex::new(Vec::new());
    let report = audit(
        &config,
        &S3Listing::new(s3).with_page_keys(2),
        &MemoryTrail::new(Sql::new("d", "t", Layout::Seed)),
        &|p: &Progress| pages.lock().expect("lock").push(p.counts.objects),
    )
    .await
    .expect("audit");
    // incoming 4 objects (2 pages), eea 7 (4 pages), nemisis 10 (5 pages).
    assert_eq!(report.counts.objects, 21);
    assert_eq!(report.counts.stuck, 4);
    assert_eq!(report.counts.unrecorded, 17);
    assert_eq!(
        *pages.lock().expect("lock"),
        [2, 4, 6, 8, 10, 11, 13, 15, 17, 19, 21],
        "progress after every page"
    );
}
