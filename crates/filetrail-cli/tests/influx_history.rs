//! `filetrail history --sink influxdb` against the real InfluxDB `make test` starts.

use filetrail_contract::{ActionType, FileMoved, Move, OccurredAt};
use filetrail_influxdb::{ENV_DATABASE, ENV_URL, InfluxDb, InfluxDbConfig};
use filetrail_testkit::influxdb_url;

use super::{assert_success, filetrail};

fn moved(t: i64, from: (&str, &str), to: (&str, &str)) -> FileMoved {
    FileMoved::from_move(Move {
        action_type: ActionType::Put,
        source_bucket: Some(from.0.into()),
        file_key: from.1.into(),
        destination_bucket: Some(to.0.into()),
        new_file_key: Some(to.1.into()),
        occurred_at: OccurredAt::from_millis(1_714_564_800_000 + t),
    })
}

#[tokio::test]
async fn the_trail_of_a_file_through_three_stages_from_influxdb() {
    let url = influxdb_url();
    let db = filetrail_testkit::unique_name("cli").replace('-', "_");
    let client = InfluxDb::new(&InfluxDbConfig::v1(&url, &db), None).expect("client");
    client.create_database(&db).await.expect("create database");
    let raw = "hermes_eea_l0_2024122-120000_v01.bin";
    let l0 = "l0/2024/05/01/hermes_eea_l0_2024122-120000_v01.bin";
    let l1 = "l1/2024/05/01/hermes_eea_l1_20240501T120000_v1.0.0.cdf";
    let ql = "ql/2024/05/01/hermes_eea_ql_20240501T120000_v1.0.0.cdf";
    let events = [
        moved(0, ("hermes-incoming", raw), ("hermes-eea", l0)),
        moved(60_000, ("hermes-eea", l0), ("hermes-eea", l1)),
        moved(120_000, ("hermes-eea", l1), ("hermes-eea", ql)),
        moved(
            5,
            ("hermes-incoming", "unrelated.bin"),
            ("hermes-eea", "l0/unrelated.bin"),
        ),
    ];
    let lines: Vec<String> = events
        .iter()
        .map(|e| client.point(e).expect("point"))
        .collect();
    client.write(&lines).await.expect("written");

    let out = filetrail()
        .args(["--json", "history", raw, "--sink", "influxdb"])
        .env(ENV_URL, &url)
        .env(ENV_DATABASE, &db)
        .output()
        .await
        .expect("run");
    assert_success(&out);
    let moves: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let hops: Vec<(&str, &str)> = moves
        .as_array()
        .expect("array")
        .iter()
        .map(|m| {
            (
                m["file_key"].as_str().expect("k"),
                m["new_file_key"].as_str().expect("n"),
            )
        })
        .collect();
    assert_eq!(
        hops,
        [(raw, l0), (l0, l1), (l1, ql)],
        "three stages, newest last"
    );
    assert_eq!(moves[0]["time"], "2024-05-01T12:00:00.000Z");
    assert_eq!(moves[2]["event_id"], events[2].event_id.as_str());
}
