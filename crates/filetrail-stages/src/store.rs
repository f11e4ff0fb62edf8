//! The S3 calls the stages make, each error classified once and named by operation and object.

use std::collections::HashMap;
use std::path::Path;

use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
    MetadataDirective, TaggingDirective,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use filetrail_contract::OccurredAt;
use futures_util::{StreamExt, TryStreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::io::AsyncWriteExt;

use crate::copy::{
    COPY_MARKER_METADATA, Checksum, ContentHeaders, CopySettings, ObjectInfo, part_ranges,
    tagging_header,
};
use crate::limits::{COPY_PART_CONCURRENCY, MAX_PUT_OBJECT_BYTES, SWEEP_PAGE_KEYS};

/// An S3 call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("S3 {operation} s3://{bucket}/{key}: {code}: {message}")]
pub struct S3Error {
    /// The S3 operation, e.g. `CopyObject`.
    pub operation: &'static str,
    /// The bucket it addressed.
    pub bucket: String,
    /// The key it addressed (empty for bucket-level calls).
    pub key: String,
    /// Whether trying again may succeed (decided by [`filetrail_aws::classify`]).
    pub retryable: bool,
    /// The S3 error code, or a transport failure name.
    pub code: String,
    /// The message.
    pub message: String,
}

/// How a conditional delete ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The object (with the expected ETag) is gone.
    Deleted,
    /// The object was replaced since it was read; it was left alone.
    Changed,
}

/// The result of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// ETag S3 returned for the new object.
    pub etag: String,
    /// Number of parts (1 for a single CopyObject).
    pub parts: usize,
}

/// One page of a bucket listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Keys on this page.
    pub keys: Vec<String>,
    /// Token for the next page, if any.
    pub next: Option<String>,
}

/// S3 for the stages: a thin layer over the SDK client.
#[derive(Debug, Clone)]
pub struct Store {
    client: aws_sdk_s3::Client,
}

/// Conditional deletes asked again after a 409 (a concurrent write of the key) before giving up.
pub const CONDITIONAL_CONFLICT_RETRIES: u32 = 3;
/// Wait before asking again after a 409, times the number of conflicts so far.
const CONDITIONAL_CONFLICT_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// Characters percent-encoded in a `CopySource` key (everything but unreserved and `/`).
const COPY_SOURCE_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// `$request` (a CopyObject or CreateMultipartUpload builder: two types with the same setters)
/// with the content headers `$headers` ([`ContentHeaders`]) set.
macro_rules! with_content_headers {
    ($request:expr, $headers:expr) => {{
        let h: &ContentHeaders = $headers;
        $request
            .set_content_type(h.content_type.clone())
            .set_content_encoding(h.content_encoding.clone())
            .set_content_disposition(h.content_disposition.clone())
            .set_content_language(h.content_language.clone())
            .set_cache_control(h.cache_control.clone())
    }};
}

fn s3_error<E>(
    operation: &'static str,
    bucket: &str,
    key: &str,
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> S3Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let c = filetrail_aws::classify(filetrail_aws::Service::S3, err);
    S3Error {
        operation,
        bucket: bucket.into(),
        key: key.into(),
        retryable: c.retryable,
        code: c.code,
        message: c.message,
    }
}

fn status<E>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

