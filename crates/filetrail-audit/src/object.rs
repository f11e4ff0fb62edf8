//! Where the audit learns which objects exist: the [`ObjectSource`] seam, and its S3 adapter
//! [`S3Listing`] (paginated ListObjectsV2). [`crate::inventory`] reads S3 Inventory reports.

use std::future::Future;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};

use crate::error::SourceError;
use crate::limits::LIST_PAGE_KEYS;

/// One object of a bucket, as a listing or an inventory row shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// The object's key.
    pub key: String,
    /// Its `Last-Modified`.
    pub last_modified: DateTime<Utc>,
    /// Its size in bytes (0 when the inventory does not list sizes).
    pub size: u64,
}

/// One page of a bucket's objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectPage {
    /// The objects, in the source's order.
    pub objects: Vec<StoredObject>,
    /// Pass this to [`ObjectSource::page`] for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// A source of a bucket's objects, page by page.
pub trait ObjectSource: Sync {
    /// The page of `bucket` that `token` names (`None`: the first page).
    fn page(
        &self,
        bucket: &str,
        token: Option<String>,
    ) -> impl Future<Output = Result<ObjectPage, SourceError>> + Send;
}

/// Objects listed with ListObjectsV2, 1,000 a page, following `NextContinuationToken`
/// while `IsTruncated` (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html>).
#[derive(Debug, Clone)]
pub struct S3Listing {
    client: aws_sdk_s3::Client,
    page_keys: i32,
}

impl S3Listing {
    /// A listing through `client` (build it with `filetrail_stages::s3_client`), [`LIST_PAGE_KEYS`]
    /// keys a page.
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self {
            client,
            page_keys: LIST_PAGE_KEYS,
        }
    }

    /// Ask for `keys` keys a page (`MaxKeys`) instead of S3's maximum, so a test lists several
    /// real pages of a small bucket.
    #[must_use]
    pub fn with_page_keys(mut self, keys: i32) -> Self {
        self.page_keys = keys;
        self
    }

    /// The S3 client.
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }
}

/// An SDK error as a [`SourceError`], classified once by `filetrail_aws::classify`.
pub(crate) fn s3_error<E>(
    operation: &'static str,
    bucket: &str,
    err: &SdkError<E, HttpResponse>,
) -> SourceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let c = filetrail_aws::classify(filetrail_aws::Service::S3, err);
    SourceError {
        operation,
        bucket: bucket.into(),
        code: c.code,
        message: c.message,
        retryable: c.retryable,
    }
}

/// An S3 `Last-Modified` as a UTC time (S3 keeps it to the second, or the millisecond).
pub(crate) fn utc(t: &aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}

impl ObjectSource for S3Listing {
    async fn page(&self, bucket: &str, token: Option<String>) -> Result<ObjectPage, SourceError> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .max_keys(self.page_keys)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| s3_error("ListObjectsV2", bucket, &e))?;
        let objects = out
            .contents()
            .iter()
            .filter_map(|o| {
                Some(StoredObject {
                    key: o.key()?.to_owned(),
                    last_modified: o.last_modified().map(utc)?,
                    size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                })
            })
            .collect();
        let next = if out.is_truncated() == Some(true) {
            out.next_continuation_token().map(str::to_owned)
        } else {
            None
        };
        Ok(ObjectPage { objects, next })
    }
}
