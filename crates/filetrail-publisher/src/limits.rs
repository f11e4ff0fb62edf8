//! EventBridge PutEvents limits.

/// At most 10 entries per PutEvents call.
pub const MAX_ENTRIES_PER_CALL: usize = 10;

/// Maximum total size of the entries of one PutEvents call, in bytes, as computed by
/// [`crate::Entry::size`].
///
/// AWS raised the limit from 256 KiB to 1 MiB in 2025; 256 KiB is kept here because it is
/// accepted everywhere (older regions' documentation, emulators) and a `FileMoved` entry is
/// under 4 KiB, so it never costs an extra call in practice.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// Bytes an entry's `Time` adds to its size when set (AWS: "14 bytes").
pub const TIME_FIELD_BYTES: usize = 14;
