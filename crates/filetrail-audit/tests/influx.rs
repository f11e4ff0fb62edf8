//! The InfluxDB trail against a real InfluxDB (`scripts/with-influxdb.sh`,
//! `filetrail_testkit::influxdb_url`): keys with quotes, backslashes, separators and non-ASCII
//! text found exactly as stored, a lookup cut into several statements under a small URL
//! budget, every key asked in exactly one of them, and a time bound that keeps a point at it
//! and drops one a millisecond before.

use filetrail_audit::{InfluxTrail, Lookup, Trail};
use filetrail_contract::{ActionType, FileMoved, Move, OccurredAt};
use filetrail_influxdb::{InfluxDb, InfluxDbConfig, LineOutcome, url_encode};
use filetrail_testkit::{influxdb_url, unique_name};

const EEA: &str = "dev-hermes-eea";

/// A fresh database on the test server, and its client.
async fn influx() -> InfluxDb {
    let url = influxdb_url();
    let db = unique_name("trail").replace('-', "_");
    let vars = [
        (filetrail_influxdb::ENV_URL, url),
        (filetrail_influxdb::ENV_DATABASE, db.clone()),
    ];
    let env =
        filetrail_aws::Env::from_fn(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));
    let client =
        InfluxDb::new(&InfluxDbConfig::from_env(&env).expect("config"), None).expect("client");
    client
        .query(&format!("CREATE DATABASE \"{db}\""))
        .await
        .expect("database");
    client
}

fn put(source: (&str, &str), destination: (&str, Option<&str>)) -> FileMoved {
    FileMoved::from_move(Move {
        action_type: ActionType::Put,
        source_bucket: Some(source.0.into()),
        file_key: source.1.into(),
        destination_bucket: Some(destination.0.into()),
        new_file_key: destination.1.map(str::to_owned),
        occurred_at: OccurredAt::now(),
    })
}

async fn write(client: &InfluxDb, events: &[FileMoved]) {
    let lines: Vec<String> = events
        .iter()
        .map(|e| client.point(e).expect("point"))
        .collect();
    let outcomes = client.write(&lines).await.expect("write");
    assert!(
        outcomes.iter().all(|o| *o == LineOutcome::Written),
        "{outcomes:?}"
    );
}

/// Keys that quoting and escaping must carry through: InfluxQL quotes, backslashes, line
/// protocol's separators, non-ASCII text.
const ODD: [&str; 6] = [
    "l1/o'brien.cdf",
    "l1/back\\slash.cdf",
    "l1/ünïcødé ☃ 日本.cdf",
    "l1/comma,equals=space .cdf",
    "l1/quote\".cdf",
    "l1/trailing\\",
];

#[tokio::test]
async fn odd_keys_are_found_exactly_as_stored() {
    let client = influx().await;
    // Each odd key recorded as a destination (unchanged key) and as the source of a product.
    let mut events: Vec<FileMoved> = ODD
        .iter()
        .map(|k| put(("producer", k), (EEA, None)))
        .collect();
    events.extend(
        ODD.iter()
            .map(|k| put((EEA, k), (EEA, Some("l2/product.cdf")))),
    );
    write(&client, &events).await;
    // Keys that differ from a recorded one only by escaping are not found.
    let near = [
        "l1/o\\'brien.cdf",
        "l1/back\\\\slash.cdf",
        "l1/o''brien.cdf",
    ];
    let destinations: Vec<&str> = ODD.iter().chain(near.iter()).copied().collect();
    let trail = InfluxTrail::new(client);
    let found = trail
        .lookup(&Lookup {
            bucket: EEA,
            sources: &ODD,
            destinations: &destinations,
            not_before: None,
        })
        .await
        .expect("lookup");
    assert_eq!(found.queries, 1);
    let mut as_destination: Vec<&str> = found
        .records
        .iter()
        .filter(|r| r.source_bucket.as_deref() == Some("producer"))
        .map(|r| r.destination_key())
        .collect();
    let mut as_source: Vec<&str> = found
        .records
        .iter()
        .filter(|r| r.source_bucket.as_deref() == Some(EEA))
        .map(|r| r.file_key.as_str())
        .collect();
    as_destination.sort_unstable();
    as_source.sort_unstable();
    let mut want = ODD.to_vec();
    want.sort_unstable();
    assert_eq!(
        as_destination, want,
        "every odd key, and none of the near ones"
    );
    assert_eq!(as_source, want);
}

