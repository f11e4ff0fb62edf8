//! S3 Inventory reports written to the emulator in AWS's format: a `manifest.json` (`sourceBucket`,
//! `destinationBucket` as an ARN, `version`, `creationTimestamp`, `fileFormat`, `fileSchema`,
//! `files[]` with `key`, `size`, `MD5checksum`) and gzip-compressed CSV data files in a fresh
//! destination bucket
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html>).

use std::io::Write;

use md5::{Digest, Md5};

/// The columns of a report with versions (`fileSchema`).
pub const SCHEMA: &str =
    "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag";

/// The report's scan time (`creationTimestamp`, epoch ms): 2025-12-02T01:00:00Z.
pub const CREATED_MS: i64 = 1_764_637_200_000;

/// `text` gzip-compressed, as S3 Inventory writes its CSV data files.
pub fn gzip(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("gzip: {e}"));
    gz.finish().unwrap_or_else(|e| panic!("gzip: {e}"))
}

/// One CSV line of [`SCHEMA`] (values quoted; `key` as given, so URL-encode it as S3 does
/// where it matters).
pub fn row(bucket: &str, key: &str, latest: bool, marker: bool, modified: &str) -> String {
    format!(
        "\"{bucket}\",\"{key}\",\"v1\",\"{latest}\",\"{marker}\",\"10\",\"{modified}\",\"9b2cf535f27731c974343645a3985328\"\n"
    )
}

/// Put an object on the emulator, or panic naming it.
pub async fn put_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
}

/// A report of `source` in a fresh destination bucket, with `schema` and `format`, its data
/// files holding `files` (CSV text, one data file each). Returns the manifest's
/// `s3://bucket/key` address.
pub async fn report(
    s3: &aws_sdk_s3::Client,
    source: &str,
    schema: &str,
    files: &[&str],
    format: &str,
) -> String {
    let dest = crate::unique_name("inv");
    s3.create_bucket()
        .bucket(&dest)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {dest}: {e:?}"));
    let mut entries = Vec::new();
    for (i, csv) in files.iter().enumerate() {
        let bytes = gzip(csv);
        let key = format!("reports/{source}/daily/data/{i:02}-5b1c.csv.gz");
        let md5: String = Md5::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        entries.push(serde_json::json!({"key": key, "size": bytes.len(), "MD5checksum": md5}));
        put_object(s3, &dest, &key, bytes).await;
    }
    let manifest = serde_json::json!({
        "sourceBucket": source,
        "destinationBucket": format!("arn:aws:s3:::{dest}"),
        "version": "2016-11-30",
        "creationTimestamp": CREATED_MS.to_string(),
        "fileFormat": format,
        "fileSchema": schema,
        "files": entries,
    });
    let key = format!("reports/{source}/daily/2025-12-02T01-00Z/manifest.json");
    let body = serde_json::to_vec_pretty(&manifest).unwrap_or_else(|e| panic!("json: {e}"));
    put_object(s3, &dest, &key, body).await;
    format!("s3://{dest}/{key}")
}
