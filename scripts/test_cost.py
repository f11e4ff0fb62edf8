"""Checks of scripts/cost.py's arithmetic and parsing (run by `make test-python`; a second)."""
import doctest
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
import cost  # noqa: E402

RECORDER = """\
| figure | seed | multi | influxdb |
| --- | --- | --- | --- |
| write calls per 1,000 events | 10.0 | 10.0 | 0.2 |
| invocation of 100 messages (the module's default batch_size): handler wall time, event deserialization included (ms, mean of 100) | 0.545 | 1.561 | 0.469 |
| write calls per 1,000 events, invocations of 100 messages | 10.0 | 10.0 | 10.0 |
| dead-letter SendMessageBatch calls per 1,000 events, invocations of 100 messages with 1 not an event (request bytes per call) | 10.0 (433) |  |  |
| SQS message body bytes per event (the EventBridge envelope in the events queue) | 529 |  |  |
| Timestream metered bytes per record (AWS's write metering: timestamp 8 + dimension names and values + measure names and values) | 232.0 | 268.0 |  |
| Timestream metered bytes of the CommonAttributes, counted once per 1 KiB write | 9 | 10 |  |
| Timestream 1 KiB writes per 1,000 events (AWS's write metering, 100 records per WriteRecords) | 250.0 | 340.0 |  |
| Timestream 1 KiB writes per 1,000 events, dimension and measure names not metered (AWS, July 2022) | 170.0 | 200.0 |  |
| old Python writer (one record per WriteRecords, no CommonAttributes): Timestream metered bytes per record | 201.0 |  |  |
| old Python writer: Timestream 1 KiB writes per 1,000 events | 1000.0 |  |  |
| old Python writer: Timestream 1 KiB writes per 1,000 events, names not metered (AWS, July 2022) | 999.0 |  |  |
"""
PUBLISHER = """\
| figure | no faults | 5% of entries throttled |
| --- | --- | --- |
| publisher CPU per event (µs) | 7.4 | 7.0 |
| PutEvents entry size as AWS computes it (Source + DetailType + Detail; mean bytes per entry sent) | 368 | 368 |
| largest PutEvents entry, as AWS computes its size (bytes) | 368 | 368 |
"""


def test_doctests():
    assert doctest.testmod(cost).failed == 0


def test_chunks_count_every_started_64_kb():
    kb64 = 64 * 1024
    assert [cost.chunks(n, kb64) for n in (0, 1, kb64, kb64 + 1, 256 * 1024)] == [1, 1, 1, 2, 4]


def test_lambda_rounds_each_invocation_up_to_a_millisecond():
    assert cost.lambda_gb_seconds(1, 0.001, 1024) == 0.001
    assert cost.lambda_gb_seconds(1, 1.0, 1024) == 0.001
    assert cost.lambda_gb_seconds(1, 1.01, 1024) == 0.002
    assert cost.lambda_gb_seconds(4, 2.5, 256) == 4 * 0.003 * 0.25


def test_bench_rows_are_read_by_prefix_and_exactly():
    rec = cost.rows(RECORDER)
    assert cost.cell(rec, "invocation of 100 messages", 1) == 1.561
    assert cost.cell_paren(rec, "dead-letter SendMessageBatch") == 433
    # "write calls per 1,000 events" starts two rows: a prefix must name one.
    with pytest.raises(SystemExit):
        cost.cell(rec, "write calls per 1,000 events")
    assert cost.exact(rec, "old Python writer: Timestream 1 KiB writes per 1,000 events") == 1000
    with pytest.raises(SystemExit):
        cost.cell(rec, "no such row")


def test_terraform_defaults_are_read_from_the_variable_block(tmp_path):
    tf = tmp_path / "variables.tf"
    tf.write_text('variable "a" {\n  type = number\n  default = 256\n}\n\n'
                  'variable "b" {\n  description = "x"\n  default     = "arm64"\n}\n')
    assert cost.tf_default(tf, "a") == 256
    assert cost.tf_default(tf, "b") == "arm64"
    with pytest.raises(SystemExit):
        cost.tf_default(tf, "c")


def test_line_items_and_totals():
    q = cost.inputs(RECORDER, PUBLISHER)
    q["batch_size"], q["recorder_memory_mb"], q["sorter_memory_mb"] = 100, 256, 512
    items, totals, extras = cost.costs(q, moves=1_000_000)
    by = dict(items)
    eb = by["EventBridge PutEvents (custom events; 64 KB chunks of each entry)"]
    assert eb["seed"][0] == pytest.approx(1.00) and eb["old"] is None
    ts = by["Timestream for LiveAnalytics writes (1 KiB units, AWS's write metering)"]
    assert ts["seed"][0] == pytest.approx(250_000 * 0.50 / 1e6)
    assert ts["multi"][0] == pytest.approx(340_000 * 0.50 / 1e6)
    assert ts["old"][0] == pytest.approx(0.50) and ts["influxdb"] is None
    lam = next(v for k, v in items if k.startswith("Lambda duration: recorder"))
    # 10,000 invocations; 0.545 ms bills 1 ms, 1.561 ms bills 2 ms; 0.25 GB.
    assert lam["seed"][0] == pytest.approx(10_000 * 0.001 * 0.25 * cost.LAMBDA_ARM_USD_PER_GB_SECOND)
    assert lam["multi"][0] == pytest.approx(2 * lam["seed"][0])
    for c in cost.COLUMNS:
        assert totals[c] == pytest.approx(sum(v[c][0] for _, v in items if v[c] is not None))
    assert totals["old"] == pytest.approx(0.50)
    extra = dict(extras)
    free = extra["Timestream writes instead, if dimension and measure names are not metered (AWS, July 2022)"]
    assert free["old"][0] == pytest.approx(999_000 * 0.50 / 1e6)


def test_large_entries_and_messages_bill_more_chunks():
    q = cost.inputs(RECORDER, PUBLISHER)
    q["largest_entry_bytes"], q["body_bytes"] = 70_000, 7_000
    items, _, _ = cost.costs(q, moves=1_000_000)
    by = dict(items)
    assert by["EventBridge PutEvents (custom events; 64 KB chunks of each entry)"]["seed"][0] == pytest.approx(2.00)
    # ten 7,000-byte messages a receive: 70,000 bytes, two 64 KB chunks per ReceiveMessage.
    receive = next(v for k, v in items if k.startswith("SQS ReceiveMessage"))
    assert receive["seed"][1] == f"{2 * math.ceil(1_000_000 / 10):,} requests"


def test_section_names_its_inputs_and_prices():
    text = cost.section(RECORDER, PUBLISHER)
    assert text.startswith(bench.COST_HEADING + "\n")
    for _, _, url in cost.PRICES:
        assert url.split(",")[0].split(" ")[0] in text
    assert "| **total** |" in text


def test_only_the_cost_section_is_replaced():
    doc = "# Benchmarks\n\n## Recorder\n\nr\n\n## Cost of one million file moves\n\nold\n\n## Later\n\nl\n"
    new = bench.COST_HEADING + "\n\nnew\n"
    out = bench.replace_section(doc, bench.COST_HEADING, new)
    assert out == "# Benchmarks\n\n## Recorder\n\nr\n\n## Cost of one million file moves\n\nnew\n\n## Later\n\nl\n"
    assert bench.replace_section("# B\n\n## R\n\nr\n", bench.COST_HEADING, new) == "# B\n\n## R\n\nr\n\n" + new
    # At the end of the file it ends with one newline.
    assert bench.replace_section(doc.split("## Later")[0], bench.COST_HEADING, new).endswith("new\n")
