//! The SQS batch as the recorder reads it.
//!
//! Lambda hands an SQS event source mapping's batch to the function as `{"Records": [...]}`, each
//! record with `messageId`, `receiptHandle`, `body`, `attributes`, `messageAttributes`,
//! `md5OfBody`, `eventSource`, `eventSourceARN` and `awsRegion`
//! (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html). The recorder uses three of
//! them: [`SqsBatch`] reads only `messageId`, `body` and the two timestamps, and skips the rest
//! without building it (no maps, no strings), which is most of what a full
//! `aws_lambda_events::SqsEvent` costs per message. [`Batch`] lets the handler take either.

use std::fmt;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::lag::{FIRST_RECEIVE_TIMESTAMP, SENT_TIMESTAMP};

/// One message as the recorder reads it.
pub trait Message {
    /// Its `messageId`, the name it has in `batchItemFailures`.
    fn message_id(&self) -> Option<&str>;
    /// Its body (empty when absent).
    fn body(&self) -> &str;
    /// When it was sent to the queue (`SentTimestamp`, else `ApproximateFirstReceiveTimestamp`),
    /// epoch milliseconds.
    fn sent_ms(&self) -> Option<i64>;
}

/// A batch of messages: Lambda's SQS event.
pub trait Batch {
    /// Its messages' type.
    type Message: Message;
    /// The messages, in delivery order.
    fn messages(&self) -> &[Self::Message];
}

/// Lambda's SQS event, reading only what the recorder uses (the deployed function's event type).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SqsBatch {
    /// The messages.
    #[serde(rename = "Records", default)]
    pub records: Vec<QueuedMessage>,
}

/// One SQS record of [`SqsBatch`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedMessage {
    /// `messageId`.
    #[serde(default)]
    pub message_id: Option<String>,
    /// `body`.
    #[serde(default)]
    pub body: Option<String>,
    /// The two timestamps of `attributes`.
    #[serde(default)]
    pub attributes: Timestamps,
}

/// The timestamps of a record's `attributes` (epoch milliseconds, sent as strings). A value
/// that is not a number reads as absent: a timestamp only feeds a metric and must never fail a
/// batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Timestamps {
    /// `SentTimestamp`.
    #[serde(rename = "SentTimestamp", default, deserialize_with = "millis")]
    pub sent: Option<i64>,
    /// `ApproximateFirstReceiveTimestamp`.
    #[serde(
        rename = "ApproximateFirstReceiveTimestamp",
        default,
        deserialize_with = "millis"
    )]
    pub first_receive: Option<i64>,
}

/// Reads a timestamp string without allocating; anything but digits is `None`.
fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct Millis;
    impl<'de> Visitor<'de> for Millis {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("epoch milliseconds")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.parse().ok())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(i64::try_from(v).ok())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(Millis)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Millis)
}

impl Message for QueuedMessage {
    fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }
    fn body(&self) -> &str {
        self.body.as_deref().unwrap_or_default()
    }
    fn sent_ms(&self) -> Option<i64> {
        self.attributes.sent.or(self.attributes.first_receive)
    }
}

impl Batch for SqsBatch {
    type Message = QueuedMessage;
    fn messages(&self) -> &[QueuedMessage] {
        &self.records
    }
}

impl Message for SqsMessage {
    fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }
    fn body(&self) -> &str {
        self.body.as_deref().unwrap_or_default()
    }
    fn sent_ms(&self) -> Option<i64> {
        [SENT_TIMESTAMP, FIRST_RECEIVE_TIMESTAMP]
            .iter()
            .find_map(|k| self.attributes.get(*k)?.parse().ok())
    }
}

impl Batch for SqsEvent {
    type Message = SqsMessage;
    fn messages(&self) -> &[SqsMessage] {
        &self.records
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example event of "Using Lambda with Amazon SQS"
    /// (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html), its second record without
    /// `SentTimestamp` and with a `messageAttributes` entry.
    const EVENT: &str = r#"{"Records": [
      {"messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
       "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
       "body": "Test message.",
       "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183",
                      "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1545082649185"},
       "messageAttributes": {},
       "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
       "eventSource": "aws:sqs",
       "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
       "awsRegion": "us-east-2"},
      {"messageId": "2e1424d4-f796-459a-8184-9c92662be6da",
       "receiptHandle": "AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq...",
       "body": "Test message with \"quotes\" and \u00e9.",
       "attributes": {"ApproximateReceiveCount": "1", "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                      "ApproximateFirstReceiveTimestamp": "1545082650649"},
       "messageAttributes": {"trace": {"stringValue": "x", "stringListValues": [], "binaryListValues": [], "dataType": "String"}},
       "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
       "eventSource": "aws:sqs",
       "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
       "awsRegion": "us-east-2"}
    ]}"#;

    fn views<B: Batch>(b: &B) -> Vec<(Option<String>, String, Option<i64>)> {
        b.messages()
            .iter()
            .map(|m| {
                (
                    m.message_id().map(str::to_owned),
                    m.body().to_owned(),
                    m.sent_ms(),
                )
            })
            .collect()
    }

    #[test]
    fn reads_what_the_full_event_type_reads() {
        let lean: SqsBatch = serde_json::from_str(EVENT).expect("lean");
        let full: SqsEvent = serde_json::from_str(EVENT).expect("full");
        assert_eq!(views(&lean), views(&full));
        assert_eq!(
            views(&lean),
            vec![
                (
                    Some("059f36b4-87a3-44ab-83d2-661975830a7d".into()),
                    "Test message.".into(),
                    Some(1_545_082_649_183)
                ),
                (
                    Some("2e1424d4-f796-459a-8184-9c92662be6da".into()),
                    "Test message with \"quotes\" and é.".into(),
                    Some(1_545_082_650_649)
                ),
            ]
        );
    }

    #[test]
    fn a_strange_timestamp_or_missing_field_never_fails_the_batch() {
        let odd = r#"{"Records": [
            {"messageId": "a", "body": "x", "attributes": {"SentTimestamp": "soon"}},
            {"messageId": "b", "attributes": {"SentTimestamp": null, "ApproximateFirstReceiveTimestamp": 12}},
            {"body": "y"}
        ]}"#;
        let b: SqsBatch = serde_json::from_str(odd).expect("reads");
        assert_eq!(
            views(&b),
            vec![
                (Some("a".into()), "x".into(), None),
                (Some("b".into()), String::new(), Some(12)),
                (None, "y".into(), None),
            ]
        );
        let empty: SqsBatch = serde_json::from_str("{}").expect("no records");
        assert!(empty.records.is_empty());
    }
}
