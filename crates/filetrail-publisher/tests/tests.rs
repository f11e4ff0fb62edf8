//! Integration tests of the publisher (one binary).

mod batching;
mod config;
mod emulator;
mod replay;

use filetrail_contract::{ActionType, FileMoved, Move, OccurredAt};
use filetrail_publisher::PublisherConfig;
use std::time::Duration;

/// `n` distinct, valid events.
pub fn events(n: usize) -> Vec<FileMoved> {
    let now = OccurredAt::now().millis();
    (0..n)
        .map(|i| {
            let mut e = FileMoved::from_move(Move {
                action_type: ActionType::Put,
                source_bucket: Some("hermes-incoming".into()),
                file_key: format!("hermes_eea_l0_2024{:03}-000000_v01.bin", i % 365 + 1),
                destination_bucket: Some("hermes-eea".into()),
                new_file_key: Some(format!("l0/2024/01/01/file-{i}.bin")),
                occurred_at: OccurredAt::from_millis(now - 60_000 + i64::try_from(i).unwrap_or(0)),
            });
            e.stage = Some("test".into());
            e
        })
        .collect()
}

/// A config with a short deadline for tests.
pub fn config(bus: &str) -> PublisherConfig {
    PublisherConfig {
        bus: bus.into(),
        source: "sdc.test".into(),
        deadline: Duration::from_secs(5),
    }
}

/// Short backoff so retry tests are quick.
pub fn fast_backoff() -> filetrail_aws::BackoffSettings {
    filetrail_aws::BackoffSettings {
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        factor: 2.0,
    }
}
