"""The contract in Python: ids the Rust tests pin, builder defaults, errors naming fields."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from conftest import ROOT

from filetrail import InvalidEvent, event_id, file_moved, format_occurred_at, parse_occurred_at, validate
from filetrail.contract import canonical

FIXTURES = ROOT / "crates/filetrail-contract/tests/fixtures"
NOW = datetime(2024, 5, 1, 12, 1, 40, tzinfo=timezone.utc)


def test_ids_match_the_ones_the_rust_contract_pins():
    # crates/filetrail-contract/tests/event_id.rs
    assert (
        event_id(
            "PUT",
            "hermes-incoming",
            "hermes_EEA_l0_2022259-030002_v01.bin",
            "hermes-eea",
            "l0/2022/09/16/hermes_EEA_l0_2022259-030002_v01.bin",
            1_714_564_800_123,
        )
        == "e2113f9bc4c7f6312abcab98f9e1a139"
    )
    for name in ("bare-detail.json", "bare-unicode-delete.json"):
        detail = json.loads((FIXTURES / name).read_text())
        validate(detail, now=NOW)


def test_file_moved_builds_the_detail_rust_serializes():
    d = file_moved(
        "PUT",
        "hermes_EEA_l0_2022259-030002_v01.bin",
        new_file_key="l0/2022/09/16/hermes_EEA_l0_2022259-030002_v01.bin",
        source_bucket="hermes-incoming",
        destination_bucket="hermes-eea",
        occurred_at=datetime(2024, 5, 1, 12, 0, 0, 123999, tzinfo=timezone.utc),
        stage="sdc.sorter",
        size=1048576,
        etag='"9b2cf535f27731c974343645a3985328"',
    )
    assert d == json.loads((FIXTURES / "bare-detail.json").read_text())
    assert list(d) == list(json.loads((FIXTURES / "bare-detail.json").read_text()))


def test_occurred_at_defaults_to_now_in_milliseconds():
    before = datetime.now(timezone.utc) - timedelta(milliseconds=1)
    d = file_moved("DELETE", "k", source_bucket="hermes-incoming")
    after = datetime.now(timezone.utc)
    ms = parse_occurred_at(d["occurred_at"])
    assert ms is not None and len(d["occurred_at"]) == len("2024-05-01T12:00:00.000Z")
    assert before.timestamp() * 1000 <= ms <= after.timestamp() * 1000
    assert d["event_id"] == event_id("DELETE", "hermes-incoming", "k", None, None, ms)


def test_times_are_read_as_the_rust_contract_reads_them():
    assert parse_occurred_at("2024-05-01T12:00:00Z") == 1_714_564_800_000
    assert parse_occurred_at("2024-05-01T12:00:00.1+00:00") == 1_714_564_800_100
    assert parse_occurred_at("1969-12-31T23:59:59.999Z") == -1
    assert parse_occurred_at("0000-03-01T00:00:00Z") == -62_162_035_200_000  # proleptic, as chrono
    for bad in ["2024-05-01T12:00:00.1234Z", "2024-05-01T12:00:00+02:00", "2023-02-29T00:00:00Z", "2024-05-01T12:00:00"]:
        assert parse_occurred_at(bad) is None, bad
    assert format_occurred_at(1_714_564_800_100) == "2024-05-01T12:00:00.100Z"
    # isoformat() writes +00:00, which the contract accepts.
    t = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    assert file_moved("PUT", "k", source_bucket="abc", occurred_at=t.isoformat())["occurred_at"] == "2024-05-01T12:00:00.000Z"


def test_errors_name_the_field_as_an_attribute_and_in_the_message():
    base = json.loads((FIXTURES / "bare-detail.json").read_text())
    cases = {
        "file_key": {"file_key": "é" * 513},
        "source_bucket": {"source_bucket": None, "destination_bucket": None},
        "occurred_at": {"occurred_at": "2024-05-01T12:16:40.001Z"},
        "event_id": {"event_id": "0" * 32},
        "colour": {"colour": "blue"},
        "size": {"size": True},
    }
    for field, change in cases.items():
        with pytest.raises(InvalidEvent) as err:
            validate({**base, **change}, now=NOW)
        assert err.value.field == field
        assert str(err.value).startswith(f"{field}: ")
    with pytest.raises(InvalidEvent, match="1026 bytes of UTF-8; the limit is 1024 bytes"):
        validate({**base, "file_key": "é" * 513}, now=NOW)
    with pytest.raises(InvalidEvent) as err:
        validate([1, 2], now=NOW)
    assert err.value.field == "detail"
    # InvalidEvent is a ValueError, as the error sdc_aws_utils raised for a move without buckets.
    assert issubclass(InvalidEvent, ValueError)


def test_what_utf8_json_cannot_carry_names_its_field():
    # A lone surrogate has no UTF-8 form (the Rust parser refuses such text as "not JSON").
    with pytest.raises(InvalidEvent) as err:
        file_moved("PUT", "bad\ud800key", source_bucket="abc")
    assert err.value.field == "file_key"


def test_a_naive_datetime_is_refused_rather_than_guessed():
    with pytest.raises(InvalidEvent) as err:
        file_moved("PUT", "k", source_bucket="abc", occurred_at=datetime(2024, 5, 1, 12))
    assert err.value.field == "occurred_at" and "timezone-aware" in str(err.value)


def test_canonical_is_the_rust_serialization():
    d = {"action_type": "PUT", "file_key": "k", "schema_version": 1, "occurred_at": "2024-05-01T12:00:00+00:00",
         "source_bucket": "abc", "stage": None, "size": None}
    d["event_id"] = event_id("PUT", "abc", "k", None, None, 1_714_564_800_000)
    assert json.dumps(canonical(d), separators=(",", ":")) == (
        '{"schema_version":1,"event_id":"%s","file_key":"k","new_file_key":null,"source_bucket":"abc",'
        '"destination_bucket":null,"action_type":"PUT","occurred_at":"2024-05-01T12:00:00.000Z"}' % d["event_id"]
    )
