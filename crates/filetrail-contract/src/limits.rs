//! The limits the contract enforces, named once: S3's (keys and bucket names, from AWS
//! documentation) and the contract's own. No store's limits live here: a sink enforces its
//! store's and dead-letters with its own reason.

/// Maximum S3 object key length, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Minimum S3 bucket name length.
pub const MIN_BUCKET_LEN: usize = 3;
/// Maximum S3 bucket name length.
pub const MAX_BUCKET_LEN: usize = 63;
/// Maximum length, in bytes, of the free-text optional fields (`stage`, `etag`, `version_id`, `trace_id`).
pub const MAX_OPTIONAL_TEXT_BYTES: usize = 256;
/// How far after the validating clock an event's `occurred_at` may lie, in milliseconds (15
/// minutes): a move is reported after it happened, so a time well ahead is a producer's clock
/// gone wrong. The window is also what the strictest store filetrail writes to accepts.
pub const MAX_FUTURE_MS: i64 = 15 * 60 * 1000;
