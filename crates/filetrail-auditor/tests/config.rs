//! The auditor's configuration (`FILETRAIL_AUDIT_INVENTORY`) and its refusal of an inventory
//! of the incoming bucket, in process against the emulator.

use filetrail_audit::{AuditError, Progress};
use filetrail_auditor::{Auditor, AuditorConfig, ENV_INVENTORY};
use filetrail_aws::Env;
use filetrail_recorder::config::{ENV_DATABASE, ENV_TABLE};
use filetrail_stages::config::{ENV_BUCKET_PREFIX, ENV_INCOMING_BUCKET, ENV_INSTRUMENTS};
use filetrail_testkit::{emulator, inventory, pipeline};

fn env(vars: Vec<(&'static str, String)>) -> Env<'static> {
    Env::from_fn(move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
}

fn stages(incoming: &str, inventories: Option<&str>) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        (ENV_INCOMING_BUCKET, incoming.to_owned()),
        (ENV_INSTRUMENTS, "eea".to_owned()),
    ];
    if let Some(list) = inventories {
        vars.push((ENV_INVENTORY, list.to_owned()));
    }
    vars
}

#[test]
fn inventories_are_a_comma_separated_list_of_s3_addresses() {
    let now = chrono::Utc::now();
    let none = AuditorConfig::from_env(&env(stages("hermes-incoming", None)), now).expect("config");
    assert!(none.inventory.is_empty());
    let list = " s3://inv/hermes-eea/m.json, s3://inv2/a/b/manifest.json ,";
    let two =
        AuditorConfig::from_env(&env(stages("hermes-incoming", Some(list))), now).expect("config");
    let got: Vec<(&str, &str)> = two
        .inventory
        .iter()
        .map(|u| (u.bucket.as_str(), u.key.as_str()))
        .collect();
    assert_eq!(
        got,
        [("inv", "hermes-eea/m.json"), ("inv2", "a/b/manifest.json")]
    );
    for bad in [
        "inv/manifest.json",
        "s3://inv",
        "s3://inv/m.json,https://x/y",
    ] {
        let e = AuditorConfig::from_env(&env(stages("hermes-incoming", Some(bad))), now)
            .expect_err(bad);
        assert_eq!(e.var, ENV_INVENTORY, "{bad}");
    }
}

#[tokio::test]
async fn an_inventory_of_the_incoming_bucket_is_refused() {
    let sdk = emulator().await;
    let s3 = filetrail_stages::s3_client(&sdk);
    let pipeline::MissionBuckets {
        prefix, incoming, ..
    } = pipeline::mission_buckets(&s3, "inc").await;
    let manifest = inventory::report(&s3, &incoming, inventory::SCHEMA, &[], "CSV").await;
    let mut vars = stages(&incoming, Some(&manifest));
    vars.extend([
        (ENV_BUCKET_PREFIX, prefix),
        (ENV_DATABASE, "unused".to_owned()),
        (ENV_TABLE, "unused".to_owned()),
    ]);
    let config = AuditorConfig::from_env(&env(vars), chrono::Utc::now()).expect("config");
    let auditor = Auditor::connect(config, &sdk, "filetrail-auditor".into())
        .await
        .expect("connect");
    let err = auditor
        .audit(chrono::Utc::now(), &|_: &Progress| {})
        .await
        .expect_err("refused");
    let AuditError::Source(e) = err else {
        panic!("a source error: {err:?}");
    };
    assert_eq!(
        (e.code.as_str(), e.bucket.as_str()),
        ("IncomingInventory", incoming.as_str())
    );
    assert!(e.message.contains(ENV_INVENTORY), "{e}");
}
