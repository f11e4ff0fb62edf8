use std::collections::HashMap;
use std::time::Duration;

use filetrail_aws::Env;
use filetrail_recorder::{Layout, RecorderConfig};

fn from(pairs: &[(&str, &str)]) -> Result<RecorderConfig, filetrail_aws::ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    RecorderConfig::from_env(&Env::from_fn(|k| map.get(k).cloned()))
}

#[test]
fn defaults_are_the_seed_names() {
    let c = from(&[]).expect("defaults");
    assert_eq!(c.database, "sdc_aws_logs");
    assert_eq!(c.table, "sdc_aws_s3_bucket_log_table");
    assert_eq!(c.layout, Layout::Seed);
    assert_eq!(c.dead_letter_queue_url, None);
    assert_eq!(c.write_concurrency, 4);
    assert_eq!(c.safety_margin, Duration::from_millis(1500));
}

#[test]
fn reads_every_variable() {
    let c = from(&[
        ("FILETRAIL_TIMESTREAM_DATABASE", "dev-hermes_sdc_aws_logs"),
        (
            "FILETRAIL_TIMESTREAM_TABLE",
            "dev-hermes_sdc_aws_s3_bucket_log_table",
        ),
        ("FILETRAIL_RECORD_LAYOUT", "multi"),
        (
            "FILETRAIL_DEAD_LETTER_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/111122223333/filetrail-dlq",
        ),
        ("FILETRAIL_WRITE_CONCURRENCY", "500"),
    ])
    .expect("valid");
    assert_eq!(c.database, "dev-hermes_sdc_aws_logs");
    assert_eq!(c.layout, Layout::Multi);
    assert_eq!(c.write_concurrency, 32, "clamped to the named maximum");
    assert!(c.dead_letter_queue_url.is_some());
}

#[test]
fn bad_values_name_their_variable() {
    for (var, value) in [
        ("FILETRAIL_RECORD_LAYOUT", "wide"),
        ("FILETRAIL_TIMESTREAM_TABLE", "a b"),
        ("FILETRAIL_TIMESTREAM_DATABASE", "x"),
        ("FILETRAIL_DEAD_LETTER_QUEUE_URL", "filetrail-dlq"),
        ("FILETRAIL_WRITE_CONCURRENCY", "many"),
        ("FILETRAIL_SAFETY_MARGIN_MS", "-1"),
    ] {
        let e = from(&[(var, value)]).expect_err(value);
        assert_eq!(e.var, var);
        assert!(e.to_string().starts_with(&format!("{var}: ")), "{e}");
    }
}

#[test]
fn the_sink_is_timestream_unless_filetrail_sink_says_influxdb() {
    use filetrail_influxdb::Target;
    use filetrail_recorder::SinkConfig;
    assert_eq!(from(&[]).expect("defaults").sink, SinkConfig::Timestream);
    assert_eq!(
        from(&[("FILETRAIL_SINK", "timestream")]).expect("ok").sink,
        SinkConfig::Timestream
    );
    let c = from(&[
        ("FILETRAIL_SINK", "influxdb"),
        ("FILETRAIL_INFLUXDB_URL", "https://influx.example:8086"),
        ("FILETRAIL_INFLUXDB_DATABASE", "filetrail"),
    ])
    .expect("influxdb");
    match c.sink {
        SinkConfig::InfluxDb(i) => assert_eq!(
            i.target,
            Target::V1 {
                database: "filetrail".into(),
                retention_policy: None
            }
        ),
        other => panic!("{other:?}"),
    }
    for (pairs, var) in [
        (vec![("FILETRAIL_SINK", "influx")], "FILETRAIL_SINK"),
        (
            vec![("FILETRAIL_SINK", "influxdb")],
            "FILETRAIL_INFLUXDB_URL",
        ),
    ] {
        let e = from(&pairs).expect_err(var);
        assert_eq!(e.var, var, "{e}");
    }
}
