//! What `infra/` deploys, on the emulator: [`create`] makes the whole pipeline (bus, the
//! FileMoved rule with the module's own pattern, events queue with its redrive to the recorder
//! DLQ, the target's retry policy and DLQ, the Timestream table) for the soak and the demo;
//! [`bus_to_queue`] only a bus routed to a queue, for the producers' tests;
//! [`mission_buckets`] a mission's incoming and instrument buckets, for the audit's tests.

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use serde_json::json;

/// The event pattern of the deployed FileMoved rule, read from the Terraform module's own file,
/// so every test pipeline and the demo route exactly what a deployment routes.
pub const FILE_MOVED_PATTERN: &str =
    include_str!("../../../infra/modules/filetrail/file-moved-pattern.json");

/// A bus, a rule with the deployed [`FILE_MOVED_PATTERN`], and the SQS queue it targets.
#[derive(Debug, Clone)]
pub struct BusToQueue {
    /// The bus name.
    pub bus: String,
    /// The rule's name.
    pub rule: String,
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
    let rule = format!("{bus}-rule");
    let queue_url = create_queue(sqs, &format!("{bus}-q")).await;
    let queue_arn = queue_arn(sqs, &queue_url).await;
    route(eb, &bus, &rule, &queue_arn, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    BusToQueue {
        bus,
        rule,
        queue_url,
        queue_arn,
    }
}

/// Why the emulator's resources could not be created or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineError(pub String);

impl std::fmt::Display for PipelineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PipelineError {}

fn failed(what: &str) -> impl Fn(&dyn std::fmt::Debug) -> PipelineError + '_ {
    move |e| PipelineError(format!("{what}: {e:?}"))
}

/// What the pipeline's resources are called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The bus (its rule is `<bus>-file-moved`).
    pub bus: String,
    /// The queue the rule targets, the recorder's event source.
    pub events_queue: String,
    /// The recorder DLQ.
    pub dlq: String,
    /// The EventBridge target's DLQ.
    pub target_dlq: String,
    /// The Timestream database.
    pub database: String,
    /// The Timestream table.
    pub table: String,
}

/// The table the seed's dashboards query, in every pipeline made here.
pub const TABLE: &str = "sdc_aws_s3_bucket_log_table";

impl Names {
    /// Names that never clash between runs: `<prefix>-<unique>`, `-events`, `-dlq`, ….
    pub fn unique(prefix: &str) -> Self {
        let name = crate::unique_name(prefix);
        Self {
            bus: name.clone(),
            events_queue: format!("{name}-events"),
            dlq: format!("{name}-dlq"),
            target_dlq: format!("{name}-target-dlq"),
            database: format!("{name}-db"),
            table: TABLE.into(),
        }
    }

    /// The names a deployment of `project` uses (`<project>-events`, …), with the seed's
    /// database and table.
    pub fn deployed(project: &str, bus: &str) -> Self {
        Self {
            bus: bus.to_owned(),
            events_queue: format!("{project}-events"),
            dlq: format!("{project}-recorder-dlq"),
            target_dlq: format!("{project}-target-dlq"),
            database: "sdc_aws_logs".into(),
            table: TABLE.into(),
        }
    }
}

/// How the events queue and the rule's target behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// Visibility timeout of a received message.
    pub visibility_timeout: Duration,
    /// Receives after which SQS moves a message to the DLQ (`maxReceiveCount`, at least 5).
    pub max_receive_count: u32,
}

/// The least `maxReceiveCount` AWS recommends for a queue that is a Lambda event source
/// (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
pub const LEAST_MAX_RECEIVE_COUNT: u32 = 5;

/// The rule target's retry policy as `infra/` sets it: EventBridge's maximum, 185 attempts
/// over 24 hours (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html).
pub const TARGET_RETRY_ATTEMPTS: i32 = 185;
/// The rule target's maximum event age, in seconds (24 hours).
pub const TARGET_MAX_EVENT_AGE_S: i32 = 86_400;

