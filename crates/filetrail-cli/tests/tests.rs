//! Integration tests of the CLI (one binary).

mod audit;
mod dlq;
mod history;
mod influx_history;
mod publish;
mod replay;
mod validate;

use std::time::Duration;

use aws_sdk_sqs::types::MessageAttributeValue;
use filetrail_contract::{ActionType, FileMoved, Move, OccurredAt};
use filetrail_recorder::{DeadLetter, DeadLetterClass, DeadLetters, SqsDeadLetters};
pub use filetrail_testkit::fixtures::envelope;
use filetrail_testkit::fixtures::envelope_from;
use filetrail_testkit::{endpoint, pipeline, unique_name};

/// A fixed time an hour before this test process started.
fn base_millis() -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| OccurredAt::now().millis())
}

/// A valid event, distinct per `tag` and `i`, the same for the same arguments in one process.
pub fn event(tag: &str, i: usize) -> FileMoved {
    let now = base_millis();
    FileMoved::from_move(Move {
        action_type: ActionType::Put,
        source_bucket: Some("hermes-incoming".into()),
        file_key: format!("{tag}/hermes_eea_l0_2024001-{i:06}_v01.bin"),
        destination_bucket: Some(["hermes-eea", "hermes-merit"][i % 2].into()),
        new_file_key: Some(format!("l0/2024/01/01/{tag}-{i}.bin")),
        occurred_at: OccurredAt::from_millis(now - 3_600_000 + i64::try_from(i).unwrap_or(0)),
    })
}

fn attr(v: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .expect("attribute")
}

/// A DLQ holding `valid_per_form` valid events in each of the three forms plus 10 invalid
/// messages: EventBridge target-DLQ messages, real redrive copies (moved by the emulator's
/// redrive policy) and the recorder's own dead letters. Returns the URL and the valid events.
pub async fn filled_dlq(
    sqs: &aws_sdk_sqs::Client,
    tag: &str,
    per_form: [usize; 3],
) -> (String, Vec<FileMoved>) {
    let dlq = pipeline::create_queue(sqs, &unique_name(&format!("{tag}-dlq"))).await;
    let dlq_arn = pipeline::queue_arn(sqs, &dlq).await;
    let mut events = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        event(tag, n)
    };

    // 1. EventBridge target-DLQ form: the envelope as body, the four attributes.
    for _ in 0..per_form[0] {
        let e = next();
        send_target_dlq(sqs, &dlq, &envelope(&e)).await;
        events.push(e);
    }
    // 2. Redrive copies: through a source queue whose redrive policy moves them after 1 receive.
    let source = pipeline::create_queue(sqs, &unique_name(&format!("{tag}-src"))).await;
    pipeline::redrive(sqs, &source, &dlq_arn, 1)
        .await
        .expect("the source queue redrives to the DLQ");
    for _ in 0..per_form[1] {
        let e = next();
        sqs.send_message()
            .queue_url(&source)
            .message_body(envelope_from(&e, "sdc.processor"))
            .send()
            .await
            .expect("send");
        events.push(e);
    }
    // The emulator's redrive, like SQS's, moves a message on the receive after its last allowed one.
    let mut empty = 0;
    while empty < 2 {
        let got = sqs
            .receive_message()
            .queue_url(&source)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .expect("receive");
        empty = if got.messages().is_empty() {
            empty + 1
        } else {
            0
        };
    }
    // 3. The recorder's own dead letters (written by the recorder's real DLQ code).
    let recorder_dlq = SqsDeadLetters::new(sqs.clone(), &dlq);
    let mut letters: Vec<DeadLetter> = (0..per_form[2])
        .map(|i| {
            let e = next();
            let letter = DeadLetter {
                message_id: format!("rec-{i}"),
                body: envelope(&e),
                reason: "Timestream rejected the record (outside the table's time window): The record timestamp is outside the time range of the memory store.".into(),
                class: DeadLetterClass::Rejected,
            };
            events.push(e);
            letter
        })
        .collect();
    // Ten that are still invalid: five recorder dead letters, five target-DLQ messages.
    for i in 0..5 {
        letters.push(DeadLetter {
            message_id: format!("bad-{i}"),
            body: format!("{{\"detail-type\":\"FileMoved\",\"detail\":{{\"schema_version\":1,\"file_key\":\"\",\"n\":{i}}}}}"),
            reason: "detail.file_key: must not be empty".into(),
            class: DeadLetterClass::Invalid,
        });
    }
    for r in recorder_dlq
        .send(
            &letters,
            std::time::Instant::now() + Duration::from_secs(30),
        )
        .await
    {
        r.expect("dead-lettered");
    }
    for i in 0..5 {
        send_target_dlq(sqs, &dlq, &format!("not an event {i}")).await;
    }
    (dlq, events)
}