#[tokio::test]
async fn a_lookup_over_the_url_budget_is_cut_into_statements_that_fit() {
    let client = influx().await;
    let keys: Vec<String> = (0..60)
        .map(|i| format!("l1/{i:03}-{}-{}.cdf", "é".repeat(8), "x".repeat(30)))
        .collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    // Every third key recorded; the first ten are also looked up as sources.
    let events: Vec<FileMoved> = refs
        .iter()
        .step_by(3)
        .map(|k| put(("producer", k), (EEA, None)))
        .collect();
    write(&client, &events).await;
    let budget = 8 * 1024;
    let trail = InfluxTrail::new(client).with_max_url_bytes(budget);
    let lookup = Lookup {
        bucket: EEA,
        sources: &refs[..10],
        destinations: &refs,
        not_before: None,
    };
    let parts = trail.parts(&lookup);
    assert!(parts.len() > 2, "{} parts", parts.len());
    let mut asked = Vec::new();
    for part in &parts {
        let url = url_encode(&trail.statement(part)).len();
        assert!(url + 1024 <= budget, "{url} bytes of statement");
        asked.extend(part.sources.iter().map(|k| ("source", *k)));
        asked.extend(part.destinations.iter().map(|k| ("destination", *k)));
    }
    let mut want: Vec<(&str, &str)> = refs[..10].iter().map(|k| ("source", *k)).collect();
    want.extend(refs.iter().map(|k| ("destination", *k)));
    assert_eq!(asked, want, "every key in exactly one statement, in order");
    let found = trail.lookup(&lookup).await.expect("lookup");
    assert_eq!(found.queries, parts.len());
    let mut got: Vec<&str> = found.records.iter().map(|r| r.destination_key()).collect();
    got.sort_unstable();
    got.dedup();
    assert_eq!(got, refs.iter().step_by(3).copied().collect::<Vec<_>>());
}

#[tokio::test]
async fn a_bounded_statement_finds_a_point_at_the_bound_and_none_before_it() {
    let client = influx().await;
    let bound = OccurredAt::now().millis() - 3_600_000;
    // The point's time is the event's occurred_at.
    let at = |key: &str, ms: i64| {
        FileMoved::from_move(Move {
            occurred_at: OccurredAt::from_millis(ms),
            ..put(("producer", key), (EEA, None)).to_move()
        })
    };
    write(
        &client,
        &[at("l1/at-bound.cdf", bound), at("l1/before.cdf", bound - 1)],
    )
    .await;
    let trail = InfluxTrail::new(client);
    let keys = ["l1/at-bound.cdf", "l1/before.cdf"];
    let mut lookup = Lookup {
        bucket: EEA,
        sources: &[],
        destinations: &keys,
        not_before: chrono::DateTime::from_timestamp_millis(bound),
    };
    let statement = trail.statement(&lookup);
    let rfc3339 = lookup
        .not_before
        .expect("bound")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert!(
        statement.contains(&format!(" AND time >= '{rfc3339}' AND (")),
        "{statement}"
    );
    let found = trail.lookup(&lookup).await.expect("lookup");
    let keys_found: Vec<&str> = found.records.iter().map(|r| r.destination_key()).collect();
    assert_eq!(keys_found, ["l1/at-bound.cdf"]);
    lookup.not_before = None;
    assert!(!trail.statement(&lookup).contains("time >="));
    let found = trail.lookup(&lookup).await.expect("lookup");
    assert_eq!(found.records.len(), 2, "the whole trail: {found:?}");
}
