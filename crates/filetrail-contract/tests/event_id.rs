use filetrail_contract::{ActionType, FileMoved, Move, OccurredAt};
use proptest::prelude::*;

fn base() -> Move {
    Move {
        action_type: ActionType::Put,
        source_bucket: Some("hermes-incoming".into()),
        file_key: "hermes_EEA_l0_2022259-030002_v01.bin".into(),
        destination_bucket: Some("hermes-eea".into()),
        new_file_key: Some("l0/2022/09/16/hermes_EEA_l0_2022259-030002_v01.bin".into()),
        occurred_at: OccurredAt::from_millis(1_714_564_800_123),
    }
}

#[test]
fn matches_the_documented_python_derivation() {
    // Both ids were computed with the Python one-liner in the schema's description.
    assert_eq!(base().event_id(), "e2113f9bc4c7f6312abcab98f9e1a139");
    let fixture = FileMoved::from_json(super::BARE_UNICODE).expect("fixture parses");
    assert_eq!(
        fixture.to_move().event_id(),
        "42007524b39d4350d03c145d4c836fe1"
    );
    assert_eq!(fixture.event_id, "42007524b39d4350d03c145d4c836fe1");
}

#[test]
fn same_move_same_id_every_time() {
    let ids: Vec<String> = (0..100).map(|_| base().event_id()).collect();
    assert!(ids.iter().all(|id| id == &ids[0]));
    assert_eq!(ids[0].len(), filetrail_contract::EVENT_ID_HEX_LEN);
    assert!(
        ids[0]
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
}

#[test]
fn each_identifying_field_changes_the_id() {
    let b = base();
    let variants = [
        Move {
            action_type: ActionType::Delete,
            ..b.clone()
        },
        Move {
            source_bucket: None,
            ..b.clone()
        },
        Move {
            source_bucket: Some("hermes-incoming2".into()),
            ..b.clone()
        },
        Move {
            file_key: format!("{}x", b.file_key),
            ..b.clone()
        },
        Move {
            destination_bucket: None,
            ..b.clone()
        },
        Move {
            destination_bucket: Some("hermes-mag".into()),
            ..b.clone()
        },
        Move {
            new_file_key: None,
            ..b.clone()
        },
        Move {
            new_file_key: Some("l1/x".into()),
            ..b.clone()
        },
        Move {
            occurred_at: OccurredAt::from_millis(b.occurred_at.millis() + 1),
            ..b.clone()
        },
    ];
    let mut ids: Vec<String> = variants.iter().map(Move::event_id).collect();
    ids.push(b.event_id());
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "every variant has its own id");
}

#[test]
fn field_boundaries_are_unambiguous() {
    // Moving text between neighbouring fields must not produce the same id.
    let a = Move {
        source_bucket: Some("ab".into()),
        file_key: "c".into(),
        ..base()
    };
    let b = Move {
        source_bucket: Some("a".into()),
        file_key: "bc".into(),
        ..base()
    };
    assert_ne!(a.event_id(), b.event_id());
    let c = Move {
        source_bucket: None,
        destination_bucket: Some("x".into()),
        ..base()
    };
    let d = Move {
        source_bucket: Some("x".into()),
        destination_bucket: None,
        ..base()
    };
    assert_ne!(c.event_id(), d.event_id());
}

proptest! {
    #[test]
    fn distinct_moves_have_distinct_ids(
        k1 in "\\PC{1,40}", k2 in "\\PC{1,40}", t1 in 0i64..4_000_000_000_000, t2 in 0i64..4_000_000_000_000
    ) {
        let a = Move { file_key: k1.clone(), occurred_at: OccurredAt::from_millis(t1), ..base() };
        let b = Move { file_key: k2.clone(), occurred_at: OccurredAt::from_millis(t2), ..base() };
        prop_assert_eq!(a.event_id() == b.event_id(), k1 == k2 && t1 == t2);
    }

    #[test]
    fn from_move_always_validates(k in "[a-zA-Z0-9/_.-]{1,200}", t in 0i64..1_714_564_900_000) {
        let e = FileMoved::from_move(Move { file_key: k, occurred_at: OccurredAt::from_millis(t), ..base() });
        prop_assert!(e.validate(super::NOW).is_ok());
        let back = FileMoved::from_json(&e.to_json()).expect("round trip");
        prop_assert_eq!(back, e);
    }
}
