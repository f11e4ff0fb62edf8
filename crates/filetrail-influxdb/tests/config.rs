//! Configuration from the environment.

use filetrail_aws::{ConfigError, Env};
use filetrail_influxdb::{InfluxDbConfig, Target, Token, TokenSource};

fn from(pairs: &[(&str, &str)]) -> Result<InfluxDbConfig, ConfigError> {
    let lookup = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    };
    InfluxDbConfig::from_env(&Env::from_fn(lookup))
}

#[test]
fn v1_and_v2_targets() {
    let c = from(&[
        ("FILETRAIL_INFLUXDB_URL", "https://influx.example:8086"),
        ("FILETRAIL_INFLUXDB_DATABASE", "filetrail"),
        ("FILETRAIL_INFLUXDB_RETENTION_POLICY", "forever"),
        ("FILETRAIL_INFLUXDB_TOKEN", "s3cr3t"),
    ])
    .expect("v1");
    assert_eq!(
        c.target,
        Target::V1 {
            database: "filetrail".into(),
            retention_policy: Some("forever".into())
        }
    );
    assert_eq!(c.token, TokenSource::Value(Token::new("s3cr3t")));
    assert_eq!(c.measurement, "file_moved");
    assert!(
        !format!("{c:?}").contains("s3cr3t"),
        "the token never shows in logs"
    );

    let c = from(&[
        ("FILETRAIL_INFLUXDB_URL", "http://127.0.0.1:8086/"),
        ("FILETRAIL_INFLUXDB_BUCKET", "filetrail"),
        ("FILETRAIL_INFLUXDB_ORG", "hermes"),
        (
            "FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:influx-token-AbCdEf",
        ),
        ("FILETRAIL_INFLUXDB_MEASUREMENT", "hermes_moves"),
    ])
    .expect("v2");
    assert_eq!(
        c.target,
        Target::V2 {
            org: "hermes".into(),
            bucket: "filetrail".into()
        }
    );
    assert!(matches!(c.token, TokenSource::SecretArn(_)));
    assert_eq!(c.measurement, "hermes_moves");
}

#[test]
fn bad_values_name_their_variable() {
    let url = ("FILETRAIL_INFLUXDB_URL", "https://influx.example:8086");
    let db = ("FILETRAIL_INFLUXDB_DATABASE", "filetrail");
    for (pairs, var) in [
        (vec![db], "FILETRAIL_INFLUXDB_URL"),
        (
            vec![("FILETRAIL_INFLUXDB_URL", "influx.example:8086"), db],
            "FILETRAIL_INFLUXDB_URL",
        ),
        (vec![url], "FILETRAIL_INFLUXDB_DATABASE"),
        (
            vec![
                url,
                db,
                ("FILETRAIL_INFLUXDB_BUCKET", "b"),
                ("FILETRAIL_INFLUXDB_ORG", "o"),
            ],
            "FILETRAIL_INFLUXDB_DATABASE",
        ),
        (
            vec![url, ("FILETRAIL_INFLUXDB_BUCKET", "b")],
            "FILETRAIL_INFLUXDB_ORG",
        ),
        (
            vec![url, ("FILETRAIL_INFLUXDB_ORG", "o")],
            "FILETRAIL_INFLUXDB_BUCKET",
        ),
        (
            vec![
                url,
                ("FILETRAIL_INFLUXDB_BUCKET", "b"),
                ("FILETRAIL_INFLUXDB_ORG", "o"),
                ("FILETRAIL_INFLUXDB_RETENTION_POLICY", "x"),
            ],
            "FILETRAIL_INFLUXDB_RETENTION_POLICY",
        ),
        (
            vec![
                url,
                db,
                ("FILETRAIL_INFLUXDB_TOKEN", "t"),
                (
                    "FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN",
                    "arn:aws:secretsmanager:x",
                ),
            ],
            "FILETRAIL_INFLUXDB_TOKEN",
        ),
        (
            vec![
                url,
                db,
                ("FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN", "influx-token"),
            ],
            "FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN",
        ),
        (
            vec![url, db, ("FILETRAIL_INFLUXDB_MEASUREMENT", "file moved")],
            "FILETRAIL_INFLUXDB_MEASUREMENT",
        ),
        (
            vec![url, db, ("FILETRAIL_INFLUXDB_MEASUREMENT", "_internal")],
            "FILETRAIL_INFLUXDB_MEASUREMENT",
        ),
    ] {
        let e = from(&pairs).expect_err(var);
        assert_eq!(e.var, var, "{pairs:?}: {e}");
        assert!(e.to_string().starts_with(&format!("{var}: ")), "{e}");
    }
}