/// The resources of one pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// The bus events are published to.
    pub bus: String,
    /// The queue the FileMoved rule targets (the recorder's event source).
    pub events_queue_url: String,
    /// Its ARN (the event source ARN in SQS events).
    pub events_queue_arn: String,
    /// The recorder DLQ: the events queue's redrive target, and where the recorder
    /// dead-letters what it can never write.
    pub dlq_url: String,
    /// The DLQ of the rule's target (events EventBridge could not deliver).
    pub target_dlq_url: String,
    /// The Timestream database.
    pub database: String,
    /// The Timestream table.
    pub table: String,
}

/// Create what `infra/` deploys, named `names`: a bus, a FileMoved rule targeting an events
/// queue (185 retries over 24 h, then the target DLQ) that redrives to the recorder DLQ, and a
/// Timestream database and table with magnetic-store writes on.
pub async fn create(
    sdk: &aws_config::SdkConfig,
    names: &Names,
    settings: QueueSettings,
) -> Result<Pipeline, PipelineError> {
    if settings.max_receive_count < LEAST_MAX_RECEIVE_COUNT {
        return Err(PipelineError(format!(
            "maxReceiveCount {} is below {LEAST_MAX_RECEIVE_COUNT}, the least AWS recommends for a Lambda event source",
            settings.max_receive_count
        )));
    }
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let (dlq_url, dlq_arn) = try_queue(&sqs, &names.dlq).await?;
    let (target_dlq_url, target_dlq_arn) = try_queue(&sqs, &names.target_dlq).await?;
    let (events_queue_url, events_queue_arn) = try_queue(&sqs, &names.events_queue).await?;
    let visibility_s = settings.visibility_timeout.as_secs().max(1).to_string();
    let visibility = QueueAttributeName::VisibilityTimeout;
    set_attribute(&sqs, &events_queue_url, visibility, visibility_s).await?;
    redrive(
        &sqs,
        &events_queue_url,
        &dlq_arn,
        settings.max_receive_count,
    )
    .await?;
    let eb = aws_sdk_eventbridge::Client::new(sdk);
    let rule = format!("{}-file-moved", names.bus);
    route(
        &eb,
        &names.bus,
        &rule,
        &events_queue_arn,
        Some(&target_dlq_arn),
    )
    .await?;
    timestream_table(sdk, &names.database, &names.table).await?;
    Ok(Pipeline {
        bus: names.bus.clone(),
        events_queue_url,
        events_queue_arn,
        dlq_url,
        target_dlq_url,
        database: names.database.clone(),
        table: names.table.clone(),
    })
}

/// Create `bus` and its FileMoved rule `rule` ([`FILE_MOVED_PATTERN`]) targeting `queue_arn`;
/// with `target_dlq_arn`, the target has the deployed retry policy and that DLQ.
pub async fn route(
    eb: &aws_sdk_eventbridge::Client,
    bus: &str,
    rule: &str,
    queue_arn: &str,
    target_dlq_arn: Option<&str>,
) -> Result<(), PipelineError> {
    use aws_sdk_eventbridge::types::{DeadLetterConfig, RetryPolicy, Target};
    eb.create_event_bus()
        .name(bus)
        .send()
        .await
        .map_err(|e| failed("create bus")(&e))?;
    rule_pattern(eb, bus, rule, FILE_MOVED_PATTERN).await?;
    let mut target = Target::builder().id("recorder-queue").arn(queue_arn);
    if let Some(dlq) = target_dlq_arn {
        target = target
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(TARGET_RETRY_ATTEMPTS)
                    .maximum_event_age_in_seconds(TARGET_MAX_EVENT_AGE_S)
                    .build(),
            )
            .dead_letter_config(DeadLetterConfig::builder().arn(dlq).build());
    }
    eb.put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(target.build().map_err(|e| failed("target")(&e))?)
        .send()
        .await
        .map_err(|e| failed("put targets")(&e))?;
    Ok(())
}

