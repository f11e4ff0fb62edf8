//! AWS's own example events, kept once for every crate's tests, the demo and the soak.

/// AWS's documented SQS → Lambda event (aws_lambda_events' `example-sqs-event.json`).
pub const SQS_EVENT: &str = include_str!("../fixtures/sqs-event.json");
/// AWS's documented S3 `ObjectCreated:Put` notification (aws_lambda_events'
/// `example-s3-event.json`, bucket and key made filetrail's).
pub const S3_EVENT: &str = include_str!("../fixtures/s3-event.json");
/// An EventBridge envelope around a valid `FileMoved` detail, as an SQS target receives it
/// (the contract's own fixture, not a copy).
pub const ENVELOPE: &str = include_str!("../../filetrail-contract/tests/fixtures/envelope.json");
