//! `filetrail validate`: verdicts per line, the field each error names, the binary's output
//! forms and exit codes. No AWS is involved.

use std::io::Write;
use std::process::{Command, Stdio};

use filetrail_cli::validate::{LineVerdict, check_line, validate_lines, verdict};
use filetrail_contract::{ActionType, FileMoved, Move, OccurredAt};
use proptest::prelude::*;
use serde_json::{Value, json};

const BARE: &str = include_str!("../../filetrail-contract/tests/fixtures/bare-detail.json");
const BARE_UNICODE: &str =
    include_str!("../../filetrail-contract/tests/fixtures/bare-unicode-delete.json");
/// After both fixtures' `occurred_at`.
const NOW: OccurredAt = OccurredAt::from_millis(1_714_564_900_000);

fn base() -> Value {
    serde_json::from_str(BARE).expect("fixture")
}

fn with(f: impl Fn(&mut Value)) -> Vec<u8> {
    let mut v = base();
    f(&mut v);
    v.to_string().into_bytes()
}

fn field_of(line: &[u8]) -> Option<String> {
    verdict(1, line, NOW).field
}

#[test]
fn the_fixtures_are_valid_with_their_ids() {
    let compact = |s: &str| serde_json::from_str::<Value>(s).expect("json").to_string();
    assert_eq!(
        check_line(compact(BARE).as_bytes(), NOW),
        Ok("e2113f9bc4c7f6312abcab98f9e1a139".to_owned())
    );
    assert_eq!(
        check_line(compact(BARE_UNICODE).as_bytes(), NOW),
        Ok("42007524b39d4350d03c145d4c836fe1".to_owned())
    );
}

#[test]
fn each_broken_rule_names_its_field() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("file_key", with(|v| v["file_key"] = json!(""))),
        ("file_key", with(|v| v["file_key"] = json!("é".repeat(513)))),
        ("file_key", with(|v| v["file_key"] = json!(7))),
        (
            "new_file_key",
            with(|v| v["new_file_key"] = json!("k".repeat(1025))),
        ),
        (
            "source_bucket",
            with(|v| {
                v["source_bucket"] = Value::Null;
                v["destination_bucket"] = Value::Null;
            }),
        ),
        (
            "destination_bucket",
            with(|v| v["destination_bucket"] = json!("Hermes")),
        ),
        ("action_type", with(|v| v["action_type"] = json!("COPY"))),
        (
            "occurred_at",
            with(|v| v["occurred_at"] = json!("2024-02-30T00:00:00Z")),
        ),
        (
            "occurred_at",
            with(|v| v["occurred_at"] = json!("2999-01-01T00:00:00.000Z")),
        ),
        (
            "occurred_at",
            with(|v| v["occurred_at"] = json!("1969-12-31T23:59:59.999Z")),
        ),
        ("schema_version", with(|v| v["schema_version"] = json!(2))),
        ("size", with(|v| v["size"] = json!(-1))),
        ("stage", with(|v| v["stage"] = json!("s".repeat(257)))),
        (
            "event_id",
            with(|v| v["event_id"] = json!("0123456789abcdef0123456789abcdef")),
        ),
        (
            "event_id",
            with(|v| {
                v.as_object_mut().expect("object").remove("event_id");
            }),
        ),
        // The parser stops at an unknown key and names it.
        ("extra", with(|v| v["extra"] = json!(1))),
        (
            "action_type",
            with(|v| v["action_type"] = json!({"PUT": null})),
        ),
        ("detail", b"[1,2]".to_vec()),
    ];
    for (field, line) in cases {
        let v = verdict(1, &line, NOW);
        assert!(!v.valid, "{field}: {}", String::from_utf8_lossy(&line));
        assert_eq!(v.field.as_deref(), Some(field), "{v:?}");
        assert!(
            v.error.as_deref().is_some_and(|e| e.starts_with(field)),
            "the message names the field: {v:?}"
        );
    }
}

#[test]
fn text_that_is_not_a_detail_names_no_field() {
    assert_eq!(field_of(b"not json"), None);
    let v = verdict(3, b"{\"schema_version\":1,\xff}", NOW);
    assert_eq!(
        (v.line, v.valid, v.field),
        (3, false, None),
        "invalid UTF-8 is reported"
    );
    assert!(v.error.as_deref().is_some_and(|e| e.contains("UTF-8")));
}

