//! The classification of InfluxDB's answers, in the shapes each version sends.

use std::time::Duration;

use filetrail_influxdb::answer::{classify, parse_retry_after};
use filetrail_influxdb::{
    ENV_DATABASE, ENV_RETENTION_POLICY, ENV_TOKEN, ENV_URL, LineOutcome, WriteError,
};

fn lines() -> Vec<String> {
    vec![
        "file_moved,file_key=a timestamp=1.000 1000".into(),
        "file_moved,file_key=b timestamp=2.000 2000".into(),
        "file_moved,file_key=c timestamp=3.000 3000".into(),
    ]
}

fn refused(o: &LineOutcome) -> Option<&str> {
    match o {
        LineOutcome::Refused(r) => Some(r),
        _ => None,
    }
}

#[test]
fn no_content_means_every_line_written() {
    assert_eq!(
        classify(204, None, b"", &lines()),
        Ok(vec![LineOutcome::Written; 3])
    );
}

#[test]
fn influxdb_1_partial_write_names_lines_by_quoting_them() {
    let body = br#"{"error":"partial write: unable to parse 'file_moved,file_key=b timestamp=2.000 2000': invalid field format\nunable to parse 'file_moved,file_key=c timestamp=3.000 3000': bad timestamp dropped=0"}"#;
    let out = classify(400, None, body, &lines()).expect("per line");
    assert!(matches!(out[0], LineOutcome::Retry(_)), "{out:?}");
    assert_eq!(
        refused(&out[1]),
        Some("InfluxDB refused the point (400): invalid field format")
    );
    assert_eq!(
        refused(&out[2]),
        Some("InfluxDB refused the point (400): bad timestamp")
    );
}

#[test]
fn influxdb_2_names_lines_in_its_message() {
    let body = br#"{"code":"invalid","message":"unable to parse 'file_moved,file_key=a timestamp=1.000 1000': missing tag value"}"#;
    let out = classify(400, None, body, &lines()).expect("per line");
    assert_eq!(
        refused(&out[0]),
        Some("InfluxDB refused the point (400): missing tag value")
    );
    assert!(matches!(out[1], LineOutcome::Retry(_)));
}

#[test]
fn influxdb_3_iox_names_lines_by_number() {
    let body = br#"{"code":"invalid","line":2,"message":"failed to parse line protocol: errors encountered on line(s):\nerror parsing line 2 (1-based): Invalid measurement was provided\nerror parsing line 3 (1-based): Unable to parse timestamp value '123461000000000000000000000000'"}"#;
    let out = classify(400, None, body, &lines()).expect("per line");
    assert!(matches!(out[0], LineOutcome::Retry(_)));
    assert_eq!(
        refused(&out[1]),
        Some("InfluxDB refused the point (400): Invalid measurement was provided")
    );
    assert!(refused(&out[2]).is_some_and(|r| r.contains("Unable to parse timestamp")));
}

#[test]
fn influxdb_3_core_names_lines_in_data() {
    let body = br#"{"error":"partial write of line protocol occurred","data":[{"original_line":"file_moved,file_key=c timestamp=hi 3000","line_number":3,"error_message":"invalid column type for column 'timestamp', expected iox::column_type::field::float, got iox::column_type::field::string"}]}"#;
    let out = classify(400, None, body, &lines()).expect("per line");
    assert!(matches!(out[0], LineOutcome::Retry(_)));
    assert!(matches!(out[1], LineOutcome::Retry(_)));
    assert!(refused(&out[2]).is_some_and(|r| r.contains("invalid column type")));
    // accept_partial=false: `data` is one object.
    let body = br#"{"error":"parsing failed for write_lp endpoint","data":{"original_line":"x","line_number":1,"error_message":"No fields were provided"}}"#;
    let out = classify(400, None, body, &lines()).expect("per line");
    assert!(refused(&out[0]).is_some_and(|r| r.contains("No fields were provided")));
}

#[test]
fn a_refusal_that_names_no_line_isolates_every_line() {
    for body in [
        &br#"{"error":"partial write: points beyond retention policy dropped=1"}"#[..],
        br#"{"error":"partial write: field type conflict: input field \"size\" on measurement \"file_moved\" is type float, already exists as type integer dropped=1"}"#,
    ] {
        let out = classify(400, None, body, &lines()).expect("per line");
        assert_eq!(out.len(), lines().len(), "one outcome per line: {out:?}");
        assert!(out.iter().all(|o| matches!(o, LineOutcome::Isolate(_))), "{out:?}");
    }
    let out = classify(422, None, br#"{"code":"unprocessable entity","message":"failure writing points to database: partial write: field type conflict"}"#, &lines()).expect("per line");
    assert_eq!(out.len(), lines().len(), "one outcome per line: {out:?}");
    assert!(out.iter().all(|o| matches!(o, LineOutcome::Isolate(_))));
    let out = classify(413, None, br#"{"code":"request too large","message":"unable to read data: points batch is too large"}"#, &lines()).expect("per line");
    assert_eq!(out.len(), lines().len(), "one outcome per line: {out:?}");
    assert!(out.iter().all(|o| matches!(o, LineOutcome::Isolate(_))));
}

#[test]
fn throttling_and_server_errors_are_retryable_with_retry_after() {
    assert_eq!(
        classify(
            429,
            Some("7"),
            br#"{"code":"too many requests","message":"org exceeded write limits"}"#,
            &lines()
        ),
        Err(WriteError::Retryable {
            message: "InfluxDB answered 429 (too many requests): org exceeded write limits".into(),
            retry_after: Some(Duration::from_secs(7)),
        })
    );
    assert!(matches!(
        classify(503, None, b"Service Unavailable", &lines()),
        Err(WriteError::Retryable {
            retry_after: None,
            ..
        })
    ));
    assert!(matches!(
        classify(500, None, br#"{"error":"timeout"}"#, &lines()),
        Err(WriteError::Retryable { .. })
    ));
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
    let d = parse_retry_after(&soon).expect("an HTTP date");
    assert!(
        d > Duration::from_secs(25) && d <= Duration::from_secs(30),
        "{d:?}"
    );
}

#[test]
fn access_and_missing_targets_are_configuration_errors() {
    for (status, body, hint) in [
        (
            401,
            &br#"{"code":"unauthorized","message":"unauthorized access"}"#[..],
            ENV_TOKEN,
        ),
        (
            403,
            br#"{"code":"forbidden","message":"insufficient permissions for write"}"#,
            "write permission",
        ),
        (
            404,
            br#"{"code":"not found","message":"bucket \"x\" not found"}"#,
            ENV_DATABASE,
        ),
        (404, br#"{"error":"database not found: \"nope\""}"#, ENV_URL),
        (
            500,
            br#"{"error":"retention policy not found: nope"}"#,
            ENV_RETENTION_POLICY,
        ),
        (
            400,
            br#"{"error":"database is required"}"#,
            "database is required",
        ),
    ] {
        match classify(status, None, body, &lines()) {
            Err(WriteError::Configuration { message }) => {
                assert!(message.contains(hint), "{status}: {message}");
            }
            other => panic!("{status}: {other:?}"),
        }
    }
}
