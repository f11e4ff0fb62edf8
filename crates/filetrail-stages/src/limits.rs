//! S3 limits and stage sizing, named once.
//!
//! S3 numbers are from the S3 user guide ("Copy an object", "Amazon S3 multipart upload limits").

/// Largest object a single CopyObject (or PutObject) may write: 5 GiB.
pub const MAX_SINGLE_COPY_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Largest object a single PutObject may write: 5 GiB.
pub const MAX_PUT_OBJECT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Smallest multipart part (every part but the last): 5 MiB.
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
/// Largest multipart part: 5 GiB.
pub const MAX_PART_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Most parts one multipart upload may have.
pub const MAX_PARTS: u64 = 10_000;
/// Part size of a multipart copy: 512 MiB (grown when 10,000 parts would not cover the object).
pub const DEFAULT_COPY_PART_BYTES: u64 = 512 * 1024 * 1024;
/// UploadPartCopy calls one multipart copy keeps in flight.
pub const COPY_PART_CONCURRENCY: usize = 4;
/// Files one invocation works on at once (head, copy, verify).
pub const FILE_CONCURRENCY: usize = 16;
/// Keys per ListObjectsV2 page of a sweep (the S3 maximum).
pub const SWEEP_PAGE_KEYS: i32 = 1000;
/// Most bytes of a failed command's stderr kept in the error (the tail).
pub const MAX_STDERR_BYTES: usize = 4096;