#[test]
fn the_clock_window_follows_now() {
    let now = OccurredAt::parse("2024-05-01T12:00:00.000Z").expect("time");
    let at = |t: &str| {
        let mut m = super::event("clock", 0).to_move();
        m.occurred_at = OccurredAt::parse(t).expect("time");
        verdict(1, FileMoved::from_move(m).to_json().as_bytes(), now)
    };
    assert!(
        at("2024-05-01T12:15:00.000Z").valid,
        "15 minutes ahead is allowed"
    );
    let late = at("2024-05-01T12:15:00.001Z");
    assert_eq!(late.field.as_deref(), Some("occurred_at"));
}

#[test]
fn lines_are_numbered_blank_lines_skipped_and_output_streams() {
    let good = serde_json::from_str::<Value>(BARE)
        .expect("json")
        .to_string();
    let input = format!("{good}\n\n{{\"file_key\":\"\"}}\r\n{good}");
    let mut out = Vec::new();
    let summary = validate_lines(input.as_bytes(), &mut out, NOW, true).expect("io");
    assert_eq!((summary.lines, summary.valid, summary.invalid), (3, 2, 1));
    let verdicts: Vec<Value> = String::from_utf8(out)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let ok = json!({"line": 1, "valid": true, "event_id": "e2113f9bc4c7f6312abcab98f9e1a139"});
    assert_eq!(verdicts.len(), 3);
    assert_eq!(verdicts[0], ok);
    // Keys are read in order: file_key is a string, then schema_version is found missing.
    assert_eq!(
        (
            &verdicts[1]["line"],
            &verdicts[1]["valid"],
            &verdicts[1]["field"]
        ),
        (&json!(3), &json!(false), &json!("schema_version")),
        "{}",
        verdicts[1]
    );
    assert_eq!(verdicts[2]["line"], 4);
    assert_eq!(verdicts[2]["event_id"], ok["event_id"]);

    let mut text = Vec::new();
    validate_lines(input.as_bytes(), &mut text, NOW, false).expect("io");
    let text = String::from_utf8(text).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "line 1: ok e2113f9bc4c7f6312abcab98f9e1a139");
    assert!(
        lines[1].starts_with("line 3: invalid: schema_version: missing field"),
        "{text}"
    );
}

fn run_binary(args: &[&str], input: &str) -> (Option<i32>, String, String) {
    // No AWS variables at all: validation must neither need nor wait for them.
    let mut child = Command::new(env!("CARGO_BIN_EXE_filetrail"))
        .args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn filetrail");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_binary_exits_zero_only_when_every_line_is_valid() {
    let good = serde_json::from_str::<Value>(BARE)
        .expect("json")
        .to_string();
    let now = ["validate", "--now", "2024-05-01T12:05:00Z"];
    let (code, out, err) = run_binary(&now, &format!("{good}\n{good}\n"));
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out.lines().count(), 2);
    assert!(err.contains("2 lines: 2 valid, 0 invalid"), "{err}");

    let bad = String::from_utf8(with(|v| v["size"] = json!("big"))).expect("utf-8");
    let (code, out, _) = run_binary(
        &["--json", "validate", "--now", "2024-05-01T12:05:00Z"],
        &format!("{good}\n{bad}\n"),
    );
    assert_eq!(code, Some(1), "{out}");
    let second: Value = serde_json::from_str(out.lines().nth(1).expect("line 2")).expect("json");
    assert_eq!(
        (&second["field"], &second["valid"]),
        (&json!("size"), &json!(false))
    );

    let (code, _, err) = run_binary(&["validate", "--now", "yesterday"], "");
    assert_eq!(code, Some(1));
    assert!(err.contains("--now"), "{err}");
}

proptest! {
    #[test]
    fn every_built_event_validates_with_its_own_id(
        key in "\\PC{1,60}",
        t in 0i64..1_714_564_900_000,
        delete in any::<bool>(),
    ) {
        let e = FileMoved::from_move(Move {
            action_type: if delete { ActionType::Delete } else { ActionType::Put },
            source_bucket: Some("hermes-incoming".into()),
            file_key: key,
            destination_bucket: Some("hermes-eea".into()),
            new_file_key: None,
            occurred_at: OccurredAt::from_millis(t),
        });
        let v: LineVerdict = verdict(7, e.to_json().as_bytes(), NOW);
        prop_assert!(v.valid, "{:?}", v);
        prop_assert_eq!(v.event_id, Some(e.event_id.clone()));
    }
}
