//! What `infra/` deploys, on the emulator, uniquely named per run.

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::json;

use crate::SoakError;

/// The resources of one run.
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
    /// The Timestream database.
    pub database: String,
    /// The Timestream table.
    pub table: String,
}

/// How the events queue behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// Visibility timeout of a received message.
    pub visibility_timeout: Duration,
    /// Receives after which SQS moves a message to the DLQ (`maxReceiveCount`, at least 5).
    pub max_receive_count: u32,
}

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<(String, String), SoakError> {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| SoakError::emulator("create queue", e))?
        .queue_url
        .ok_or_else(|| SoakError::Emulator(format!("queue {name} has no URL")))?;
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| SoakError::emulator("queue attributes", e))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| SoakError::Emulator(format!("queue {name} has no ARN")))?;
    Ok((url, arn))
}

/// Create a bus, a FileMoved rule targeting an events queue that redrives to a DLQ, and a
/// Timestream database and table (magnetic-store writes on), all named from `prefix`.
pub async fn create(
    sdk: &aws_config::SdkConfig,
    prefix: &str,
    settings: QueueSettings,
) -> Result<Pipeline, SoakError> {
    if settings.max_receive_count < 5 {
        return Err(SoakError::Options(format!(
            "maxReceiveCount {} is below 5, the least AWS recommends for a Lambda event source",
            settings.max_receive_count
        )));
    }
    let name = filetrail_testkit::unique_name(prefix);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let eb = aws_sdk_eventbridge::Client::new(sdk);
    let ts = aws_sdk_timestreamwrite::Client::new(sdk);

    let (dlq_url, dlq_arn) = queue(&sqs, &format!("{name}-dlq")).await?;
    let (events_queue_url, events_queue_arn) = queue(&sqs, &format!("{name}-events")).await?;
    sqs.set_queue_attributes()
        .queue_url(&events_queue_url)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            settings.visibility_timeout.as_secs().max(1).to_string(),
        )
        .attributes(
            QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receive_count})
                .to_string(),
        )
        .send()
        .await
        .map_err(|e| SoakError::emulator("set queue attributes", e))?;

    let bus = name.clone();
    eb.create_event_bus()
        .name(&bus)
        .send()
        .await
        .map_err(|e| SoakError::emulator("create bus", e))?;
    let rule = format!("{name}-file-moved");
    eb.put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(filetrail_testkit::pipeline::FILE_MOVED_PATTERN)
        .send()
        .await
        .map_err(|e| SoakError::emulator("put rule", e))?;
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("recorder-queue")
        .arn(&events_queue_arn)
        .build()
        .map_err(|e| SoakError::emulator("target", e))?;
    eb.put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(target)
        .send()
        .await
        .map_err(|e| SoakError::emulator("put targets", e))?;

    let database = format!("{name}-db");
    let table = "sdc_aws_s3_bucket_log_table".to_owned();
    ts.create_database()
        .database_name(&database)
        .send()
        .await
        .map_err(|e| SoakError::emulator("create database", e))?;
    ts.create_table()
        .database_name(&database)
        .table_name(&table)
        .magnetic_store_write_properties(
            aws_sdk_timestreamwrite::types::MagneticStoreWriteProperties::builder()
                .enable_magnetic_store_writes(true)
                .build()
                .map_err(|e| SoakError::emulator("table properties", e))?,
        )
        .send()
        .await
        .map_err(|e| SoakError::emulator("create table", e))?;
    Ok(Pipeline {
        bus,
        events_queue_url,
        events_queue_arn,
        dlq_url,
        database,
        table,
    })
}

/// Messages in `queue_url` that are visible, in flight or delayed.
pub async fn depth(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<u64, SoakError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .map_err(|e| SoakError::emulator("queue depth", e))?;
    Ok(out
        .attributes()
        .map(|a| {
            a.values()
                .filter_map(|v| v.parse::<u64>().ok())
                .sum::<u64>()
        })
        .unwrap_or(0))
}

/// Wait until `queue_url` holds nothing (checked twice, `settle` apart) or `timeout` passes.
pub async fn drained(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    settle: Duration,
    timeout: Duration,
) -> Result<(), SoakError> {
    let end = tokio::time::Instant::now() + timeout;
    let mut zeros = 0;
    loop {
        let n = depth(sqs, queue_url).await?;
        zeros = if n == 0 { zeros + 1 } else { 0 };
        if zeros >= 2 {
            return Ok(());
        }
        if tokio::time::Instant::now() >= end {
            return Err(SoakError::Stuck(format!(
                "{queue_url} still holds {n} message(s) after {timeout:?}"
            )));
        }
        tokio::time::sleep(settle).await;
    }
}
