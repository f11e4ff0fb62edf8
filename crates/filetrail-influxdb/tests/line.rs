//! The point layout and its escaping.

use filetrail_contract::{ActionType, FileMoved, Move, OccurredAt};
use filetrail_influxdb::line::{
    FieldValue, MAX_SERIES_KEY_BYTES, check, parse_point, point, tag_text, text_from_tag,
};
use proptest::prelude::*;

#[test]
fn a_point_has_the_seed_names_sorted_tags_and_millisecond_time() {
    let mut e = super::event_with(
        0,
        "hermes_eea_l0_2024122-000042_v01.bin",
        Some("l0/2024/05/01/x.bin"),
    );
    e.etag = Some("\"9b2cf535f27731c974343645a3985328\"".into());
    let line = point("file_moved", &e).expect("point");
    assert_eq!(
        line,
        format!(
            "file_moved,action_type=PUT,destination_bucket=hermes-eea,event_id={},file_key=hermes_eea_l0_2024122-000042_v01.bin,new_file_key=l0/2024/05/01/x.bin,source_bucket=hermes-incoming timestamp=1714564800.123,stage=\"sdc.sorter\",etag=\"\\\"9b2cf535f27731c974343645a3985328\\\"\",size=1048576i 1714564800123",
            e.event_id
        )
    );
}

#[test]
fn missing_values_are_the_seed_layouts_n_a() {
    let e = FileMoved::from_move(Move {
        action_type: ActionType::Delete,
        source_bucket: Some("hermes-incoming".into()),
        file_key: "k".into(),
        destination_bucket: None,
        new_file_key: None,
        occurred_at: OccurredAt::from_millis(5),
    });
    let p = parse_point(&point("m", &e).expect("point")).expect("parses");
    assert_eq!(p.tag("destination_bucket").as_deref(), Some("N/A"));
    assert_eq!(p.tag("new_file_key").as_deref(), Some("N/A"));
    assert_eq!(p.tag("action_type").as_deref(), Some("DELETE"));
    assert_eq!(p.field("timestamp"), Some(&FieldValue::Float(0.005)));
    assert_eq!(p.fields.len(), 1, "no optional fields: {p:?}");
}

#[test]
fn tag_escaping_is_as_documented() {
    let e = super::event_with(1, "a b,c=d\\e%f\ng\th", None);
    let line = point("file_moved", &e).expect("point");
    assert!(
        line.contains(",file_key=a\\ b\\,c\\=d%5Ce%25f%0Ag%09h,"),
        "{line}"
    );
    assert!(!line.contains('\n') && !line.contains('\t'));
    assert_eq!(
        tag_text("plain/key.fits"),
        "plain/key.fits",
        "ordinary keys are stored verbatim"
    );
    assert_eq!(text_from_tag("100%"), "100%", "a stray % is kept");
}

#[test]
fn string_fields_escape_quotes_and_backslashes() {
    let mut e = super::event_with(2, "k", None);
    e.trace_id = Some("say \"hi\" \\ bye\nnext line".into());
    let line = point("file_moved", &e).expect("point");
    assert!(
        line.contains("trace_id=\"say \\\"hi\\\" \\\\ bye\nnext line\""),
        "{line}"
    );
    let p = parse_point(&line).expect("parses");
    assert_eq!(
        p.field("trace_id"),
        Some(&FieldValue::String("say \"hi\" \\ bye\nnext line".into()))
    );
}

#[test]
fn the_same_event_is_the_same_point() {
    let e = super::event_with(3, "k", Some("k2"));
    assert_eq!(point("m", &e), point("m", &e.clone()));
    let other = super::event_with(4, "k", Some("k2"));
    assert_ne!(point("m", &e), point("m", &other));
}

