//! Copy planning and content identity: when to use multipart, which ranges, what counts as
//! "the same content".

use std::collections::HashMap;

use filetrail_contract::OccurredAt;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::limits::{
    DEFAULT_COPY_PART_BYTES, MAX_PART_BYTES, MAX_PARTS, MAX_SINGLE_COPY_BYTES, MIN_PART_BYTES,
};

/// User metadata key the sorter writes on every copy: the ETag of the source it copied.
pub const COPY_MARKER_METADATA: &str = "filetrail-source-etag";

/// When a copy goes multipart, and in which part size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopySettings {
    multipart_threshold: u64,
    part_size: u64,
}

impl Default for CopySettings {
    fn default() -> Self {
        Self {
            multipart_threshold: MAX_SINGLE_COPY_BYTES,
            part_size: DEFAULT_COPY_PART_BYTES,
        }
    }
}

impl CopySettings {
    /// Objects larger than `multipart_threshold` are copied in parts of `part_size`; both are
    /// clamped to what S3 allows (threshold at most [`MAX_SINGLE_COPY_BYTES`], part size within
    /// [`MIN_PART_BYTES`]..=[`MAX_PART_BYTES`]).
    pub fn new(multipart_threshold: u64, part_size: u64) -> Self {
        Self {
            multipart_threshold: multipart_threshold.min(MAX_SINGLE_COPY_BYTES),
            part_size: part_size.clamp(MIN_PART_BYTES, MAX_PART_BYTES),
        }
    }

    /// Objects above this size are copied in parts.
    pub fn multipart_threshold(&self) -> u64 {
        self.multipart_threshold
    }

    /// The configured part size (grown by [`part_ranges`] when 10,000 parts would not do).
    pub fn part_size(&self) -> u64 {
        self.part_size
    }

    /// Whether an object of `size` bytes is copied in parts.
    pub fn is_multipart(&self, size: u64) -> bool {
        size > self.multipart_threshold
    }
}

/// Characters percent-encoded in an `x-amz-tagging` key or value: everything but the RFC 3986
/// unreserved characters, so `=`, `&`, `+`, space and non-ASCII text survive the round trip.
const TAG_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The `x-amz-tagging` header for a tag set, `None` when there are no tags.
///
/// S3 wants the tag set "encoded as URL Query parameters" (`Key1=Value1&Key2=Value2`): CopyObject
/// and CreateMultipartUpload `Tagging`,
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html>.
pub fn tagging_header(tags: &[(String, String)]) -> Option<String> {
    if tags.is_empty() {
        return None;
    }
    let pairs: Vec<String> = tags
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, TAG_ENCODE),
                utf8_percent_encode(v, TAG_ENCODE)
            )
        })
        .collect();
    Some(pairs.join("&"))
}

/// Inclusive byte ranges `(first, last)` covering `0..size` in order, each `part_size` long
/// (the last may be shorter), grown so that there are at most [`MAX_PARTS`].
pub fn part_ranges(size: u64, part_size: u64) -> Vec<(u64, u64)> {
    let part = part_size.max(size.div_ceil(MAX_PARTS)).max(1);
    let mut ranges = Vec::new();
    let mut first = 0;
    while first < size {
        let last = (first + part).min(size) - 1;
        ranges.push((first, last));
        first = last + 1;
    }
    ranges
}

/// A whole-object checksum S3 keeps for an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// `CRC64NVME`, `CRC32`, `CRC32C`, `SHA256` or `SHA1`.
    pub algorithm: &'static str,
    /// The base64 value S3 returns.
    pub value: String,
    /// False for a composite (checksum-of-checksums) value, which depends on the part layout.
    pub full_object: bool,
}

/// Headers that describe content and must survive a copy that replaces metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentHeaders {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
}

/// What HeadObject says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag as S3 returns it (quoted).
    pub etag: String,
    /// `Last-Modified`: the `occurred_at` of the move that wrote this object.
    pub last_modified: OccurredAt,
    /// Version id, on versioned buckets.
    pub version_id: Option<String>,
    /// Whole-object checksum, when S3 has one.
    pub checksum: Option<Checksum>,
    /// Content headers.
    pub headers: ContentHeaders,
    /// User metadata (without the `x-amz-meta-` prefix).
    pub metadata: HashMap<String, String>,
}

impl ObjectInfo {
    /// The ETag without quotes.
    pub fn etag_unquoted(&self) -> &str {
        self.etag.trim_matches('"')
    }

    /// The source ETag recorded by the copy that wrote this object, if any.
    pub fn copied_from(&self) -> Option<&str> {
        self.metadata
            .get(COPY_MARKER_METADATA)
            .map(|v| v.trim_matches('"'))
    }
}

/// On what grounds two objects are taken to hold the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Equal sizes and equal whole-object checksums of the same algorithm.
    Checksum,
    /// Equal sizes and equal ETags.
    ETag,
    /// The destination records that it was copied from an object with the source's ETag.
    CopyRecord,
    /// Only the sizes could be compared (e.g. SSE-KMS ETags, no common checksum).
    SizeOnly,
}

/// Whether two objects hold the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sameness {
    /// The same, on this basis.
    Same(Basis),
    /// Different, for this reason.
    Different(String),
    /// Sizes agree, nothing else can be compared.
    Unknown,
}

/// Compare by content only: size, then a common full-object checksum, then ETag.
pub fn compare_content(a: &ObjectInfo, b: &ObjectInfo) -> Sameness {
    if a.size != b.size {
        return Sameness::Different(format!("sizes differ ({} vs {} bytes)", a.size, b.size));
    }
    if let (Some(ca), Some(cb)) = (&a.checksum, &b.checksum)
        && ca.algorithm == cb.algorithm
        && ca.full_object
        && cb.full_object
    {
        return if ca.value == cb.value {
            Sameness::Same(Basis::Checksum)
        } else {
            Sameness::Different(format!(
                "{} checksums differ ({} vs {})",
                ca.algorithm, ca.value, cb.value
            ))
        };
    }
    if a.etag_unquoted() == b.etag_unquoted() {
        return Sameness::Same(Basis::ETag);
    }
    Sameness::Unknown
}

/// Whether `dst` already holds `src`'s bytes, so a copy can be skipped: [`compare_content`],
/// then the copy record the sorter leaves on every destination.
pub fn already_holds(src: &ObjectInfo, dst: &ObjectInfo) -> Sameness {
    match compare_content(src, dst) {
        Sameness::Unknown if dst.copied_from() == Some(src.etag_unquoted()) => {
            Sameness::Same(Basis::CopyRecord)
        }
        other => other,
    }
}

/// Check a fresh copy: `dst` must be the object the copy wrote (`written_etag`) and hold
/// `src`'s bytes; when only sizes can be compared, that is what is reported.
pub fn verify_copy(
    src: &ObjectInfo,
    dst: &ObjectInfo,
    written_etag: &str,
) -> Result<Basis, String> {
    if dst.etag_unquoted() != written_etag.trim_matches('"') {
        return Err(format!(
            "the destination's ETag {} is not the one the copy returned ({written_etag}); it changed during the copy",
            dst.etag
        ));
    }
    match compare_content(src, dst) {
        Sameness::Same(basis) => Ok(basis),
        Sameness::Different(reason) => Err(reason),
        Sameness::Unknown => Ok(Basis::SizeOnly),
    }
}
