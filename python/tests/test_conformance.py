"""Python and Rust agree on every generated detail: the same verdict, the same field named by
the error, the same event_id. The Rust side is the real ``filetrail validate`` binary.

FILETRAIL_CONFORMANCE_SEED and FILETRAIL_CONFORMANCE_EVENTS change the run (at least 10,000).
"""

import collections
import inspect
import json
import os
import random
from datetime import datetime, timedelta, timezone

from conftest import ROOT, run, run_env
from generate import FIELDS, NOW_MS, NOW_TEXT, OPTIONAL_INTEGER, OPTIONAL_TEXT, cases, key, line

from filetrail import InvalidEvent, contract, file_moved, validate

SEED = int(os.environ.get("FILETRAIL_CONFORMANCE_SEED", "15"))
EVENTS = int(os.environ.get("FILETRAIL_CONFORMANCE_EVENTS", "12000"))
NOW = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=NOW_MS)


def rust_verdicts(filetrail_bin, lines):
    proc = run([filetrail_bin, "--json", "validate", "--now", NOW_TEXT], input="\n".join(lines) + "\n", env=run_env())
    verdicts = [json.loads(out) for out in proc.stdout.splitlines()]
    assert len(verdicts) == len(lines), proc.stderr
    assert [v["line"] for v in verdicts] == list(range(1, len(lines) + 1))
    return proc, verdicts


def python_verdict(value):
    try:
        validate(value, now=NOW)
    except InvalidEvent as e:
        assert str(e).startswith(f"{e.field}: "), "the message names the field"
        return (False, e.field, None)
    return (True, None, value["event_id"])


SCHEMA = json.loads((ROOT / "crates/filetrail-contract/schema/file-moved.v1.schema.json").read_text())


def schema_optional_fields():
    """The schema's optional properties by JSON type: neither required nor nullable (the
    nullable ones, the buckets and ``new_file_key``, are the move itself)."""
    by_type = collections.defaultdict(set)
    for name, prop in SCHEMA["properties"].items():
        if "$ref" in prop:
            prop = SCHEMA["$defs"][prop["$ref"].removeprefix("#/$defs/")]
        kind = prop.get("type")
        if name in SCHEMA["required"] or (isinstance(kind, list) and "null" in kind):
            continue
        by_type[kind].add(name)
    return by_type


def test_the_generator_and_the_package_know_every_field_of_the_schema():
    """A field the schema gains fails here until the generator produces it (so the conformance
    run below meets it) and the package reads and builds it; the Rust side has the same check
    against the same schema (crates/filetrail-contract/tests/fields.rs)."""
    properties = list(SCHEMA["properties"])
    optional = schema_optional_fields()
    assert FIELDS == properties, "generate.FIELDS"
    assert set(optional) <= {"string", "integer"}, f"an optional field of a kind the generator does not make: {dict(optional)}"
    assert set(OPTIONAL_TEXT) == optional["string"], "generate.OPTIONAL_TEXT"
    assert set(OPTIONAL_INTEGER) == optional["integer"], "generate.OPTIONAL_INTEGER"
    assert list(contract._FIELDS) == properties, "filetrail.contract's fields"
    assert set(contract._OPTIONAL_TEXT) == optional["string"], "filetrail.contract's optional text"
    assert set(contract._OPTIONAL_INTEGER) == optional["integer"], "filetrail.contract's optional integers"
    parameters = set(inspect.signature(file_moved).parameters)
    assert optional["string"] | optional["integer"] <= parameters, "file_moved's keyword arguments"
    given = {**{f: "x" for f in optional["string"]}, **{f: 7 for f in optional["integer"]}}
    built = file_moved("PUT", "k.bin", source_bucket="hermes-incoming", occurred_at=NOW, **given)
    assert {f: built.get(f) for f in given} == given, "file_moved writes every optional field"


def test_python_and_rust_agree_on_every_generated_detail(filetrail_bin):
    assert EVENTS >= 10_000, "the conformance run covers at least 10,000 events"
    generated = cases(SEED, EVENTS)
    rng = random.Random(SEED)
    lines = [line(rng, c.detail) for c in generated]
    proc, rust = rust_verdicts(filetrail_bin, lines)

    disagreements, mislabelled = [], []
    by_kind = collections.Counter()
    verdicts = collections.Counter()
    fields = collections.Counter()
    for case, text, r in zip(generated, lines, rust):
        py = python_verdict(json.loads(text))  # exactly what the Rust side read
        ours = (r["valid"], r.get("field"), r.get("event_id"))
        if py != ours:
            disagreements.append((case.kind, text[:300], py, ours, r.get("error")))
        if case.valid is not None and py[0] != case.valid:
            mislabelled.append((case.kind, text[:300], py))
        by_kind[case.kind] += 1
        verdicts[py[0]] += 1
        fields[py[1]] += 1

    assert not disagreements, f"seed {SEED}: {len(disagreements)} disagreements, first: {disagreements[:5]}"
    assert not mislabelled, f"seed {SEED}: the generator built {len(mislabelled)} cases it did not mean: {mislabelled[:5]}"
    assert proc.returncode == 1, "an invalid line makes the command fail"
    # Every kind was generated, with both verdicts well represented and every field named.
    assert all(by_kind[k] >= 100 for k in by_kind) and len(by_kind) >= 20, by_kind
    assert verdicts[True] >= 2000 and verdicts[False] >= 5000, verdicts
    for field in FIELDS + ["detail", "colour"]:
        assert fields[field] > 0, f"no error named {field}: {fields}"


def test_details_built_by_file_moved_are_valid_in_rust_with_the_same_id(filetrail_bin):
    rng = random.Random(SEED + 1)
    built = []
    for i in range(1000):
        # Sub-millisecond precision is truncated, as in Rust.
        t = NOW - timedelta(microseconds=rng.randrange(0, 10**12))
        built.append(
            file_moved(
                rng.choice(["PUT", "DELETE"]),
                key(rng),
                new_file_key=key(rng) if i % 3 else None,
                source_bucket="hermes-incoming" if i % 4 else None,
                destination_bucket="hermes-eea",
                occurred_at=t if i % 2 else t.isoformat(timespec="milliseconds"),
                stage="sdc.sorter" if i % 5 == 0 else None,
                size=rng.randrange(2**40) if i % 7 == 0 else None,
            )
        )
    proc, rust = rust_verdicts(filetrail_bin, [json.dumps(d, ensure_ascii=False) for d in built])
    assert proc.returncode == 0, proc.stdout[:2000]
    assert [r["event_id"] for r in rust] == [d["event_id"] for d in built]
