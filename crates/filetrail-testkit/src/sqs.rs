//! The SQS event Lambda's event source mapping sends a function, in its wire JSON.
//!
//! Every record starts from AWS's documented record ([`crate::fixtures::SQS_EVENT`]) so it has
//! every key Lambda sends (`messageId`, `receiptHandle`, `body`, `md5OfBody`, `attributes` with
//! `ApproximateReceiveCount`, `SentTimestamp`, `SenderId`, `ApproximateFirstReceiveTimestamp`,
//! `messageAttributes`, `eventSource`, `eventSourceARN`, `awsRegion`;
//! https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#example-standard-queue-message-event).
//! Tests deserialize this JSON into whatever type the function reads, as `lambda_runtime` does.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::types::Message;
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

/// The queue ARN records carry unless told otherwise.
pub const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:111122223333:filetrail-events";
/// The region records carry.
pub const REGION: &str = crate::REGION;

/// AWS's documented record, the template of every record built here.
fn template() -> Value {
    let event: Value = serde_json::from_str(crate::fixtures::SQS_EVENT)
        .unwrap_or_else(|e| panic!("the SQS fixture is JSON: {e}"));
    event["Records"][0].clone()
}

/// The hex MD5 of a body, as SQS reports it in `md5OfBody`.
pub fn md5_of(body: &str) -> String {
    Md5::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now_millis() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
        .to_string()
}

/// A record for a message `id` with `body`, received once just now from [`QUEUE_ARN`], with
/// no message attributes.
pub fn record(id: &str, body: &str) -> Value {
    let now = now_millis();
    let mut r = template();
    r["messageId"] = json!(id);
    r["receiptHandle"] = json!(format!("rh-{id}"));
    r["body"] = json!(body);
    r["md5OfBody"] = json!(md5_of(body));
    r["eventSourceARN"] = json!(QUEUE_ARN);
    r["awsRegion"] = json!(REGION);
    r["attributes"]["ApproximateReceiveCount"] = json!("1");
    r["attributes"]["SentTimestamp"] = json!(now);
    r["attributes"]["ApproximateFirstReceiveTimestamp"] = json!(now);
    r["messageAttributes"] = json!({});
    if let Some(r) = r.as_object_mut() {
        r.remove("md5OfMessageAttributes");
    }
    r
}

/// A record with one string message attribute `name` = `value` added.
pub fn with_string_attribute(mut record: Value, name: &str, value: &str) -> Value {
    record["messageAttributes"][name] = json!({"stringValue": value, "stringListValues": [],
        "binaryListValues": [], "dataType": "String"});
    record
}

/// An event of `records`.
pub fn event_of(records: impl IntoIterator<Item = Value>) -> Value {
    json!({ "Records": records.into_iter().collect::<Vec<_>>() })
}

/// An event of (message id, body) pairs, each a [`record`].
pub fn event<I, S>(messages: impl IntoIterator<Item = (I, S)>) -> Value
where
    I: AsRef<str>,
    S: AsRef<str>,
{
    event_of(
        messages
            .into_iter()
            .map(|(id, body)| record(id.as_ref(), body.as_ref())),
    )
}

/// The event Lambda builds from messages received from the queue `queue_arn`: their ids,
/// receipt handles, bodies, system attributes and message attributes as SQS returned them.
pub fn from_messages(messages: &[Message], queue_arn: &str) -> Value {
    event_of(messages.iter().map(|m| {
        let body = m.body().unwrap_or_default();
        let mut r = record(m.message_id().unwrap_or_default(), body);
        r["receiptHandle"] = json!(m.receipt_handle());
        if let Some(md5) = m.md5_of_body() {
            r["md5OfBody"] = json!(md5);
        }
        r["eventSourceARN"] = json!(queue_arn);
        if let Some(a) = m.attributes() {
            r["attributes"] = Value::Object(
                a.iter()
                    .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                    .collect::<Map<_, _>>(),
            );
        }
        for (name, v) in m.message_attributes().into_iter().flatten() {
            r["messageAttributes"][name] = json!({"stringValue": v.string_value(),
                "stringListValues": [], "binaryListValues": [], "dataType": v.data_type()});
        }
        r
    }))
}
