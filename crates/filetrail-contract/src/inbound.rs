//! Parsing of every form a `FileMoved` reaches a consumer in.
//!
//! A message has a *body* and a *delivery*. The body is either the full EventBridge envelope
//! (what an SQS target of a rule receives; the primary form) or a bare `FileMoved` detail
//! (tolerated, for producers that send to the queue directly). The delivery says how the
//! message got where it is, read from its attributes: directly, as an EventBridge target
//! dead letter, as a queue redrive copy, or dead-lettered by the recorder itself.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::event::strip_position;
use crate::{ContractError, FileMoved, OccurredAt};

/// The `detail-type` of every filetrail event.
pub const DETAIL_TYPE: &str = "FileMoved";

/// Names of the message attributes the delivery is read from.
pub mod attr {
    /// EventBridge target DLQ: the rule's ARN.
    pub const RULE_ARN: &str = "RULE_ARN";
    /// EventBridge target DLQ: the target's ARN.
    pub const TARGET_ARN: &str = "TARGET_ARN";
    /// EventBridge target DLQ: why delivery failed.
    pub const ERROR_CODE: &str = "ERROR_CODE";
    /// EventBridge target DLQ: the failure's message.
    pub const ERROR_MESSAGE: &str = "ERROR_MESSAGE";
    /// SQS system attribute on a message moved to a DLQ by a redrive policy.
    pub const DEAD_LETTER_QUEUE_SOURCE_ARN: &str = "DeadLetterQueueSourceArn";
    /// Set by the recorder on what it dead-letters: why the message can never be written.
    pub const FILETRAIL_REASON: &str = "filetrail.reason";
    /// Set by the recorder on what it dead-letters: the failure class (`invalid`, `rejected`).
    pub const FILETRAIL_CLASS: &str = "filetrail.class";
    /// Set by the recorder on what it dead-letters: the original SQS message id.
    pub const FILETRAIL_MESSAGE_ID: &str = "filetrail.message_id";
}

/// How the body was wrapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyShape {
    /// The full EventBridge envelope.
    Envelope {
        /// The envelope's `id` (new on every publish; not the event's identity).
        id: String,
        /// The envelope's `source`, the emitting stage.
        source: String,
    },
    /// A bare `FileMoved` detail.
    Bare,
}

/// How the message reached the queue it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered by the rule (or, read from a DLQ without attributes, a redrive copy).
    Direct,
    /// EventBridge could not deliver it to the rule's target and put it in the target DLQ.
    TargetDeadLetter {
        /// `RULE_ARN`.
        rule_arn: Option<String>,
        /// `TARGET_ARN`.
        target_arn: Option<String>,
        /// `ERROR_CODE`.
        error_code: String,
        /// `ERROR_MESSAGE`.
        error_message: Option<String>,
    },
    /// Moved to the DLQ by the source queue's redrive policy.
    Redrive {
        /// The queue it was moved from.
        source_queue_arn: String,
    },
    /// Dead-lettered by the recorder, which says why.
    RecorderDeadLetter {
        /// `filetrail.reason`.
        reason: String,
        /// `filetrail.class`.
        class: Option<String>,
    },
}

impl Delivery {
    /// Read the delivery from a message's attributes (message and system attributes alike).
    pub fn from_attributes<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        let owned = |name: &str| get(name).map(str::to_owned);
        if let Some(reason) = owned(attr::FILETRAIL_REASON) {
            return Self::RecorderDeadLetter {
                reason,
                class: owned(attr::FILETRAIL_CLASS),
            };
        }
        if let Some(error_code) = owned(attr::ERROR_CODE) {
            return Self::TargetDeadLetter {
                rule_arn: owned(attr::RULE_ARN),
                target_arn: owned(attr::TARGET_ARN),
                error_code,
                error_message: owned(attr::ERROR_MESSAGE),
            };
        }
        if let Some(source_queue_arn) = owned(attr::DEAD_LETTER_QUEUE_SOURCE_ARN) {
            return Self::Redrive { source_queue_arn };
        }
        Self::Direct
    }

    /// A short reason to group dead letters by, e.g. `eventbridge: NO_RESOURCE`.
    pub fn reason(&self) -> String {
        match self {
            Self::Direct => "redrive: receive count exceeded".into(),
            Self::Redrive { .. } => "redrive: receive count exceeded".into(),
            Self::TargetDeadLetter { error_code, .. } => format!("eventbridge: {error_code}"),
            Self::RecorderDeadLetter { reason, .. } => format!("recorder: {reason}"),
        }
    }
}