fn any_text() -> impl Strategy<Value = String> {
    // Every character S3 allows, weighted toward the ones line protocol treats specially.
    let special = prop::sample::select(vec![
        ' ', ',', '=', '"', '\'', '\\', '\n', '\r', '\t', '%', '&', '$', '@', ':', ';', '+', '?',
        '#', '{', '}', '^', '`', '|', '~', '<', '>', '[', ']', '\u{0}', '\u{7f}', 'é', '日', '🚀',
    ]);
    prop::collection::vec(prop_oneof![3 => special, 2 => any::<char>()], 1..40)
        .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the keys and optional fields hold, the point reads back as the event.
    #[test]
    fn escaping_round_trips(
        key in any_text(),
        new_key in proptest::option::of(any_text()),
        stage in proptest::option::of(any_text()),
        size in proptest::option::of(0u64..=i64::MAX as u64),
        ms in 0i64..4_102_444_800_000,
    ) {
        let mut e = FileMoved::from_move(Move {
            action_type: ActionType::Put,
            source_bucket: Some("hermes-incoming".into()),
            file_key: key.clone(),
            destination_bucket: None,
            new_file_key: new_key.clone(),
            occurred_at: OccurredAt::from_millis(ms),
        });
        e.stage = stage.clone();
        e.size = size;
        let line = point("file_moved", &e).expect("point");
        prop_assert!(!line.contains('\n') || stage.as_ref().is_some_and(|s| s.contains('\n')),
            "a raw newline only ever sits inside a quoted string field");
        let p = parse_point(&line).expect("parses");
        prop_assert_eq!(&p.measurement, "file_moved");
        prop_assert_eq!(p.tag("file_key"), Some(key.clone()));
        prop_assert_eq!(p.tag("new_file_key"), Some(new_key.unwrap_or_else(|| "N/A".into())));
        prop_assert_eq!(p.tag("event_id"), Some(e.event_id.clone()));
        for (_, v) in &p.tags {
            prop_assert!(!v.chars().any(|c| c == '\\' || c.is_ascii_control()), "tag {v:?}");
        }
        prop_assert_eq!(p.field("stage").cloned(), stage.map(FieldValue::String));
        prop_assert_eq!(p.field("size").cloned(), size.map(|s| FieldValue::Integer(s as i64)));
        prop_assert_eq!(p.time, Some(ms));
        prop_assert_eq!(p.field("timestamp"), Some(&FieldValue::Float(ms as f64 / 1000.0)));
    }

    /// `check` refuses exactly the events `point` refuses, with the same reason, though it
    /// writes nothing: measurements long enough that the series key falls on both sides of
    /// InfluxDB's limit, keys full of characters that are escaped or percent-encoded, and
    /// sizes on both sides of the integer range.
    #[test]
    fn check_agrees_with_point(
        pad in (MAX_SERIES_KEY_BYTES - 400)..MAX_SERIES_KEY_BYTES,
        measurement in any_text(),
        key in any_text(),
        new_key in proptest::option::of(any_text()),
        size in proptest::option::of(prop_oneof![0u64..=i64::MAX as u64, (i64::MAX as u64)..=u64::MAX]),
    ) {
        let mut e = FileMoved::from_move(Move {
            action_type: ActionType::Put,
            source_bucket: Some("hermes-incoming".into()),
            file_key: key,
            destination_bucket: None,
            new_file_key: new_key,
            occurred_at: OccurredAt::from_millis(1_714_564_800_123),
        });
        e.size = size;
        let measurement = format!("{}{measurement}", "m".repeat(pad - 250));
        prop_assert_eq!(check(&measurement, &e), point(&measurement, &e).map(drop));
    }

    /// The tag encoding alone is reversible and leaves no character line protocol or InfluxQL
    /// would treat differently across InfluxDB versions.
    #[test]
    fn tag_text_round_trips(s in any_text()) {
        let t = tag_text(&s);
        prop_assert!(!t.chars().any(|c| c == '\\' || c.is_ascii_control()));
        prop_assert_eq!(text_from_tag(&t), s);
    }
}