/// Create or replace the rule `rule` of `bus` with `pattern` (its targets stay).
pub async fn rule_pattern(
    eb: &aws_sdk_eventbridge::Client,
    bus: &str,
    rule: &str,
    pattern: &str,
) -> Result<(), PipelineError> {
    eb.put_rule()
        .name(rule)
        .event_bus_name(bus)
        .event_pattern(pattern)
        .send()
        .await
        .map_err(|e| failed("put rule")(&e))?;
    Ok(())
}

/// Give `queue_url` the redrive policy `infra/` gives the events queue: after
/// `max_receive_count` receives SQS moves a message to the queue `dlq_arn`.
pub async fn redrive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    dlq_arn: &str,
    max_receive_count: u32,
) -> Result<(), PipelineError> {
    let policy = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count});
    let name = QueueAttributeName::RedrivePolicy;
    set_attribute(sqs, queue_url, name, policy.to_string()).await
}

/// Set one attribute of a queue.
async fn set_attribute(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    name: QueueAttributeName,
    value: String,
) -> Result<(), PipelineError> {
    let what = format!("set {} of {url}", name.as_str());
    sqs.set_queue_attributes()
        .queue_url(url)
        .attributes(name, value)
        .send()
        .await
        .map_err(|e| failed(&what)(&e))?;
    Ok(())
}

/// Create a Timestream database and table, with magnetic-store writes on (as `infra/` does,
/// so late records are accepted).
pub async fn timestream_table(
    sdk: &aws_config::SdkConfig,
    database: &str,
    table: &str,
) -> Result<(), PipelineError> {
    let ts = aws_sdk_timestreamwrite::Client::new(sdk);
    ts.create_database()
        .database_name(database)
        .send()
        .await
        .map_err(|e| failed("create database")(&e))?;
    ts.create_table()
        .database_name(database)
        .table_name(table)
        .magnetic_store_write_properties(
            aws_sdk_timestreamwrite::types::MagneticStoreWriteProperties::builder()
                .enable_magnetic_store_writes(true)
                .build()
                .map_err(|e| failed("table properties")(&e))?,
        )
        .send()
        .await
        .map_err(|e| failed("create table")(&e))?;
    Ok(())
}

/// Create a standard queue; its URL and ARN.
pub async fn try_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
) -> Result<(String, String), PipelineError> {
    let url = new_queue(sqs, name).await?;
    let arn = attribute(sqs, &url, QueueAttributeName::QueueArn)
        .await?
        .ok_or_else(|| PipelineError(format!("queue {name} has no ARN")))?;
    Ok((url, arn))
}

/// Create a standard queue; its URL.
async fn new_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<String, PipelineError> {
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| failed(&format!("create queue {name}"))(&e))?
        .queue_url
        .ok_or_else(|| PipelineError(format!("queue {name} has no URL")))
}

/// One attribute of a queue.
async fn attribute(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    name: QueueAttributeName,
) -> Result<Option<String>, PipelineError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .map_err(|e| failed("queue attributes")(&e))?;
    Ok(out.attributes().and_then(|a| a.get(&name)).cloned())
}

/// The mission of [`mission_buckets`].
pub const MISSION: &str = "hermes";
/// The instrument of [`mission_buckets`].
pub const INSTRUMENT: &str = "eea";

/// A mission's incoming bucket and one instrument bucket under one prefix, named as the
/// stages' configuration names them: the instrument bucket `{prefix}{mission}-{instrument}`
/// (`FILETRAIL_BUCKET_PREFIX`, `FILETRAIL_MISSION`, `FILETRAIL_INSTRUMENTS`), the incoming
/// bucket `{prefix}{mission}-incoming` (`FILETRAIL_INCOMING_BUCKET`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissionBuckets {
    /// The prefix, ending in `-`.
    pub prefix: String,
    /// The incoming bucket.
    pub incoming: String,
    /// The bucket of [`INSTRUMENT`].
    pub instrument: String,
}