impl Store {
    /// S3 through `client`.
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }

    /// The SDK client.
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// HeadObject (with checksums); `None` when the object does not exist.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, S3Error> {
        let out = match self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|se| se.is_not_found()) => return Ok(None),
            Err(e) => return Err(s3_error("HeadObject", bucket, key, &e)),
        };
        let invalid = |what: &str| S3Error {
            operation: "HeadObject",
            bucket: bucket.into(),
            key: key.into(),
            retryable: false,
            code: "InvalidResponse".into(),
            message: format!("{what} (request id {:?})", out.request_id()),
        };
        let last_modified = out
            .last_modified()
            .and_then(|t| t.to_millis().ok())
            .map(OccurredAt::from_millis)
            .ok_or_else(|| invalid("no Last-Modified"))?;
        let size = out
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| invalid("no Content-Length"))?;
        let composite = out.checksum_type() == Some(&ChecksumType::Composite);
        let checksum = [
            ("CRC64NVME", out.checksum_crc64_nvme()),
            ("CRC32", out.checksum_crc32()),
            ("CRC32C", out.checksum_crc32_c()),
            ("SHA256", out.checksum_sha256()),
            ("SHA1", out.checksum_sha1()),
        ]
        .into_iter()
        .find_map(|(algorithm, v)| {
            v.map(|v| Checksum {
                algorithm,
                value: v.to_owned(),
                full_object: !composite && !v.contains('-'),
            })
        });
        Ok(Some(ObjectInfo {
            bucket: bucket.into(),
            key: key.into(),
            size,
            etag: out.e_tag().unwrap_or_default().to_owned(),
            last_modified,
            version_id: out.version_id().filter(|v| *v != "null").map(str::to_owned),
            checksum,
            headers: ContentHeaders {
                content_type: out.content_type().map(str::to_owned),
                content_encoding: out.content_encoding().map(str::to_owned),
                content_disposition: out.content_disposition().map(str::to_owned),
                content_language: out.content_language().map(str::to_owned),
                cache_control: out.cache_control().map(str::to_owned),
            },
            metadata: out.metadata().cloned().unwrap_or_default(),
        }))
    }

    /// The tag set of the current version of `bucket`/`key` (GetObjectTagging, no `versionId`,
    /// so `s3:GetObjectTagging` is the permission it needs, not `s3:GetObjectVersionTagging`:
    /// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html>).
    pub async fn tags(&self, bucket: &str, key: &str) -> Result<Vec<(String, String)>, S3Error> {
        let out = self
            .client
            .get_object_tagging()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_error("GetObjectTagging", bucket, key, &e))?;
        Ok(out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    /// Copy `src` (exactly the version with its ETag) to `dst_bucket`/`dst_key`, in parts when
    /// `settings` say so. Content headers, user metadata and tags are kept; the copy records the
    /// source ETag under [`COPY_MARKER_METADATA`].
    pub async fn copy(
        &self,
        src: &ObjectInfo,
        dst_bucket: &str,
        dst_key: &str,
        settings: &CopySettings,
    ) -> Result<Copied, S3Error> {
        let copy_source = format!(
            "{}/{}",
            src.bucket,
            utf8_percent_encode(&src.key, COPY_SOURCE_ENCODE)
        );
        let mut metadata: HashMap<String, String> = src.metadata.clone();
        metadata.insert(COPY_MARKER_METADATA.into(), src.etag_unquoted().into());
        if settings.is_multipart(src.size) {
            return self
                .multipart_copy(src, &copy_source, metadata, dst_bucket, dst_key, settings)
                .await;
        }
        let request = self
            .client
            .copy_object()
            .copy_source(&copy_source)
            .copy_source_if_match(&src.etag)
            .bucket(dst_bucket)
            .key(dst_key)
            .metadata_directive(MetadataDirective::Replace)
            .set_metadata(Some(metadata))
            // COPY is S3's default, spelled out: S3 copies the tag set of the version it copies,
            // in the same atomic call. A tagged source then needs s3:GetObjectTagging on it and
            // s3:PutObjectTagging on the destination, or the copy is refused with 403
            // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html,
            // https://repost.aws/knowledge-center/s3-troubleshoot-copy-between-buckets).
            .tagging_directive(TaggingDirective::Copy);
        let out = with_content_headers!(request, &src.headers)
            .send()
            .await
            .map_err(|e| s3_error("CopyObject", dst_bucket, dst_key, &e))?;
        let etag = out
            .copy_object_result()
            .and_then(|r| r.e_tag())
            .unwrap_or_default()
            .to_owned();
        Ok(Copied { etag, parts: 1 })
    }

    async fn multipart_copy(
        &self,
        src: &ObjectInfo,
        copy_source: &str,
        metadata: HashMap<String, String>,
        dst_bucket: &str,
        dst_key: &str,
        settings: &CopySettings,
    ) -> Result<Copied, S3Error> {
        // UploadPartCopy copies bytes only. The tags go on CreateMultipartUpload (`x-amz-tagging`,
        // https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html): the object
        // comes into existence with them when the upload completes, like a single CopyObject.
        // PutObjectTagging after completion would leave a window with an untagged copy, and if
        // it failed, the retry would find the bytes in place (copy record), skip the copy and
        // never tag it.
        let tags = self.tags(&src.bucket, &src.key).await?;
        let request = self
            .client
            .create_multipart_upload()
            .bucket(dst_bucket)
            .key(dst_key)
            .set_metadata(Some(metadata))
            .set_tagging(tagging_header(&tags));
        let upload = with_content_headers!(request, &src.headers)
            .send()
            .await
            .map_err(|e| s3_error("CreateMultipartUpload", dst_bucket, dst_key, &e))?;
        let upload_id = upload.upload_id().unwrap_or_default().to_owned();
        let ranges = part_ranges(src.size, settings.part_size());
        let result = self
            .copy_parts(src, copy_source, &upload_id, dst_bucket, dst_key, &ranges)
            .await;
        match result {
            Ok(etag) => Ok(Copied {
                etag,
                parts: ranges.len(),
            }),
            Err(e) => {
                // Leave no incomplete upload behind (they cost storage until aborted).
                if let Err(abort) = self
                    .client
                    .abort_multipart_upload()
                    .bucket(dst_bucket)
                    .key(dst_key)
                    .upload_id(&upload_id)
                    .send()
                    .await
                {
                    let abort = s3_error("AbortMultipartUpload", dst_bucket, dst_key, &abort);
                    tracing::warn!(bucket = dst_bucket, key = dst_key, upload_id, error = %abort,
                        "could not abort the multipart copy; a bucket lifecycle rule should clean it up");
                }
                Err(e)
            }
        }
    }

    async fn copy_parts(
        &self,
        src: &ObjectInfo,
        copy_source: &str,
        upload_id: &str,
        dst_bucket: &str,
        dst_key: &str,
        ranges: &[(u64, u64)],
    ) -> Result<String, S3Error> {
        let calls = ranges
            .iter()
            .enumerate()
            .map(|(i, (first, last))| async move {
                let part_number = i32::try_from(i + 1).unwrap_or(i32::MAX);
                let out = self
                    .client
                    .upload_part_copy()
                    .bucket(dst_bucket)
                    .key(dst_key)
                    .upload_id(upload_id)
                    .part_number(part_number)
                    .copy_source(copy_source)
                    .copy_source_if_match(&src.etag)
                    .copy_source_range(format!("bytes={first}-{last}"))
                    .send()
                    .await
                    .map_err(|e| s3_error("UploadPartCopy", dst_bucket, dst_key, &e))?;
                let etag = out
                    .copy_part_result()
                    .and_then(|r| r.e_tag())
                    .unwrap_or_default();
                Ok::<_, S3Error>(
                    CompletedPart::builder()
                        .part_number(part_number)
                        .e_tag(etag)
                        .build(),
                )
            });
        let mut parts: Vec<CompletedPart> = futures_util::stream::iter(calls)
            .buffer_unordered(COPY_PART_CONCURRENCY)
            .try_collect()
            .await?;
        parts.sort_by_key(|p| p.part_number());
        let done = self
            .client
            .complete_multipart_upload()
            .bucket(dst_bucket)
            .key(dst_key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| s3_error("CompleteMultipartUpload", dst_bucket, dst_key, &e))?;
        Ok(done.e_tag().unwrap_or_default().to_owned())
    }

    /// Delete `bucket`/`key` only while its ETag is still `etag` (a newer upload under the same
    /// key is left alone).
    pub async fn delete_if_unchanged(
        &self,
        bucket: &str,
        key: &str,
        etag: &str,
    ) -> Result<Deleted, S3Error> {
        let mut conflicts = 0;
        loop {
            match self
                .client
                .delete_object()
                .bucket(bucket)
                .key(key)
                .if_match(etag)
                .send()
                .await
            {
                Ok(_) => return Ok(Deleted::Deleted),
                // 412: the ETag no longer matches. 404: already gone (If-Match on a missing key).
                Err(e) if status(&e) == Some(412) => return Ok(Deleted::Changed),
                Err(e) if status(&e) == Some(404) => return Ok(Deleted::Deleted),
                // 409: a PUT or DELETE of the key finished while this delete ran. Asked again,
                // S3 answers for the object as it now is (412, 404 or deleted).
                // <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html>
                Err(e) if status(&e) == Some(409) && conflicts < CONDITIONAL_CONFLICT_RETRIES => {
                    conflicts += 1;
                    tracing::info!(
                        bucket,
                        key,
                        attempt = conflicts,
                        "conditional delete met a concurrent write (409); asking again"
                    );
                    tokio::time::sleep(CONDITIONAL_CONFLICT_DELAY * conflicts).await;
                }
                Err(e) => return Err(s3_error("DeleteObject", bucket, key, &e)),
            }
        }
    }

    /// One page of at most `max_keys` keys of `bucket` (clamped to 1..=[`SWEEP_PAGE_KEYS`]),
    /// after `token`.
    pub async fn list_page(
        &self,
        bucket: &str,
        max_keys: i32,
        token: Option<String>,
    ) -> Result<Page, S3Error> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .max_keys(max_keys.clamp(1, SWEEP_PAGE_KEYS))
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| s3_error("ListObjectsV2", bucket, "", &e))?;
        let keys = out
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect();
        let next = if out.is_truncated() == Some(true) {
            out.next_continuation_token().map(str::to_owned)
        } else {
            None
        };
        Ok(Page { keys, next })
    }

    /// Stream `bucket`/`key` into the file at `path`, exactly the version with `etag`.
    pub async fn download(
        &self,
        bucket: &str,
        key: &str,
        etag: &str,
        path: &Path,
    ) -> Result<u64, DownloadError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .if_match(etag)
            .send()
            .await
            .map_err(|e| DownloadError::S3(s3_error("GetObject", bucket, key, &e)))?;
        let mut body = out.body;
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(DownloadError::Io)?;
        let mut written = 0u64;
        while let Some(chunk) = body.try_next().await.map_err(|e| {
            DownloadError::S3(S3Error {
                operation: "GetObject",
                bucket: bucket.into(),
                key: key.into(),
                retryable: true,
                code: "BodyRead".into(),
                message: e.to_string(),
            })
        })? {
            file.write_all(&chunk).await.map_err(DownloadError::Io)?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(DownloadError::Io)?;
        Ok(written)
    }

    /// PutObject the file at `path`, declaring its SHA-256 (base64) so S3 verifies and keeps it.
    pub async fn upload(
        &self,
        path: &Path,
        size: u64,
        sha256_b64: &str,
        bucket: &str,
        key: &str,
    ) -> Result<String, S3Error> {
        let fail = |code: &str, message: String| S3Error {
            operation: "PutObject",
            bucket: bucket.into(),
            key: key.into(),
            retryable: false,
            code: code.into(),
            message,
        };
        if size > MAX_PUT_OBJECT_BYTES {
            return Err(fail(
                "EntityTooLarge",
                format!("{size} bytes; one PutObject writes at most {MAX_PUT_OBJECT_BYTES}"),
            ));
        }
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| fail("LocalRead", format!("{}: {e}", path.display())))?;
        let out = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_length(i64::try_from(size).unwrap_or(i64::MAX))
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(sha256_b64)
            .body(body)
            .send()
            .await
            .map_err(|e| s3_error("PutObject", bucket, key, &e))?;
        Ok(out.e_tag().unwrap_or_default().to_owned())
    }
}

/// A download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The S3 call or the body stream failed.
    #[error(transparent)]
    S3(S3Error),
    /// Writing the local file failed.
    #[error("writing the local copy: {0}")]
    Io(std::io::Error),
}

/// An S3 client for `sdk`; path-style addressing when an endpoint override is set (emulators
/// and S3-compatible stores do not resolve `bucket.host` names). Its timeouts are the transfer
/// ones (`filetrail_aws::sdk::transfer_timeout_config`): a CopyObject of up to 5 GiB or a
/// 512 MiB UploadPartCopy is one attempt, which the general attempt timeout would cut.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let path_style = filetrail_aws::endpoint_override(sdk).is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(path_style)
            .timeout_config(filetrail_aws::sdk::transfer_timeout_config())
            .build(),
    )
}
