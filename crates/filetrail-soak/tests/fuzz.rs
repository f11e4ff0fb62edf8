//! Fuzzing, with proptest, of everything that parses outside input: SQS bodies and envelopes,
//! the delivery forms of a DLQ, whole SQS events through the recorder's handler, S3 triggers,
//! science file names, `filetrail publish` lines and `occurred_at`. Nothing may panic, and what
//! is accepted must be consistent.
//!
//! The number of cases comes from `PROPTEST_CASES` (proptest's default, 256, in `make test`;
//! `make fuzz` runs many more).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::{Message, MessageAttributeValue, MessageSystemAttributeName};
use aws_sdk_timestreamwrite::types::Record;
use filetrail_contract::{Delivery, FileMoved, OccurredAt, attr, parse_body, parse_body_str};
use filetrail_recorder::{
    DeadLetter, DeadLetters, Layout, Recorder, Settings, TimestreamSink, WriteError, WriteRecords,
};
use filetrail_stages::{NameRules, parse_trigger, trigger::decode_notification_key};
use filetrail_testkit::{fixtures, sqs};
use proptest::prelude::*;
use serde_json::{Value, json};

const ENVELOPE: &str = fixtures::ENVELOPE;
const S3_EVENT: &str = fixtures::S3_EVENT;
const S3_VIA_EVENTBRIDGE: &str =
    include_str!("../../filetrail-stages/tests/fixtures/s3-eventbridge-object-created.json");

/// A clock after every fixture's `occurred_at`.
fn now() -> OccurredAt {
    OccurredAt::now()
}

fn config() -> ProptestConfig {
    // `ProptestConfig::default()` reads PROPTEST_CASES.
    ProptestConfig::default()
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Values a producer might plausibly (or nearly) put in a contract field.
fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!(1)),
        Just(json!(2)),
        Just(json!("PUT")),
        Just(json!("DELETE")),
        Just(json!("")),
        Just(json!("hermes-incoming")),
        Just(json!("2024-05-01T12:00:00.123Z")),
        Just(json!("2024-05-01T12:00:00+00:00")),
        "[0-9a-f]{32}".prop_map(Value::String),
        "[a-z0-9.-]{0,70}".prop_map(Value::String),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,4})?(Z|[+-][0-9]{2}:[0-9]{2})?"
            .prop_map(Value::String),
        "\\PC{0,40}".prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        json_value(),
    ]
}

/// The contract's fields (the JSON Schema's properties, so a new field is fuzzed without
/// listing it here) and one unknown field.
fn fields() -> Vec<String> {
    let schema: Value =
        serde_json::from_str(filetrail_contract::SCHEMA_JSON).expect("the schema is JSON");
    let mut fields: Vec<String> = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .cloned()
        .collect();
    fields.push("colour".into());
    fields
}

/// A detail object made of contract fields (and one unknown), each with a plausible value.
fn detail() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(prop::sample::select(fields()), field_value(), 0..12)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// An SQS body: an envelope around a fuzzed detail, a bare detail, or anything at all.
fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            detail(),
            prop::sample::select(vec!["FileMoved", "FileCopied", ""])
        )
            .prop_map(|(d, t)| {
                let mut e: Value = serde_json::from_str(ENVELOPE).unwrap_or_default();
                e["detail"] = d;
                e["detail-type"] = json!(t);
                e.to_string()
            }),
        detail().prop_map(|d| d.to_string()),
        json_value().prop_map(|v| v.to_string()),
        "\\PC{0,200}",
    ]
}

/// `base` with byte edits applied: flip, insert, remove, truncate.
fn mutate(base: &str, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut b = base.as_bytes().to_vec();
    for &(pos, op, byte) in edits {
        let i = pos % (b.len() + 1);
        match op % 4 {
            0 if i < b.len() => b[i] ^= byte.max(1),
            1 => b.insert(i, byte),
            2 if i < b.len() => {
                b.remove(i);
            }
            3 => b.truncate(i),
            _ => {}
        }
    }
    b
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)
}

/// What an accepted body must satisfy.
fn accepted_is_valid(event: &FileMoved) -> Result<(), TestCaseError> {
    prop_assert!(event.validate(now()).is_ok());
    prop_assert_eq!(&event.event_id, &event.to_move().event_id());
    let again =
        FileMoved::from_json(&event.to_json()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&again, event);
    Ok(())
}

fn rules() -> NameRules {
    NameRules::new(
        "hermes",
        NameRules::parse_instruments("eea,nemisis:nms,merit,spani").unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("rules: {e}"))
}

/// A Timestream that stores everything, and a DLQ that takes everything.
struct Accept;

