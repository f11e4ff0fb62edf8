//! Service limits the contract enforces, named once.
//!
//! Every number here comes from AWS documentation (see `../shared/design/BRIEF.md`).

/// Maximum S3 object key length, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Minimum S3 bucket name length.
pub const MIN_BUCKET_LEN: usize = 3;
/// Maximum S3 bucket name length.
pub const MAX_BUCKET_LEN: usize = 63;
/// Maximum length, in bytes, of the free-text optional fields (`stage`, `etag`, `version_id`, `trace_id`).
pub const MAX_OPTIONAL_TEXT_BYTES: usize = 256;
/// How far into the future Timestream accepts a record's time, in milliseconds (15 minutes).
pub const TIMESTREAM_MAX_FUTURE_MS: i64 = 15 * 60 * 1000;
/// Timestream: maximum dimension name length, in bytes.
pub const TIMESTREAM_MAX_DIMENSION_NAME_BYTES: usize = 60;
/// Timestream: maximum dimension name plus value length, in bytes.
pub const TIMESTREAM_MAX_DIMENSION_BYTES: usize = 2048;
/// Timestream: maximum measure name length, in bytes.
pub const TIMESTREAM_MAX_MEASURE_NAME_BYTES: usize = 256;
/// Timestream: maximum size of one record, in bytes.
pub const TIMESTREAM_MAX_RECORD_BYTES: usize = 2048;