/// A parsed, validated event and the shape of the body it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// The event.
    pub event: FileMoved,
    /// How the body wrapped it.
    pub shape: BodyShape,
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    id: Option<String>,
    source: Option<String>,
    schema_version: Option<serde::de::IgnoredAny>,
}

/// Parse and validate one message body (bytes, so invalid UTF-8 is reported, not assumed away).
pub fn parse_body(body: &[u8], now: OccurredAt) -> Result<Inbound, ContractError> {
    let text = std::str::from_utf8(body).map_err(|e| ContractError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    parse_body_str(text, now)
}

/// Parse and validate one message body already known to be text.
pub fn parse_body_str(text: &str, now: OccurredAt) -> Result<Inbound, ContractError> {
    if let Some(envelope) = one_pass(text, now) {
        return Ok(Inbound {
            event: envelope.detail.0,
            shape: BodyShape::Envelope {
                id: envelope.id.unwrap_or_default().into_owned(),
                source: envelope.source.unwrap_or_default().into_owned(),
            },
        });
    }
    read_shape(text, now)
}

/// Parse and validate one message body already known to be text, for a consumer that needs
/// only the event (the recorder): [`parse_body_str`] without building the shape.
pub fn parse_event_str(text: &str, now: OccurredAt) -> Result<FileMoved, ContractError> {
    match one_pass(text, now) {
        Some(envelope) => Ok(envelope.detail.0),
        None => read_shape(text, now).map(|inbound| inbound.event),
    }
}

/// An envelope whose detail is read as it is scanned, its strings borrowed where they carry no
/// escapes: the one pass over a valid envelope body (the form nearly every message has). It
/// declares every field [`Probe`] declares, so a repeated one is refused here as there.
#[derive(Deserialize)]
struct OnePass<'a> {
    detail: ObjectOnly<FileMoved>,
    #[serde(rename = "detail-type", borrow)]
    detail_type: Cow<'a, str>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source: Option<Cow<'a, str>>,
    /// Declared only so a repeated one is refused; never read.
    #[serde(default, rename = "schema_version")]
    _schema_version: Option<serde::de::IgnoredAny>,
}

/// A `T` read only from a JSON object: a derived struct also reads an array of its fields,
/// which the contract refuses (see [`FileMoved::from_json`]).
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Object<T> {
            type Value = ObjectOnly<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ObjectOnly<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(ObjectOnly)
            }
        }
        d.deserialize_map(Object(std::marker::PhantomData))
    }
}

/// The body as a valid `FileMoved` envelope read in one pass, or `None` when it is anything
/// else (another shape, or invalid): [`read_shape`] then reads it again to say what it is or
/// what is wrong, so every error is worded as before and only valid envelopes take this path.
fn one_pass(text: &str, now: OccurredAt) -> Option<OnePass<'_>> {
    let ObjectOnly(envelope): ObjectOnly<OnePass<'_>> = serde_json::from_str(text).ok()?;
    (envelope.detail_type == DETAIL_TYPE && envelope.detail.0.validate(now).is_ok())
        .then_some(envelope)
}

/// Read the body's shape, then its event: the path that names what is wrong with a body.
fn read_shape(text: &str, now: OccurredAt) -> Result<Inbound, ContractError> {
    let probe: Probe<'_> = serde_json::from_str(text).map_err(|e| {
        if e.is_data() {
            ContractError::UnknownShape {
                reason: format!("expected a JSON object ({})", strip_position(&e)),
            }
        } else {
            ContractError::NotJson {
                reason: e.to_string(),
            }
        }
    })?;
    if let Some(detail) = probe.detail {
        let detail_type = probe.detail_type.unwrap_or_default();
        if detail_type != DETAIL_TYPE {
            return Err(ContractError::field(
                "detail-type",
                format!("expected {DETAIL_TYPE:?}; got {detail_type:?}"),
            ));
        }
        let event = FileMoved::from_json(detail.get()).map_err(|e| e.within("detail"))?;
        event.validate(now).map_err(|e| e.within("detail"))?;
        let shape = BodyShape::Envelope {
            id: probe.id.unwrap_or_default(),
            source: probe.source.unwrap_or_default(),
        };
        return Ok(Inbound { event, shape });
    }
    if probe.schema_version.is_some() {
        let event = FileMoved::from_json(text)?;
        event.validate(now)?;
        return Ok(Inbound {
            event,
            shape: BodyShape::Bare,
        });
    }
    Err(ContractError::UnknownShape {
        reason: "neither an EventBridge envelope (no \"detail\") nor a FileMoved detail (no \"schema_version\")".into(),
    })
}
