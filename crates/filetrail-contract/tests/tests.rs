//! Integration tests of the contract crate (one binary, see `autotests = false`).

mod event_id;
mod fields;
mod inbound;
mod schema;
mod validation;

use filetrail_contract::OccurredAt;

/// A fixed "now" after every fixture's `occurred_at`.
pub const NOW: OccurredAt = OccurredAt::from_millis(1_714_564_900_000);

/// The primary fixture: an EventBridge envelope with a `FileMoved` detail.
pub const ENVELOPE: &str = include_str!("fixtures/envelope.json");
/// The same event as a bare detail.
pub const BARE: &str = include_str!("fixtures/bare-detail.json");
/// A DELETE with a key full of characters that need escaping, at the epoch.
pub const BARE_UNICODE: &str = include_str!("fixtures/bare-unicode-delete.json");
/// A Lambda SQS event holding the same envelope in each delivery form.
pub const DEAD_LETTER_FORMS: &str = include_str!("fixtures/sqs-dead-letter-forms.json");
