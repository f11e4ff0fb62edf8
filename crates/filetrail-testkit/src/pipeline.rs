//! A bus whose rule routes `FileMoved` events to a fresh SQS queue, on the emulator.

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};

/// The event pattern of the deployed FileMoved rule, read from the Terraform module's own file,
/// so every test pipeline and the demo route exactly what a deployment routes.
pub const FILE_MOVED_PATTERN: &str =
    include_str!("../../../infra/modules/filetrail/file-moved-pattern.json");

/// A bus, a rule with the deployed [`FILE_MOVED_PATTERN`], and the SQS queue it targets.
#[derive(Debug, Clone)]
pub struct BusToQueue {
    /// The bus name.
    pub bus: String,
    /// The queue URL.
    pub queue_url: String,
    /// The queue ARN.
    pub queue_arn: String,
}

/// Create a bus, a queue and the rule between them, all uniquely named.
pub async fn bus_to_queue(
    eb: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    prefix: &str,
) -> BusToQueue {
    let bus = crate::unique_name(prefix);
    eb.create_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bus: {e:?}"));
    let queue_url = create_queue(sqs, &format!("{bus}-q")).await;
    let queue_arn = queue_arn(sqs, &queue_url).await;
    let rule = format!("{bus}-rule");
    eb.put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(FILE_MOVED_PATTERN)
        .send()
        .await
        .unwrap_or_else(|e| panic!("put rule: {e:?}"));
    eb.put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&queue_arn)
                .build()
                .unwrap_or_else(|e| panic!("target: {e:?}")),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("put targets: {e:?}"));
    BusToQueue {
        bus,
        queue_url,
        queue_arn,
    }
}

/// Create a standard queue and return its URL.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create queue {name}: {e:?}"))
        .queue_url
        .unwrap_or_else(|| panic!("queue {name} has a URL"))
}

/// The ARN of a queue.
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("queue attributes: {e:?}"));
    attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_else(|| panic!("queue {url} has an ARN"))
}

/// Receive and delete messages until `expected` arrived or `timeout` passed; returns them all.
pub async fn drain(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    expected: usize,
    timeout: Duration,
) -> Vec<Message> {
    let start = Instant::now();
    let mut out = Vec::new();
    while out.len() < expected && start.elapsed() < timeout {
        let resp = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap_or_else(|e| panic!("receive: {e:?}"));
        let entries: Vec<aws_sdk_sqs::types::DeleteMessageBatchRequestEntry> = resp
            .messages()
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle()?)
                    .build()
                    .ok()
            })
            .collect();
        if !entries.is_empty() {
            sqs.delete_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .unwrap_or_else(|e| panic!("delete: {e:?}"));
        }
        out.extend(resp.messages().iter().cloned());
    }
    out
}

/// Visible messages in a queue (`ApproximateNumberOfMessages`, exact on the emulator), polled
/// until it reaches `expected` or `timeout` passes.
pub async fn depth(sqs: &aws_sdk_sqs::Client, url: &str, expected: u64, timeout: Duration) -> u64 {
    let start = Instant::now();
    loop {
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap_or_else(|e| panic!("queue attributes: {e:?}"));
        let n = attrs
            .attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if n >= expected || start.elapsed() >= timeout {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
