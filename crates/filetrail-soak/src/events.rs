//! The soak's traffic: valid `FileMoved` events and poison messages, both from the run's seed.

use filetrail_contract::{ActionType, FileMoved, Move, OccurredAt};
use serde_json::json;

use crate::Rng;

const INSTRUMENTS: [&str; 4] = ["eea", "nemisis", "merit", "spani"];

/// `n` distinct valid events, as the sorter and processor publish them. Their times lie in the
/// hour before `now`, one millisecond apart; every tenth is a DELETE, and every fiftieth moves
/// the same file in the same millisecond as its predecessor to another bucket: a distinct
/// event (another `event_id`) that must never collide with it.
pub fn valid(n: usize, seed: u64, now: OccurredAt) -> Vec<FileMoved> {
    let mut rng = Rng::stream(seed, "events");
    let base = now.millis() - 3_600_000;
    let mut out: Vec<FileMoved> = Vec::with_capacity(n);
    for i in 0..n {
        let inst = INSTRUMENTS[i % INSTRUMENTS.len()];
        let day = 1 + rng.below(365);
        let name = format!(
            "hermes_{}_l0_2024{day:03}-{:06}_v{:02}.bin",
            inst.to_uppercase(),
            i % 1_000_000,
            1 + rng.below(3)
        );
        let at = OccurredAt::from_millis(base + i64::try_from(i).unwrap_or(0));
        let m = match out.last() {
            Some(prev) if i % 50 == 49 => Move {
                destination_bucket: Some("hermes-quarantine".into()),
                ..prev.to_move()
            },
            _ if i % 10 == 9 => Move {
                // A processor input removed after processing: a DELETE with no destination.
                action_type: ActionType::Delete,
                source_bucket: Some(format!("hermes-{inst}")),
                file_key: format!("l0/2024/01/01/{name}"),
                destination_bucket: None,
                new_file_key: None,
                occurred_at: at,
            },
            _ => Move {
                action_type: ActionType::Put,
                source_bucket: Some("hermes-incoming".into()),
                file_key: name.clone(),
                destination_bucket: Some(format!("hermes-{inst}")),
                new_file_key: Some(format!("l0/2024/01/01/{name}")),
                occurred_at: at,
            },
        };
        let mut e = FileMoved::from_move(m);
        e.stage = Some("sdc.sorter".into());
        e.size = Some(1024 + rng.below(1 << 20));
        out.push(e);
    }
    out
}

/// Poison message `k`: a body no producer should send, each one unique (it carries `k`), of
/// every kind the recorder must refuse: not JSON, not an object, an unknown shape, the wrong
/// detail-type, a forged `event_id`, a missing or empty field, an unknown field, a bad
/// action, a time too far in the future, a key that is too long.
pub fn poison(k: usize, now: OccurredAt) -> String {
    let good = FileMoved::from_move(Move {
        action_type: ActionType::Put,
        source_bucket: Some("hermes-incoming".into()),
        file_key: format!("poison-{k}.bin"),
        destination_bucket: Some("hermes-eea".into()),
        new_file_key: Some(format!("l0/poison-{k}.bin")),
        occurred_at: OccurredAt::from_millis(now.millis() - 60_000),
    });
    let mut detail = serde_json::to_value(&good).unwrap_or_default();
    let envelope = |detail: serde_json::Value, detail_type: &str| {
        json!({"version": "0", "id": format!("poison-{k}"), "detail-type": detail_type,
            "source": "sdc.misconfigured", "account": "111122223333", "time": now.to_string(),
            "region": "us-east-1", "resources": [], "detail": detail})
        .to_string()
    };
    match k % 10 {
        0 => format!("not json at all #{k}"),
        1 => json!([k, "an array, not an object"]).to_string(),
        2 => json!({"hello": "world", "n": k}).to_string(),
        3 => envelope(detail, "FileCopied"),
        4 => {
            detail["event_id"] = json!(format!("{k:032x}"));
            envelope(detail, "FileMoved")
        }
        5 => {
            detail["file_key"] = json!("");
            detail.to_string()
        }
        6 => {
            detail["colour"] = json!("blue");
            envelope(detail, "FileMoved")
        }
        7 => {
            detail["action_type"] = json!("MOVE");
            envelope(detail, "FileMoved")
        }
        8 => {
            let future = FileMoved::from_move(Move {
                occurred_at: OccurredAt::from_millis(now.millis() + 7_200_000),
                ..good.to_move()
            });
            envelope(
                serde_json::to_value(&future).unwrap_or_default(),
                "FileMoved",
            )
        }
        _ => {
            let long = FileMoved::from_move(Move {
                file_key: format!("{k}-{}", "k".repeat(1100)),
                ..good.to_move()
            });
            envelope(serde_json::to_value(&long).unwrap_or_default(), "FileMoved")
        }
    }
}

/// How many poison messages a run of `events` valid events carries at `rate` (at least one
/// when the rate is above zero).
pub fn poison_count(events: usize, rate: f64) -> usize {
    if rate <= 0.0 {
        return 0;
    }
    ((events as f64 * rate).ceil() as usize).max(1)
}