/// Create [`MISSION`]'s incoming and [`INSTRUMENT`] buckets under a fresh prefix made from
/// `tag`.
pub async fn mission_buckets(s3: &aws_sdk_s3::Client, tag: &str) -> MissionBuckets {
    let prefix = format!("{}-", crate::unique_name(tag));
    let buckets = MissionBuckets {
        incoming: format!("{prefix}{MISSION}-incoming"),
        instrument: format!("{prefix}{MISSION}-{INSTRUMENT}"),
        prefix,
    };
    for b in [&buckets.incoming, &buckets.instrument] {
        s3.create_bucket()
            .bucket(b)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {b}: {e:?}"));
    }
    buckets
}

/// Create a standard queue and return its URL.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    new_queue(sqs, name).await.unwrap_or_else(|e| panic!("{e}"))
}

/// The ARN of a queue.
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    attribute(sqs, url, QueueAttributeName::QueueArn)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("queue {url} has an ARN"))
}

/// The `DeleteMessageBatch` entries for `messages` (ids are their positions).
pub fn delete_entries<'a>(
    messages: impl IntoIterator<Item = &'a Message>,
) -> Vec<aws_sdk_sqs::types::DeleteMessageBatchRequestEntry> {
    messages
        .into_iter()
        .enumerate()
        .filter_map(|(i, m)| {
            aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle()?)
                .build()
                .ok()
        })
        .collect()
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
        let entries = delete_entries(resp.messages());
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
    let visible = QueueAttributeName::ApproximateNumberOfMessages;
    poll_count(sqs, url, visible, |n| n >= expected, timeout)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Poll the count attribute `name` of a queue every 200 ms until `done` holds for it or
/// `timeout` passes; its last value.
async fn poll_count(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    name: QueueAttributeName,
    done: impl Fn(u64) -> bool,
    timeout: Duration,
) -> Result<u64, PipelineError> {
    let start = Instant::now();
    loop {
        let n = attribute(sqs, url, name.clone())
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if done(n) || start.elapsed() >= timeout {
            return Ok(n);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Messages in `queue_url` that are visible, in flight or delayed.
pub async fn held(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<u64, PipelineError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .map_err(|e| failed("queue depth")(&e))?;
    Ok(out
        .attributes()
        .map(|a| {
            a.values()
                .filter_map(|v| v.parse::<u64>().ok())
                .sum::<u64>()
        })
        .unwrap_or(0))
}

/// Wait until no message of `queue_url` is in flight (`ApproximateNumberOfMessagesNotVisible`
/// is 0: every received message was deleted or became visible again), or `timeout` passes;
/// whether it happened.
pub async fn none_in_flight(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    timeout: Duration,
) -> Result<bool, PipelineError> {
    let in_flight = QueueAttributeName::ApproximateNumberOfMessagesNotVisible;
    Ok(poll_count(sqs, url, in_flight, |n| n == 0, timeout).await? == 0)
}

/// Wait until `queue_url` holds nothing (checked twice, `settle` apart) or `timeout` passes.
pub async fn drained(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    settle: Duration,
    timeout: Duration,
) -> Result<(), PipelineError> {
    let end = tokio::time::Instant::now() + timeout;
    let mut zeros = 0;
    loop {
        let n = held(sqs, queue_url).await?;
        zeros = if n == 0 { zeros + 1 } else { 0 };
        if zeros >= 2 {
            return Ok(());
        }
        if tokio::time::Instant::now() >= end {
            return Err(PipelineError(format!(
                "{queue_url} still holds {n} message(s) after {timeout:?}"
            )));
        }
        tokio::time::sleep(settle).await;
    }
}
