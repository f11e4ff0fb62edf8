"""Service limits and contract constants, named once (the same numbers as the Rust crates).

The contract limits mirror ``crates/filetrail-contract/src/limits.rs``; the PutEvents limits
mirror ``crates/filetrail-publisher/src/limits.rs``.
"""

from typing import Tuple

#: The only schema version this package reads and writes.
SCHEMA_VERSION = 1
#: Length of an ``event_id`` in hex characters (the first 128 bits of a SHA-256).
EVENT_ID_HEX_LEN = 32
#: The ``DetailType`` of every filetrail event.
DETAIL_TYPE = "FileMoved"
#: The two actions a move can be.
ACTION_TYPES: Tuple[str, str] = ("PUT", "DELETE")

#: Maximum S3 object key length, in UTF-8 bytes.
MAX_KEY_BYTES = 1024
#: Minimum S3 bucket name length.
MIN_BUCKET_LEN = 3
#: Maximum S3 bucket name length.
MAX_BUCKET_LEN = 63
#: Maximum length, in UTF-8 bytes, of the free-text optional fields.
MAX_OPTIONAL_TEXT_BYTES = 256
#: How far after the validating clock an event's ``occurred_at`` may lie, in milliseconds (15
#: minutes): the contract's own rule (a time well ahead is a producer's clock gone wrong).
MAX_FUTURE_MS = 15 * 60 * 1000

#: Largest value of a ``u32`` field (``schema_version``).
U32_MAX = 2**32 - 1
#: Largest value of a ``u64`` field (``size``).
U64_MAX = 2**64 - 1

#: At most 10 entries per PutEvents call.
#: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
MAX_ENTRIES_PER_CALL = 10
#: Maximum total size of the entries of one PutEvents call, in bytes, sized as AWS documents
#: (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html): "must be
#: less than 256KB", so one byte under 256 KiB, as in the Rust publisher. The current API model
#: says 1 MB; 256 KiB is accepted everywhere, and a FileMoved entry is under 4 KiB.
MAX_REQUEST_BYTES = 256 * 1024 - 1
#: Bytes an entry's ``Time`` adds to its size when set (AWS: "14 bytes"); filetrail sets none.
TIME_FIELD_BYTES = 14
#: Per-entry error codes worth sending again; AWS documents these two as retryable, every other
#: entry code as final
#: (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html).
#: The Rust ``PUT_EVENTS_RETRYABLE_ENTRY_CODES`` (``crates/filetrail-aws/src/classify.rs``); both
#: are pinned by ``crates/filetrail-aws/eventbridge-retryable-codes.json``.
RETRYABLE_ENTRY_CODES: Tuple[str, str] = ("ThrottlingException", "InternalFailure")
