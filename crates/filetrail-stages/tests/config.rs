//! Configuration from the environment: defaults, and errors that name the variable.

use std::collections::HashMap;

use filetrail_aws::Env;
use filetrail_stages::config::{
    ENV_BUCKET_PREFIX, ENV_INCOMING_BUCKET, ENV_INSTRUMENTS, ENV_MISSION, ENV_PROCESS_COMMAND,
};
use filetrail_stages::{CopySettings, ProcessorConfig, SorterConfig};

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn sorter(pairs: &[(&str, &str)]) -> Result<SorterConfig, filetrail_aws::ConfigError> {
    let vars = env(pairs);
    SorterConfig::from_env(&Env::from_fn(|k| vars.get(k).cloned()))
}

fn processor(pairs: &[(&str, &str)]) -> Result<ProcessorConfig, filetrail_aws::ConfigError> {
    let vars = env(pairs);
    ProcessorConfig::from_env(&Env::from_fn(|k| vars.get(k).cloned()))
}

#[test]
fn sorter_defaults() {
    let c = sorter(&[(ENV_INCOMING_BUCKET, "hermes-incoming")]).expect("valid");
    assert_eq!(c.incoming_bucket, "hermes-incoming");
    assert_eq!(c.bucket_prefix, "");
    assert_eq!(c.rules.mission(), "hermes");
    let names: Vec<&str> = c
        .rules
        .instruments()
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, ["eea", "nemisis", "merit", "spani"]);
    assert_eq!(c.copy, CopySettings::default());
}

#[test]
fn sorter_reads_every_variable() {
    let c = sorter(&[
        (ENV_INCOMING_BUCKET, "dev-padre-incoming"),
        (ENV_MISSION, "padre"),
        (ENV_INSTRUMENTS, "meddea,sharp:shp"),
        (ENV_BUCKET_PREFIX, "dev-"),
    ])
    .expect("valid");
    assert_eq!(c.rules.mission(), "padre");
    assert_eq!(c.rules.instruments()[1].aliases, ["shp"]);
    assert_eq!(c.bucket_prefix, "dev-");
}

#[test]
fn sorter_errors_name_the_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], ENV_INCOMING_BUCKET),
        (
            &[(ENV_INCOMING_BUCKET, "Not_A_Bucket")],
            ENV_INCOMING_BUCKET,
        ),
        (
            &[(ENV_INCOMING_BUCKET, "in"), (ENV_MISSION, "hermes")],
            ENV_INCOMING_BUCKET,
        ),
        (
            &[(ENV_INCOMING_BUCKET, "incoming"), (ENV_MISSION, "her mes")],
            ENV_MISSION,
        ),
        (
            &[(ENV_INCOMING_BUCKET, "incoming"), (ENV_INSTRUMENTS, ":x")],
            ENV_INSTRUMENTS,
        ),
        (
            &[
                (ENV_INCOMING_BUCKET, "incoming"),
                (ENV_INSTRUMENTS, "eea,EEA"),
            ],
            ENV_INSTRUMENTS,
        ),
        (
            &[(ENV_INCOMING_BUCKET, "incoming"), (ENV_INSTRUMENTS, " , ")],
            ENV_INSTRUMENTS,
        ),
        (
            &[
                (ENV_INCOMING_BUCKET, "incoming"),
                (ENV_BUCKET_PREFIX, "Dev_"),
            ],
            ENV_BUCKET_PREFIX,
        ),
        (
            &[
                (ENV_INCOMING_BUCKET, "incoming"),
                (ENV_BUCKET_PREFIX, &"x".repeat(60)),
            ],
            ENV_BUCKET_PREFIX,
        ),
    ];
    for (pairs, var) in cases {
        let err = sorter(pairs).expect_err("invalid");
        assert_eq!(err.var, *var, "{pairs:?}: {err}");
        assert!(err.to_string().starts_with(var), "{err}");
    }
}

#[test]
fn processor_needs_an_executable_command() {
    let script = super::example_command();
    let c = processor(&[(ENV_PROCESS_COMMAND, script.to_str().expect("utf-8"))]).expect("valid");
    assert_eq!(c.command, script);
    assert_eq!(c.rules.mission(), "hermes");

    assert_eq!(processor(&[]).expect_err("unset").var, ENV_PROCESS_COMMAND);
    let missing = processor(&[(ENV_PROCESS_COMMAND, "/nonexistent/process")]).expect_err("missing");
    assert_eq!(missing.var, ENV_PROCESS_COMMAND);
    assert!(
        missing.problem.contains("/nonexistent/process"),
        "{missing}"
    );
    let dir = processor(&[(ENV_PROCESS_COMMAND, env!("CARGO_MANIFEST_DIR"))]).expect_err("a dir");
    assert!(dir.problem.contains("not a file"), "{dir}");
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let not_exec = processor(&[(ENV_PROCESS_COMMAND, manifest)]).expect_err("not executable");
    assert!(not_exec.problem.contains("not executable"), "{not_exec}");
    let bad_mission = processor(&[
        (ENV_PROCESS_COMMAND, script.to_str().expect("utf-8")),
        (ENV_MISSION, "a_b"),
    ])
    .expect_err("bad mission");
    assert_eq!(bad_mission.var, ENV_MISSION);
}
