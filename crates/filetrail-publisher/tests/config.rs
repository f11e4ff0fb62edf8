use std::collections::HashMap;
use std::time::Duration;

use filetrail_aws::Env;
use filetrail_publisher::PublisherConfig;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn from(map: &HashMap<String, String>) -> Result<PublisherConfig, filetrail_aws::ConfigError> {
    PublisherConfig::from_env(&Env::from_fn(|k| map.get(k).cloned()))
}

#[test]
fn reads_bus_source_and_deadline() {
    let c = from(&env(&[
        (
            "FILETRAIL_EVENT_BUS",
            "arn:aws:events:us-east-1:111122223333:event-bus/filetrail",
        ),
        ("FILETRAIL_EVENT_SOURCE", "sdc.sorter"),
        ("FILETRAIL_PUBLISH_DEADLINE_MS", "2500"),
    ]))
    .expect("valid");
    assert_eq!(
        c.bus,
        "arn:aws:events:us-east-1:111122223333:event-bus/filetrail"
    );
    assert_eq!(c.source, "sdc.sorter");
    assert_eq!(c.deadline, Duration::from_millis(2500));
}

#[test]
fn errors_name_the_variable() {
    let e = from(&env(&[("FILETRAIL_EVENT_SOURCE", "sdc.sorter")])).expect_err("no bus");
    assert_eq!(e.to_string(), "FILETRAIL_EVENT_BUS: must be set");
    let e = from(&env(&[("FILETRAIL_EVENT_BUS", "b")])).expect_err("no source");
    assert_eq!(e.var, "FILETRAIL_EVENT_SOURCE");
    let e = from(&env(&[
        ("FILETRAIL_EVENT_BUS", "b"),
        ("FILETRAIL_EVENT_SOURCE", "aws.s3"),
    ]))
    .expect_err("reserved");
    assert!(e.to_string().contains("aws."), "{e}");
    let e = from(&env(&[
        ("FILETRAIL_EVENT_BUS", "b"),
        ("FILETRAIL_EVENT_SOURCE", "s"),
        ("FILETRAIL_PUBLISH_DEADLINE_MS", "soon"),
    ]))
    .expect_err("bad number");
    assert!(
        e.to_string()
            .starts_with("FILETRAIL_PUBLISH_DEADLINE_MS: expected"),
        "{e}"
    );
}
