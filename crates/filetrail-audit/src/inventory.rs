//! S3 Inventory reports as an [`ObjectSource`], for buckets too large to list every 15 minutes.
//!
//! A report is a `manifest.json` (AWS's documented fields: `sourceBucket`, `destinationBucket`
//! (an ARN), `version`, `creationTimestamp` (epoch ms as a string), `fileFormat`, `fileSchema`
//! (the CSV columns, `", "`-separated) and `files[]` with `key`, `size`, `MD5checksum`) and
//! gzip-compressed CSV data files in the destination bucket
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html>).
//! CSV values are quoted; the `Key` is URL-encoded
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html>).
//! Only CSV reports are read.

use std::collections::HashMap;
use std::io::Read;

use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use serde::Deserialize;

use crate::config::AuditConfig;
use crate::error::SourceError;
use crate::object::{ObjectPage, ObjectSource, StoredObject, s3_error};

/// An `s3://bucket/key` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
}

impl std::str::FromStr for S3Url {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{s:?} is not an s3://bucket/key address"))?;
        match rest.split_once('/') {
            Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok(Self {
                bucket: bucket.into(),
                key: key.into(),
            }),
            _ => Err(format!("{s:?} names no bucket and key (s3://bucket/key)")),
        }
    }
}

/// One data file of a report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DataFile {
    /// Its key in the destination bucket.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// The hex MD5 of its bytes.
    #[serde(rename = "MD5checksum")]
    pub md5_checksum: String,
}

/// A report's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// The bucket the report lists.
    pub source_bucket: String,
    /// The ARN of the bucket holding the data files (`arn:aws:s3:::name`).
    pub destination_bucket: String,
    /// Manifest format version (`2016-11-30`).
    pub version: String,
    /// When the report's scan began, epoch milliseconds (a string).
    pub creation_timestamp: String,
    /// `CSV`, `ORC` or `Parquet`.
    pub file_format: String,
    /// The data files' columns, `", "`-separated.
    pub file_schema: String,
    /// The data files.
    pub files: Vec<DataFile>,
}

impl Manifest {
    /// Parse a `manifest.json`; only CSV reports with `Key` and `LastModifiedDate` columns
    /// can be audited.
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        let m: Self = serde_json::from_slice(json)
            .map_err(|e| format!("not an S3 Inventory manifest.json: {e}"))?;
        if m.file_format != "CSV" {
            return Err(format!(
                "fileFormat {:?}: only CSV inventory reports can be read",
                m.file_format
            ));
        }
        for needed in ["Key", "LastModifiedDate"] {
            if !m.columns().iter().any(|c| c == needed) {
                return Err(format!(
                    "fileSchema {:?} has no {needed} column; add it to the inventory configuration",
                    m.file_schema
                ));
            }
        }
        Ok(m)
    }

    /// The columns of `fileSchema`.
    pub fn columns(&self) -> Vec<String> {
        self.file_schema
            .split(',')
            .map(|c| c.trim().to_owned())
            .collect()
    }

    /// The bucket name of `destinationBucket`.
    pub fn data_bucket(&self) -> &str {
        self.destination_bucket
            .strip_prefix("arn:aws:s3:::")
            .unwrap_or(&self.destination_bucket)
    }

    /// When the report's scan began.
    pub fn created(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(self.creation_timestamp.trim().parse().ok()?)
    }
}

/// The fields of one CSV line (RFC 4180 quoting: `"` around a field, `""` inside it).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let (mut quoted, mut chars) = (false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// A URL-encoded key decoded (`+` is a space, as in S3's other encoded keys).
fn decode_key(encoded: &str) -> Result<String, String> {
    let plus = encoded.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| format!("key {encoded:?} does not decode to UTF-8"))
}

/// The current objects of one decompressed CSV data file with `columns`: delete markers and
/// noncurrent versions (of a report that includes versions) are left out.
pub fn parse_csv(data: &str, columns: &[String]) -> Result<Vec<StoredObject>, String> {
    let at = |name: &str| columns.iter().position(|c| c == name);
    let (key_at, modified_at) = match (at("Key"), at("LastModifiedDate")) {
        (Some(k), Some(m)) => (k, m),
        _ => return Err("the schema has no Key or LastModifiedDate column".into()),
    };
    let (size_at, latest_at, marker_at) = (at("Size"), at("IsLatest"), at("IsDeleteMarker"));
    let mut out = Vec::new();
    for (n, line) in data
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let f = csv_fields(line);
        let get = |i: Option<usize>| i.and_then(|i| f.get(i)).map(String::as_str);
        if get(latest_at) == Some("false") || get(marker_at) == Some("true") {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}", n + 1);
        let key =
            decode_key(get(Some(key_at)).ok_or_else(|| bad("no Key"))?).map_err(|e| bad(&e))?;
        let modified = get(Some(modified_at)).ok_or_else(|| bad("no LastModifiedDate"))?;
        let last_modified = DateTime::parse_from_rfc3339(modified)
            .map_err(|e| bad(&format!("LastModifiedDate {modified:?}: {e}")))?
            .with_timezone(&Utc);
        let size = get(size_at).and_then(|s| s.parse().ok()).unwrap_or(0);
        out.push(StoredObject {
            key,
            last_modified,
            size,
        });
    }
    Ok(out)
}

