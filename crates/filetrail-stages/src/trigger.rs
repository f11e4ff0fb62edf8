//! What invoked a stage: S3 notifications (direct or through EventBridge) or a sweep.

use aws_lambda_events::event::s3::S3Event;
use serde_json::Value;

/// One object named by an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// Bucket name.
    pub bucket: String,
    /// Object key, decoded (what the S3 API takes).
    pub key: String,
}

/// What an invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// These objects were created; `ignored` counts records of other kinds (e.g. removals).
    Objects {
        /// The created objects, in event order.
        objects: Vec<ObjectRef>,
        /// Records that name no created object.
        ignored: usize,
    },
    /// No records at all (a scheduled event, `{}`, an empty `Records`): list and sort everything.
    Sweep,
}

/// The event is not a shape a stage understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unrecognised event: {0}")]
pub struct TriggerError(pub String);

/// The `detail-type` of the S3 → EventBridge event for new objects.
pub const OBJECT_CREATED_DETAIL_TYPE: &str = "Object Created";
/// The `source` of S3's EventBridge events.
pub const S3_EVENT_SOURCE: &str = "aws.s3";

/// Read an invocation payload.
///
/// - `Records` (the S3 notification shape, via [`aws_lambda_events`]): every
///   `ObjectCreated:*` record from `aws:s3`, its key URL-decoded; an empty list is a sweep.
/// - `source` = `aws.s3` with `detail-type` = `Object Created` (S3 → EventBridge): the key in
///   `detail.object.key` is taken as it is (EventBridge carries keys unencoded). Other S3
///   detail types are ignored.
/// - Any other JSON object (a scheduled event, `{}`): a sweep.
pub fn parse_trigger(event: &Value) -> Result<Trigger, TriggerError> {
    let Some(obj) = event.as_object() else {
        return Err(TriggerError(format!(
            "expected a JSON object; got {}",
            kind(event)
        )));
    };
    if let Some(records) = obj.get("Records") {
        if records.as_array().is_some_and(Vec::is_empty) {
            return Ok(Trigger::Sweep);
        }
        let parsed: S3Event = serde_json::from_value(event.clone())
            .map_err(|e| TriggerError(format!("Records is not an S3 event notification: {e}")))?;
        let mut objects = Vec::new();
        let mut ignored = 0;
        for record in parsed.records {
            let created = record.event_source.as_deref() == Some("aws:s3")
                && record
                    .event_name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("ObjectCreated:"));
            match (created, record.s3.bucket.name, record.s3.object.key) {
                (true, Some(bucket), Some(raw)) => objects.push(ObjectRef {
                    bucket,
                    key: decode_notification_key(&raw)?,
                }),
                _ => ignored += 1,
            }
        }
        return Ok(Trigger::Objects { objects, ignored });
    }
    if obj.get("source").and_then(Value::as_str) == Some(S3_EVENT_SOURCE) {
        if obj.get("detail-type").and_then(Value::as_str) != Some(OBJECT_CREATED_DETAIL_TYPE) {
            return Ok(Trigger::Objects {
                objects: Vec::new(),
                ignored: 1,
            });
        }
        let detail = obj.get("detail");
        let bucket = detail
            .and_then(|d| d.pointer("/bucket/name"))
            .and_then(Value::as_str);
        let key = detail
            .and_then(|d| d.pointer("/object/key"))
            .and_then(Value::as_str);
        return match (bucket, key) {
            (Some(bucket), Some(key)) if !bucket.is_empty() && !key.is_empty() => {
                Ok(Trigger::Objects {
                    objects: vec![ObjectRef {
                        bucket: bucket.into(),
                        key: key.into(),
                    }],
                    ignored: 0,
                })
            }
            _ => Err(TriggerError(
                "an S3 Object Created event without detail.bucket.name and detail.object.key"
                    .into(),
            )),
        };
    }
    Ok(Trigger::Sweep)
}

/// Decode a key from an S3 event notification: `+` is a space, `%XX` a byte (form encoding).
pub fn decode_notification_key(raw: &str) -> Result<String, TriggerError> {
    let plus_as_space = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|e| TriggerError(format!("key {raw:?} does not decode to UTF-8: {e}")))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
