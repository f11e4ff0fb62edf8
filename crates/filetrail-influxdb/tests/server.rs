//! Against a real InfluxDB (`scripts/with-influxdb.sh`): the nastiest keys S3 allows round-trip.

use filetrail_influxdb::LineOutcome;
use filetrail_influxdb::line::tag_text;

/// Keys with every character line protocol or InfluxQL treats specially.
const KEYS: &[&str] = &[
    "plain/hermes_eea_l0_2024122-000042_v01.bin",
    "with space/and,comma=equals.bin",
    "quotes \"double\" and 'single'.txt",
    "back\\slash\\in\\the\\middle",
    "ends with a backslash\\",
    "double \\\\ backslash and \\, escaped comma",
    "unicode/ünïcødé/日本語/🚀.fits",
    "&$@:;+?=,#{}^`|~<>[]%!*()",
    "percent %25 already %zz",
    "new\nline and carriage\rreturn",
    "tab\tseparated",
    " leading and trailing spaces ",
    "control\u{1}chars\u{7f}",
    "N/A",
];

#[tokio::test]
async fn keys_with_every_special_character_round_trip_exactly() {
    let db = super::fresh_database().await;
    let events: Vec<_> = KEYS
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let mut e = super::event_with(i as i64, k, Some(&format!("moved/{k}")));
            e.trace_id = Some(format!("trace \"{i}\" \\ with\nnewline, comma=equals"));
            e.etag = Some("\"9b2cf535f27731c974343645a3985328\"".into());
            e
        })
        .collect();
    let lines: Vec<String> = events.iter().map(|e| db.point(e).expect("point")).collect();
    assert_eq!(
        db.write(&lines).await,
        Ok(vec![LineOutcome::Written; lines.len()])
    );

    for (e, k) in events.iter().zip(KEYS) {
        let rows = db.history(k).await.expect("history");
        assert_eq!(rows.len(), 1, "one point for {k:?}: {rows:?}");
        let r = &rows[0];
        assert_eq!(r.file_key, *k);
        assert_eq!(
            r.new_file_key.as_deref(),
            Some(format!("moved/{k}").as_str())
        );
        assert_eq!(r.event_id, e.event_id);
        assert_eq!(r.time, e.occurred_at);
        let text = |name: &str| r.optional(name).and_then(serde_json::Value::as_str);
        assert_eq!(text("trace_id"), e.trace_id.as_deref());
        assert_eq!(text("etag"), e.etag.as_deref());
        assert_eq!(text("stage"), Some("sdc.sorter"));
        assert_eq!(
            r.optional("size").and_then(serde_json::Value::as_u64),
            Some(1_048_576)
        );
        assert_eq!(r.source_bucket.as_deref(), Some("hermes-incoming"));
        assert_eq!(r.timestamp, Some(e.occurred_at.millis() as f64 / 1000.0));
    }

    // What the server stores is the documented tag form: verbatim unless the key holds `%`,
    // `\` or a control character.
    let all = db
        .query("SELECT file_key, trace_id FROM file_moved")
        .await
        .expect("query");
    let stored: Vec<String> = all["results"][0]["series"][0]["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v[1].as_str().expect("file_key").to_owned())
        .collect();
    let mut want: Vec<String> = KEYS.iter().map(|k| tag_text(k).into_owned()).collect();
    let mut got = stored.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert!(stored.contains(&"with space/and,comma=equals.bin".to_owned()));
    assert!(stored.contains(&"unicode/ünïcødé/日本語/🚀.fits".to_owned()));
    assert!(stored.contains(&"back%5Cslash%5Cin%5Cthe%5Cmiddle".to_owned()));
    assert!(stored.contains(&"new%0Aline and carriage%0Dreturn".to_owned()));
}

#[tokio::test]
async fn a_point_the_server_can_never_accept_is_named_and_the_rest_are_resent() {
    let db = super::fresh_database().await;
    let good = db
        .point(&super::event_with(1, "good", None))
        .expect("point");
    // `size` stored as an integer first; a float `size` can then never be accepted.
    db.write(std::slice::from_ref(&good))
        .await
        .expect("written");
    let conflicting = db
        .point(&super::event_with(2, "conflict", None))
        .expect("point")
        .replace("size=1048576i", "size=1.5");
    let broken = "file_moved,file_key=broken timestamp= 3".to_owned();
    let other = db
        .point(&super::event_with(3, "other", None))
        .expect("point");
    let out = db
        .write(&[other.clone(), broken, good])
        .await
        .expect("per line");
    assert!(
        matches!(&out[1], LineOutcome::Refused(r) if r.contains("missing field value")),
        "{out:?}"
    );
    assert!(matches!(out[0], LineOutcome::Retry(_)) && matches!(out[2], LineOutcome::Retry(_)));
    // A conflict InfluxDB 1.x reports without naming the line: isolate, then it is alone.
    let out = db
        .write(&[conflicting.clone(), other.clone()])
        .await
        .expect("per line");
    assert_eq!(out.len(), 2, "one outcome per line: {out:?}");
    assert!(
        out.iter().all(|o| matches!(o, LineOutcome::Isolate(_))),
        "{out:?}"
    );
    let out = db.write(&[conflicting]).await.expect("per line");
    assert!(
        matches!(&out[0], LineOutcome::Isolate(r) if r.contains("field type conflict")),
        "{out:?}"
    );
    assert_eq!(db.write(&[other]).await, Ok(vec![LineOutcome::Written]));
}