async fn send_target_dlq(sqs: &aws_sdk_sqs::Client, dlq: &str, body: &str) {
    sqs.send_message()
        .queue_url(dlq)
        .message_body(body)
        .message_attributes(
            "RULE_ARN",
            attr("arn:aws:events:us-east-1:111122223333:rule/filetrail/file-moved"),
        )
        .message_attributes(
            "TARGET_ARN",
            attr("arn:aws:sqs:us-east-1:111122223333:filetrail-events"),
        )
        .message_attributes("ERROR_CODE", attr("NO_RESOURCE"))
        .message_attributes(
            "ERROR_MESSAGE",
            attr("Failed to send the message to the SQS queue, queue does not exist."),
        )
        .send()
        .await
        .expect("send target-DLQ message");
}

/// The `filetrail` binary, set up for the emulator.
pub fn filetrail() -> tokio::process::Command {
    filetrail_via(&endpoint())
}

/// The emulator behind a front that answers `TestEventPattern`, which moto does not implement.
pub async fn front() -> filetrail_testkit::front::Front {
    use filetrail_testkit::front::{Front, TEST_EVENT_PATTERN, test_event_pattern};
    Front::start(
        &endpoint(),
        vec![(TEST_EVENT_PATTERN, test_event_pattern())],
    )
    .await
}

/// The `filetrail` binary, set up for the AWS endpoint `url`.
pub fn filetrail_via(url: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_filetrail"));
    cmd.envs(filetrail_testkit::aws_env(url)).kill_on_drop(true);
    cmd
}

/// Assert that a run of the binary succeeded, showing its standard error when not.
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh bus routed to a fresh queue on the emulator (see [`pipeline::bus_to_queue`]), and an
/// SQS client to read the queue.
pub async fn routed_bus(prefix: &str) -> (aws_sdk_sqs::Client, pipeline::BusToQueue) {
    let sdk = filetrail_testkit::emulator().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let route = pipeline::bus_to_queue(&aws_sdk_eventbridge::Client::new(&sdk), &sqs, prefix).await;
    (sqs, route)
}

/// Replace the FileMoved rule of `route` (made by [`pipeline::bus_to_queue`]) with one that
/// routes only the stages' sources (the module's rule before every FileMoved was routed).
pub async fn narrow_the_rule(eb: &aws_sdk_eventbridge::Client, route: &pipeline::BusToQueue) {
    let stages_only = r#"{"detail-type":["FileMoved"],"source":["sdc.sorter","sdc.processor"]}"#;
    pipeline::rule_pattern(eb, &route.bus, &route.rule, stages_only)
        .await
        .expect("narrow the rule");
}

/// Visible messages in a queue, read and deleted.
pub async fn drain_all(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    expected: usize,
) -> Vec<aws_sdk_sqs::types::Message> {
    let mut got = pipeline::drain(sqs, url, expected, Duration::from_secs(90)).await;
    // Anything beyond `expected` shows up within one more empty round.
    got.extend(pipeline::drain(sqs, url, usize::MAX, Duration::from_secs(2)).await);
    got
}