impl WriteRecords for Accept {
    async fn write_records(
        &self,
        _common: Record,
        _records: Vec<Record>,
    ) -> Result<(), WriteError> {
        Ok(())
    }
}

struct Keep;

impl DeadLetters for Keep {
    async fn send(
        &self,
        letters: &[DeadLetter],
        _deadline: std::time::Instant,
    ) -> Vec<Result<(), String>> {
        vec![Ok(()); letters.len()]
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
}

fn attribute_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            attr::RULE_ARN,
            attr::TARGET_ARN,
            attr::ERROR_CODE,
            attr::ERROR_MESSAGE,
            attr::DEAD_LETTER_QUEUE_SOURCE_ARN,
            attr::FILETRAIL_REASON,
            attr::FILETRAIL_CLASS,
            attr::FILETRAIL_MESSAGE_ID,
            "SentTimestamp",
            "ApproximateReceiveCount",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,16}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_as_an_sqs_body(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(inbound) = parse_body(&bytes, now()) {
            accepted_is_valid(&inbound.event)?;
        }
    }

    #[test]
    fn fuzzed_envelopes_bare_details_and_json(body in body()) {
        let a = parse_body(body.as_bytes(), now());
        let b = parse_body_str(&body, now());
        prop_assert_eq!(&a, &b);
        if let Ok(inbound) = a {
            accepted_is_valid(&inbound.event)?;
        }
    }

    #[test]
    fn mutated_real_envelopes(edits in edits()) {
        let bytes = mutate(ENVELOPE, &edits);
        if let Ok(inbound) = parse_body(&bytes, now()) {
            accepted_is_valid(&inbound.event)?;
        }
    }

    #[test]
    fn dead_letter_forms_from_any_attributes(
        attrs in prop::collection::btree_map(attribute_name(), "\\PC{0,40}", 0..8),
    ) {
        let delivery = Delivery::from_attributes(|n| attrs.get(n).map(String::as_str));
        prop_assert!(!delivery.reason().is_empty());
        if attrs.contains_key(attr::FILETRAIL_REASON) {
            let is_recorder = matches!(delivery, Delivery::RecorderDeadLetter { .. });
            prop_assert!(is_recorder);
        } else if attrs.contains_key(attr::ERROR_CODE) {
            let is_target = matches!(delivery, Delivery::TargetDeadLetter { .. });
            prop_assert!(is_target);
        }
    }

    #[test]
    fn dlq_messages_as_the_cli_reads_them(
        body in body(),
        system in prop::collection::btree_map(attribute_name(), "\\PC{0,20}", 0..5),
        user in prop::collection::btree_map(attribute_name(), "\\PC{0,40}", 0..5),
    ) {
        let mut m = Message::builder().message_id("m-1").receipt_handle("r-1").body(&body);
        for (k, v) in &system {
            m = m.attributes(MessageSystemAttributeName::from(k.as_str()), v);
        }
        for (k, v) in &user {
            let value = MessageAttributeValue::builder().data_type("String").string_value(v).build();
            if let Ok(value) = value {
                m = m.message_attributes(k, value);
            }
        }
        let d = filetrail_cli::sqs::DeadLetterMessage::from_message(&m.build(), now());
        prop_assert_eq!(d.parsed.is_ok(), parse_body_str(&body, now()).is_ok());
        prop_assert!(!d.reason().is_empty());
    }

    #[test]
    fn whole_sqs_events_through_the_recorder(
        messages in prop::collection::vec((proptest::option::weighted(0.9, "[a-z0-9-]{1,12}"), body()), 0..12),
        raw in json_value(),
    ) {
        // Lambda's deserialization of an arbitrary payload never panics.
        let _ = serde_json::from_value::<SqsEvent>(raw);
        // The test kit's records (AWS's), the id removed where the fuzzer drew none.
        let records = messages.iter().map(|(id, body)| {
            let mut r = sqs::record(id.as_deref().unwrap_or_default(), body);
            if id.is_none() && let Some(r) = r.as_object_mut() {
                r.remove("messageId");
            }
            r
        });
        let event: SqsEvent = serde_json::from_value(sqs::event_of(records))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let recorder = Recorder::new(TimestreamSink::new(Accept, Layout::Seed), Keep, Settings::default());
        let result = runtime().block_on(recorder.handle(&event, Instant::now() + Duration::from_secs(5)));
        match result {
            Ok((response, c)) => {
                prop_assert_eq!(c.received, messages.len() as u64);
                prop_assert_eq!(c.written + c.duplicate + c.dead_lettered + c.failed, c.received);
                prop_assert_eq!(response.batch_item_failures.len() as u64, c.failed);
                let valid = messages.iter().filter(|(_, b)| parse_body_str(b, now()).is_ok()).count() as u64;
                prop_assert_eq!(c.written + c.duplicate, valid);
            }
            Err(e) => {
                let missing = messages.iter().any(|(id, _)| id.is_none());
                prop_assert!(missing, "{}", e);
            }
        }
    }

    #[test]
    fn any_json_as_a_stage_trigger(v in json_value()) {
        let _ = parse_trigger(&v);
    }

    #[test]
    fn fuzzed_s3_notifications(
        records in prop::collection::vec((
            prop::sample::select(vec!["ObjectCreated:Put", "ObjectCreated:Copy", "ObjectRemoved:Delete", ""]),
            prop::sample::select(vec!["aws:s3", "aws:sqs"]),
            "[a-z0-9.-]{0,20}",
            prop_oneof!["\\PC{0,40}", "([A-Za-z0-9_+.-]|%[0-9A-Fa-f]{0,2}){0,30}"],
        ), 0..5),
        edits in edits(),
    ) {
        // The test kit's notification (AWS's), its name and source then mutated.
        let rs: Vec<Value> = records.iter().map(|(name, source, bucket, key)| {
            let mut r = fixtures::s3_notification(bucket, key)["Records"][0].take();
            r["eventName"] = json!(name);
            r["eventSource"] = json!(source);
            r
        }).collect();
        let event = json!({"Records": rs});
        if let Ok(filetrail_stages::Trigger::Objects { objects, ignored }) = parse_trigger(&event) {
            prop_assert_eq!(objects.len() + ignored, records.len());
        }
        for (_, _, _, key) in &records {
            let _ = decode_notification_key(key);
        }
        // The S3 -> EventBridge form, mutated at the byte level.
        let bytes = mutate(S3_VIA_EVENTBRIDGE, &edits);
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            let _ = parse_trigger(&v);
        }
    }

    #[test]
    fn any_string_as_a_file_name(name in "\\PC{0,120}") {
        if let Ok(f) = rules().parse(&name) {
            prop_assert!(f.key().ends_with(&name));
            prop_assert!(f.bucket("").starts_with("hermes-"));
        }
    }

    #[test]
    fn mutated_real_file_names(
        base in prop::sample::select(vec![
            "hermes_EEA_l0_2022259-030002_v01.bin",
            "hermes_nms_ql_20230205T000006_v1.0.0.cdf",
            "hermes_merit_burst_l1test_spectra_2024121T101010_v2.cdf",
        ]),
        edits in edits(),
    ) {
        let name = String::from_utf8_lossy(&mutate(base, &edits)).into_owned();
        if let Ok(f) = rules().parse(&name) {
            prop_assert_eq!(f.name, name);
        }
    }

    #[test]
    fn publish_lines(line in prop_oneof![detail().prop_map(|d| d.to_string()), "\\PC{0,120}"]) {
        if let Ok(event) = filetrail_cli::publish::parse_line(&line, now()) {
            accepted_is_valid(&event)?;
        }
    }

    #[test]
    fn occurred_at_strings(s in prop_oneof![
        "\\PC{0,40}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,5})?(Z|\\+00:00|-01:00|z)?",
    ]) {
        if let Ok(t) = OccurredAt::parse(&s) {
            let again = OccurredAt::parse(&t.to_string()).map_err(TestCaseError::fail)?;
            prop_assert_eq!(again, t);
        }
    }
}

/// Something for the parsers above to accept, so their properties are not vacuous.
#[test]
fn the_fuzzed_forms_accept_their_valid_originals() {
    let inbound = parse_body(ENVELOPE.as_bytes(), now()).expect("the fixture envelope is valid");
    assert!(accepted_is_valid(&inbound.event).is_ok());
    assert!(
        rules()
            .parse("hermes_EEA_l0_2022259-030002_v01.bin")
            .is_ok()
    );
    let s3: Value = serde_json::from_str(S3_EVENT).expect("fixture");
    assert!(matches!(
        parse_trigger(&s3),
        Ok(filetrail_stages::Trigger::Objects { ref objects, .. }) if objects.len() == 1
    ));
    let d = Delivery::from_attributes(|n| {
        HashMap::from([
            (attr::FILETRAIL_REASON, "bad"),
            (attr::FILETRAIL_CLASS, "invalid"),
        ])
        .get(n)
        .copied()
    });
    assert_eq!(d.reason(), "recorder: bad");
    let empty: BTreeMap<String, String> = BTreeMap::new();
    assert_eq!(
        Delivery::from_attributes(|n| empty.get(n).map(String::as_str)),
        Delivery::Direct
    );
}
