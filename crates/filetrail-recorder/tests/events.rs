//! The recorder's test events: one builder for the integration tests (`tests.rs`) and the bench
//! (`benches/recorder.rs` includes this file).

use filetrail_contract::{ActionType, FileMoved, Move, OccurredAt};

/// A valid event of the sorter at `base_ms + i`, distinct for each `i`: a level-0 file moved
/// from the incoming bucket to one of three instrument buckets.
pub fn event_at(i: usize, base_ms: i64) -> FileMoved {
    let mut e = FileMoved::from_move(Move {
        action_type: ActionType::Put,
        source_bucket: Some("hermes-incoming".into()),
        file_key: format!("hermes_eea_l0_2024{:03}-{:06}_v01.bin", i % 366 + 1, i),
        destination_bucket: Some(format!("hermes-{}", ["eea", "nemisis", "merit"][i % 3])),
        new_file_key: Some(format!(
            "l0/2024/01/{:02}/hermes_eea_l0_2024{:03}-{:06}_v01.bin",
            i % 28 + 1,
            i % 366 + 1,
            i
        )),
        occurred_at: OccurredAt::from_millis(base_ms + i64::try_from(i).unwrap_or(0)),
    });
    e.stage = Some("sdc.sorter".into());
    e
}
