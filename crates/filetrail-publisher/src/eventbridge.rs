//! The adapter from the [`PutEvents`] seam to the real EventBridge client.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::{CallError, Entry, EntryOutcome, Publisher, PublisherConfig, PutEvents};

/// EventBridge `PutEvents` on one bus.
#[derive(Debug, Clone)]
pub struct EventBridge {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridge {
    /// Publish to `bus` (name or ARN) with `client`.
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }
}

impl PutEvents for EventBridge {
    async fn put_events(&self, entries: &[Entry]) -> Result<Vec<EntryOutcome>, CallError> {
        let request: Vec<PutEventsRequestEntry> = entries
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(&e.source)
                    .detail_type(e.detail_type)
                    .detail(&e.detail)
                    .build()
            })
            .collect();
        let output = self
            .client
            .put_events()
            .set_entries(Some(request))
            .send()
            .await
            .map_err(|err| {
                CallError::from(filetrail_aws::classify(
                    filetrail_aws::Service::EventBridge,
                    &err,
                ))
            })?;
        let results = output.entries();
        if results.len() != entries.len() {
            return Err(CallError {
                retryable: true,
                code: "MismatchedResponse".into(),
                message: format!(
                    "sent {} entries, the response described {}",
                    entries.len(),
                    results.len()
                ),
            });
        }
        Ok(results
            .iter()
            .map(|r| match r.error_code() {
                Some(code) => EntryOutcome::Failed {
                    code: code.to_owned(),
                    message: r.error_message().unwrap_or_default().to_owned(),
                },
                None => EntryOutcome::Delivered {
                    envelope_id: r.event_id().unwrap_or_default().to_owned(),
                },
            })
            .collect())
    }
}

impl Publisher<EventBridge> {
    /// A publisher configured from the environment and the standard AWS chain.
    pub async fn from_env() -> Result<Self, filetrail_aws::ConfigError> {
        let config = PublisherConfig::from_env(&filetrail_aws::Env::process())?;
        let sdk = filetrail_aws::load_sdk_config().await;
        let client = EventBridge::new(aws_sdk_eventbridge::Client::new(&sdk), config.bus.clone());
        Ok(Self::new(client, config))
    }
}
