//! EventBridge PutEvents limits.

/// At most 10 entries per PutEvents call.
pub const MAX_ENTRIES_PER_CALL: usize = 10;

/// Maximum total size of the entries of one PutEvents call, in bytes, as computed by
/// [`crate::Entry::size`]: AWS says the total "must be less than 256KB", so at most one byte
/// under 256 KiB.
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html (also CalculatePutEventsEntrySize)>
///
/// The current API model says 1 MB; 256 KiB is kept here because it is accepted everywhere
/// (older documentation, emulators) and a `FileMoved` entry is under 4 KiB, so it never costs
/// an extra call in practice.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024 - 1;

/// Bytes an entry's `Time` adds to its size when set (AWS: "14 bytes").
pub const TIME_FIELD_BYTES: usize = 14;
