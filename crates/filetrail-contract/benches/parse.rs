//! Parse + validate + event_id for one EventBridge envelope: `cargo bench -p filetrail-contract`.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use filetrail_contract::{OccurredAt, parse_body};

const ENVELOPE: &str = include_str!("../tests/fixtures/envelope.json");

fn parse_validate(c: &mut Criterion) {
    let now = OccurredAt::from_millis(1_714_564_900_000);
    c.bench_function("parse+validate+event_id envelope", |b| {
        b.iter(|| parse_body(std::hint::black_box(ENVELOPE.as_bytes()), now))
    });
}

criterion_group!(benches, parse_validate);
criterion_main!(benches);
