//! Integration tests of the InfluxDB client (one binary).

mod answer;
mod config;
mod line;
mod replay;
mod secret;
mod server;

use filetrail_contract::{ActionType, FileMoved, Move, OccurredAt};
use filetrail_influxdb::{InfluxDb, InfluxDbConfig};

/// A client on a fresh database of the test InfluxDB.
pub async fn fresh_database() -> InfluxDb {
    let db = filetrail_testkit::unique_name("ft").replace('-', "_");
    let client = InfluxDb::new(
        &InfluxDbConfig::v1(&filetrail_testkit::influxdb_url(), &db),
        None,
    )
    .expect("client");
    client.create_database(&db).await.expect("create database");
    client
}

/// A valid event with these keys, distinct for each `i`.
pub fn event_with(i: i64, file_key: &str, new_file_key: Option<&str>) -> FileMoved {
    let mut e = FileMoved::from_move(Move {
        action_type: ActionType::Put,
        source_bucket: Some("hermes-incoming".into()),
        file_key: file_key.to_owned(),
        destination_bucket: Some("hermes-eea".into()),
        new_file_key: new_file_key.map(str::to_owned),
        occurred_at: OccurredAt::from_millis(1_714_564_800_123 + i),
    });
    e.stage = Some("sdc.sorter".into());
    e.size = Some(1_048_576);
    e
}
