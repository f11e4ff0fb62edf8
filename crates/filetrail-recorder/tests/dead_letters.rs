//! Dead letters always fit and are always accepted: sized as SQS counts them, with attribute
//! values SQS takes. On the wire (replayed SendMessageBatch answers) and on the emulator.

use std::time::{Duration, Instant};

use filetrail_contract::attr;
use filetrail_recorder::{
    DeadLetter, DeadLetterClass, DeadLetters, MAX_SEND_BATCH_BYTES, SqsDeadLetters, sqs_accepts,
};
use filetrail_testkit::{emulator, pipeline, replay, unique_name};
use serde_json::{Value, json};

/// The bytes SQS counts for one entry of a SendMessageBatch request, read off the wire: the
/// body, and each attribute's name, data type and value ("All parts of the message attribute,
/// including Name, Type, and Value, are part of the message size restriction").
fn wire_size(entry: &Value) -> usize {
    let body = entry["MessageBody"].as_str().expect("body").len();
    let attrs: usize = entry["MessageAttributes"]
        .as_object()
        .expect("attributes")
        .iter()
        .map(|(name, v)| {
            name.len()
                + v["DataType"].as_str().expect("type").len()
                + v["StringValue"].as_str().expect("value").len()
        })
        .sum();
    body + attrs
}

/// A SendMessageBatch answer naming ids 0..n successful.
fn accepted(n: usize) -> http::Response<aws_smithy_types::body::SdkBody> {
    let ok: Vec<Value> = (0..n)
        .map(|i| json!({"Id": i.to_string(), "MessageId": format!("id-{i}"), "MD5OfMessageBody": "0"}))
        .collect();
    replay::json_response(200, &json!({"Successful": ok, "Failed": []}))
}

fn letter(i: usize, body_len: usize, reason: &str) -> DeadLetter {
    DeadLetter {
        message_id: format!("m{i}"),
        body: "x".repeat(body_len),
        reason: reason.into(),
        class: DeadLetterClass::Invalid,
    }
}

/// What the attributes of `letter(i, _, reason)` add, as SQS counts them.
fn attribute_bytes(i: usize, reason: &str) -> usize {
    (attr::FILETRAIL_REASON.len() + "String".len() + reason.len())
        + (attr::FILETRAIL_CLASS.len() + "String".len() + "invalid".len())
        + (attr::FILETRAIL_MESSAGE_ID.len() + "String".len() + format!("m{i}").len())
}

/// Ten letters whose sizes, as SQS counts them, add up to `total`.
fn letters_totalling(total: usize) -> Vec<DeadLetter> {
    let reason = "the record is over a limit";
    let attrs: usize = (0..10).map(|i| attribute_bytes(i, reason)).sum();
    let bodies = total - attrs;
    (0..10)
        .map(|i| letter(i, bodies / 10 + usize::from(i < bodies % 10), reason))
        .collect()
}

async fn sent_batches(letters: &[DeadLetter]) -> Vec<Vec<Value>> {
    let http = replay::client(vec![accepted(10), accepted(10)]);
    let sdk = replay::sdk_config(&http).await;
    let dlq = SqsDeadLetters::new(
        aws_sdk_sqs::Client::new(&sdk),
        "https://sqs.us-east-1.amazonaws.com/111122223333/dlq",
    );
    let results = dlq
        .send(letters, Instant::now() + Duration::from_secs(30))
        .await;
    assert!(!results.is_empty(), "one result per letter");
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    replay::request_bodies(&http)
        .into_iter()
        .map(|b| b["Entries"].as_array().expect("entries").clone())
        .collect()
}

#[tokio::test]
async fn a_batch_exactly_at_the_limit_is_one_call_and_one_byte_more_is_two() {
    let at = letters_totalling(MAX_SEND_BATCH_BYTES);
    let batches = sent_batches(&at).await;
    assert_eq!(batches.len(), 1);
    assert_eq!(
        batches[0].iter().map(wire_size).sum::<usize>(),
        MAX_SEND_BATCH_BYTES
    );

    let over = letters_totalling(MAX_SEND_BATCH_BYTES + 1);
    let batches = sent_batches(&over).await;
    assert_eq!(batches.len(), 2, "split rather than refused by SQS");
    for b in &batches {
        assert!(b.iter().map(wire_size).sum::<usize>() <= MAX_SEND_BATCH_BYTES);
    }
    assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 10);
}

/// A reason longer than the room left next to a large body is cut to fit, never refused.
#[tokio::test]
async fn a_long_reason_beside_a_large_body_is_cut_to_fit() {
    let reason = "é".repeat(4000);
    let big = letter(0, MAX_SEND_BATCH_BYTES - 100, &reason);
    let batches = sent_batches(std::slice::from_ref(&big)).await;
    assert_eq!(batches.len(), 1);
    assert!(wire_size(&batches[0][0]) <= MAX_SEND_BATCH_BYTES);
    let sent = batches[0][0]["MessageAttributes"][attr::FILETRAIL_REASON]["StringValue"]
        .as_str()
        .expect("reason");
    assert!(sent.ends_with('…') && sent.starts_with('é'), "{sent}");
}

/// Characters SQS refuses (it answers `InvalidMessageContents`) never reach it: they are
/// written as `\u{XXXX}`, so the letter is accepted and still says what they were.
#[tokio::test]
async fn a_reason_full_of_control_characters_is_escaped_so_sqs_takes_it() {
    let raw: String = (0u32..0x20)
        .chain([0x7f, 0xfffe, 0xffff])
        .filter_map(char::from_u32)
        .collect();
    let reason = format!("serde: control character in string: {raw} end");
    let batches = sent_batches(&[letter(0, 10, &reason)]).await;
    let sent = batches[0][0]["MessageAttributes"][attr::FILETRAIL_REASON]["StringValue"]
        .as_str()
        .expect("reason")
        .to_owned();
    assert!(sent.chars().all(sqs_accepts), "{sent:?}");
    assert!(
        sent.contains("\\u{0000}") && sent.contains("\\u{001B}") && sent.contains("\\u{FFFE}"),
        "{sent}"
    );
    assert!(
        sent.contains('\t') && sent.contains('\n') && sent.contains('\r'),
        "tab, newline and carriage return are allowed as they are"
    );

    // And on the emulator: the letter arrives with that reason.
    let sdk = emulator().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = pipeline::create_queue(&sqs, &unique_name("dl-ctl")).await;
    let dlq = SqsDeadLetters::new(sqs.clone(), &url);
    let results = dlq
        .send(
            &[letter(0, 10, &reason)],
            Instant::now() + Duration::from_secs(30),
        )
        .await;
    assert!(results[0].is_ok(), "{results:?}");
    let got = pipeline::drain(&sqs, &url, 1, Duration::from_secs(30)).await;
    let value = got[0]
        .message_attributes()
        .and_then(|a| a.get(attr::FILETRAIL_REASON))
        .and_then(|v| v.string_value())
        .expect("reason attribute");
    assert_eq!(value, sent);
}