/// Buckets read from their inventory reports; every other bucket from `fallback`. A page is one
/// data file (the audit cuts it into lookups of [`crate::limits::LOOKUP_OBJECTS`]).
#[derive(Debug)]
pub struct Inventoried<S> {
    s3: aws_sdk_s3::Client,
    fallback: S,
    manifests: HashMap<String, Manifest>,
}

impl<S: ObjectSource> Inventoried<S> {
    /// Read the manifests at `urls` with `s3`; buckets without one are read from `fallback`.
    pub async fn load(
        s3: aws_sdk_s3::Client,
        fallback: S,
        urls: &[S3Url],
    ) -> Result<Self, SourceError> {
        let mut manifests = HashMap::new();
        for url in urls {
            let bytes = get(&s3, &url.bucket, &url.key).await?;
            let m = Manifest::parse(&bytes).map_err(|e| invalid(&url.bucket, &url.key, e))?;
            manifests.insert(m.source_bucket.clone(), m);
        }
        Ok(Self {
            s3,
            fallback,
            manifests,
        })
    }

    /// [`Inventoried::load`] for an audit of `config`, refusing a report of its incoming
    /// bucket (code `IncomingInventory`; `named_by` says where the reports were named: a flag,
    /// a variable): the incoming bucket is always listed, since a report's snapshot would show
    /// files sorted since it was taken as stuck.
    pub async fn for_audit(
        s3: aws_sdk_s3::Client,
        fallback: S,
        urls: &[S3Url],
        config: &AuditConfig,
        named_by: &str,
    ) -> Result<Self, SourceError> {
        let source = Self::load(s3, fallback, urls).await?;
        let incoming = config.incoming_bucket.as_str();
        if source.manifest(incoming).is_some() {
            return Err(SourceError {
                operation: "Inventory",
                bucket: incoming.into(),
                code: "IncomingInventory".into(),
                message: format!(
                    "{named_by} names a report of the incoming bucket {incoming}, which is always listed (a report's snapshot would show files sorted since as stuck)"
                ),
                retryable: false,
            });
        }
        Ok(source)
    }

    /// The manifest read for `bucket`, if any.
    pub fn manifest(&self, bucket: &str) -> Option<&Manifest> {
        self.manifests.get(bucket)
    }

    async fn data_file(
        &self,
        m: &Manifest,
        file: &DataFile,
    ) -> Result<Vec<StoredObject>, SourceError> {
        let bucket = m.data_bucket();
        let bytes = get(&self.s3, bucket, &file.key).await?;
        let md5 = hex::encode(Md5::digest(&bytes));
        if !md5.eq_ignore_ascii_case(&file.md5_checksum) {
            return Err(invalid(
                bucket,
                &file.key,
                format!("MD5 {md5} is not the manifest's {}", file.md5_checksum),
            ));
        }
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .map_err(|e| invalid(bucket, &file.key, format!("not gzip-compressed text: {e}")))?;
        parse_csv(&text, &m.columns()).map_err(|e| invalid(bucket, &file.key, e))
    }
}

fn invalid(bucket: &str, key: &str, problem: impl std::fmt::Display) -> SourceError {
    SourceError {
        operation: "Inventory",
        bucket: bucket.into(),
        code: "InvalidInventory".into(),
        message: format!("{key}: {problem}"),
        retryable: false,
    }
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>, SourceError> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| s3_error("GetObject", bucket, &e))?;
    let body = out.body.collect().await.map_err(|e| SourceError {
        operation: "GetObject",
        bucket: bucket.into(),
        code: "ReadBody".into(),
        message: format!("{key}: {e}"),
        retryable: true,
    })?;
    Ok(body.into_bytes().to_vec())
}

impl<S: ObjectSource> ObjectSource for Inventoried<S> {
    async fn page(&self, bucket: &str, token: Option<String>) -> Result<ObjectPage, SourceError> {
        let Some(m) = self.manifests.get(bucket) else {
            return self.fallback.page(bucket, token).await;
        };
        let index: usize = token.as_deref().and_then(|t| t.parse().ok()).unwrap_or(0);
        let Some(file) = m.files.get(index) else {
            return Ok(ObjectPage::default());
        };
        let objects = self.data_file(m, file).await?;
        let next = (index + 1 < m.files.len()).then(|| (index + 1).to_string());
        Ok(ObjectPage { objects, next })
    }
}
