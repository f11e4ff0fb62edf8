#!/usr/bin/env python3
"""The cost of one million file moves: BENCHMARKS.md's cost section.

Every quantity comes from a benchmark's output (`cargo bench -p filetrail-recorder --bench
recorder`, `cargo bench -p filetrail-publisher --bench publisher`) or from the Terraform module's
defaults; every price is a named constant below with the page it was read from and the date.
`scripts/bench.py` calls `section(recorder_output, publisher_output)`; `make bench` therefore
regenerates the table, and `python3 scripts/bench.py --only cost` regenerates just this section.
No figure in the section is typed by hand. `scripts/test_cost.py` checks the arithmetic.
"""
import math
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "infra" / "modules" / "filetrail" / "variables.tf"
STAGES = ROOT / "infra" / "modules" / "filetrail-stages" / "variables.tf"

MOVES = 1_000_000
READ = "2026-12-02"  # the date every price and rule below was read
REGION = "us-east-1"

# --- AWS's prices and metering rules (US East, N. Virginia; free tiers not applied) ---------

# https://aws.amazon.com/eventbridge/pricing/ (read 2026-12-02): custom events published to an
# event bus; "Each 64 KB chunk of a payload is billed as one event (for example, an event with
# a 256 KB payload is billed as 4 events)". The stored copy of AWS's page carries the rule but
# not the figure (the price table is rendered by script); $1.00 per million is the figure in
# every stored copy that quotes it (cloudburn.io, March 2026; hykell.com).
EVENTBRIDGE_USD_PER_MILLION_EVENTS = 1.00
EVENTBRIDGE_CHUNK_BYTES = 64 * 1024

# https://aws.amazon.com/sqs/pricing/ (read 2026-12-02): standard queue, first 100 billion
# requests a month, after the perpetual free tier of 1 million requests a month (not applied
# here); "every Amazon SQS action counts as a request", so EventBridge's deliveries to the queue
# and Lambda's polling are billed too (Lambda: "While your event source mapping is active,
# Lambda makes requests to the queue to get items", docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
# The figure is from stored copies quoting the page (cloudburn.io, March 2026; factualminds.com,
# June 2026). https://aws.amazon.com/sqs/features/: "Each 64 KB chunk of a payload is billed as
# 1 request (for example, an API call with a 256 KB payload is billed as 4 requests)".
SQS_USD_PER_MILLION_REQUESTS = 0.40
SQS_CHUNK_BYTES = 64 * 1024
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html:
# a receive returns at most 10 messages; DeleteMessageBatch takes at most 10 entries.
SQS_MAX_MESSAGES_PER_CALL = 10
# Long polling waits at most 20 s (SQS quotas, "Long polling wait time"); at low traffic Lambda
# keeps 5 concurrent pollers, fewer only without maximum concurrency, which the module sets
# (docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
SQS_LONG_POLL_SECONDS = 20
LAMBDA_IDLE_POLLERS = 5

# https://aws.amazon.com/lambda/pricing/ (read 2026-12-02): Arm, first 7.5 billion GB-seconds a
# month; requests; "Duration is calculated from the time your code begins executing until it
# returns or otherwise terminates, rounded up to the nearest 1 ms". The figures are from stored
# copies quoting the page (cloudchipr.com; lambda_local_runner docs).
LAMBDA_ARM_USD_PER_GB_SECOND = 0.0000133334
LAMBDA_USD_PER_MILLION_REQUESTS = 0.20
LAMBDA_BILLING_MS = 1

# https://aws.amazon.com/timestream/pricing/ (read 2026-12-02): Timestream for LiveAnalytics,
# "1 million writes of 1KB size" (the stored copy of AWS's page shows $0.50 for US East;
# awsnegotiations.com, 2026, gives $0.50 for US East). Metering: AWS, "Metering and pricing:
# Writes", https://docs.aws.amazon.com/timestream/latest/developerguide/metering-and-pricing.writes.html
# (implemented in filetrail_recorder::metering; the recorder bench prints its results).
TIMESTREAM_USD_PER_MILLION_WRITES = 0.50

# Timestream for InfluxDB, on-demand, Single-AZ: https://aws.amazon.com/timestream/pricing/ renders
# its instance table by script and the stored copy has none of its figures. "~$95/month
# (db.influx.medium, on-demand)" is AWS's own figure in github.com/aws/agent-toolkit-for-aws
# (skills/core-skills/aws-database/assets/timestream.md, read 2026-12-02): approximate, and
# without the storage (20 GiB InfluxIOIncludedT1 by default), which is billed besides.
INFLUXDB_MEDIUM_USD_PER_MONTH = 95.0
INFLUXDB_PRICED_CLASS = "db.influx.medium"
HOURS_PER_MONTH = 730

PRICES = [
    ("EventBridge custom events", f"${EVENTBRIDGE_USD_PER_MILLION_EVENTS:.2f} per million events; each 64 KB chunk of an entry is one event",
     "https://aws.amazon.com/eventbridge/pricing/"),
    ("SQS standard requests", f"${SQS_USD_PER_MILLION_REQUESTS:.2f} per million requests; each 64 KB chunk of a call's payload is one request",
     "https://aws.amazon.com/sqs/pricing/, https://aws.amazon.com/sqs/features/"),
    ("Lambda Arm duration", f"${LAMBDA_ARM_USD_PER_GB_SECOND:.10f} per GB-second, each invocation rounded up to {LAMBDA_BILLING_MS} ms",
     "https://aws.amazon.com/lambda/pricing/"),
    ("Lambda requests", f"${LAMBDA_USD_PER_MILLION_REQUESTS:.2f} per million invocations", "https://aws.amazon.com/lambda/pricing/"),
    ("Timestream for LiveAnalytics writes", f"${TIMESTREAM_USD_PER_MILLION_WRITES:.2f} per million 1 KiB writes",
     "https://aws.amazon.com/timestream/pricing/, https://docs.aws.amazon.com/timestream/latest/developerguide/metering-and-pricing.writes.html"),
    ("Timestream for InfluxDB db.influx.medium", f"≈ ${INFLUXDB_MEDIUM_USD_PER_MONTH:.0f} per month (≈ ${INFLUXDB_MEDIUM_USD_PER_MONTH / HOURS_PER_MONTH:.3f} per hour), storage not included",
     "https://aws.amazon.com/timestream/pricing/ (no figure in the stored copy); github.com/aws/agent-toolkit-for-aws"),
]


# --- arithmetic ------------------------------------------------------------------------------

def chunks(payload_bytes, chunk_bytes):
    """Billed units for one payload: every started chunk counts, and an empty payload is one.

    >>> chunks(480, 64 * 1024), chunks(64 * 1024, 64 * 1024), chunks(64 * 1024 + 1, 64 * 1024)
    (1, 1, 2)
    """
    return max(1, math.ceil(payload_bytes / chunk_bytes))


def per_million(units, usd_per_million):
    """What `units` cost at a per-million price.

    >>> per_million(250_000, 0.50)
    0.125
    """
    return units * usd_per_million / 1_000_000


def lambda_gb_seconds(invocations, ms_per_invocation, memory_mb):
    """GB-seconds of `invocations` each lasting `ms_per_invocation`, rounded up to 1 ms each.

    >>> lambda_gb_seconds(10_000, 0.66, 256)
    2.5
    """
    billed_ms = math.ceil(ms_per_invocation / LAMBDA_BILLING_MS) * LAMBDA_BILLING_MS
    return invocations * billed_ms / 1000 * memory_mb / 1024


def idle_receives_per_month(pollers=LAMBDA_IDLE_POLLERS, wait_s=SQS_LONG_POLL_SECONDS):
    """Empty long polls in a 30-day month with no messages.

    >>> idle_receives_per_month(5, 20)
    648000
    """
    return pollers * 30 * 24 * 3600 // wait_s


# --- inputs ----------------------------------------------------------------------------------

def tf_default(path, name):
    """The `default` of Terraform variable `name` in `path` (a number or a quoted string)."""
    text = Path(path).read_text()
    block = re.search(r'variable\s+"' + re.escape(name) + r'"\s*\{(.*?)\n\}', text, re.S)
    if not block:
        raise SystemExit(f"cost: no variable {name} in {path}")
    m = re.search(r'^\s*default\s*=\s*("([^"]*)"|[0-9.]+)\s*$', block.group(1), re.M)
    if not m:
        raise SystemExit(f"cost: variable {name} in {path} has no literal default")
    return m.group(2) if m.group(2) is not None else float(m.group(1))


def rows(text):
    """A bench's markdown table rows: {first cell: [other cells]}."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and not line.startswith("| ---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            out[cells[0]] = cells[1:]
    return out


def cell(table, prefix, column=0):
    """The number in `column` of the row starting with `prefix` (the first number in the cell)."""
    hits = [v for k, v in table.items() if k.startswith(prefix)]
    if len(hits) != 1:
        raise SystemExit(f"cost: expected one bench row starting {prefix!r}, found {len(hits)}")
    m = re.match(r"\s*([0-9][0-9,]*\.?[0-9]*)", hits[0][column])
    if not m:
        raise SystemExit(f"cost: no number in column {column} of {prefix!r}: {hits[0][column]!r}")
    return float(m.group(1).replace(",", ""))


def cell_paren(table, prefix, column=0):
    """The number in parentheses in `column` of the row starting with `prefix`."""
    hits = [v for k, v in table.items() if k.startswith(prefix)]
    m = re.search(r"\(([0-9][0-9,.]*)\)", hits[0][column]) if len(hits) == 1 else None
    if not m:
        raise SystemExit(f"cost: no parenthesised number in {prefix!r}")
    return float(m.group(1).replace(",", ""))


def inputs(recorder_out, publisher_out):
    """Every quantity the cost table uses, from the benches' outputs and the Terraform defaults."""
    rec, pub = rows(recorder_out), rows(publisher_out)
    arch = tf_default(MODULE, "architecture")
    if arch != "arm64":
        raise SystemExit(f"cost: the module's default architecture is {arch}; the Lambda price here is Arm's")
    layouts = ["seed", "multi", "influxdb"]
    return {
        "batch_size": int(tf_default(MODULE, "batch_size")),
        "recorder_memory_mb": tf_default(MODULE, "recorder_memory_mb"),
        "sorter_memory_mb": tf_default(STAGES, "sorter_memory_mb"),
        "influxdb_instance_type": tf_default(MODULE, "influxdb_instance_type"),
        "largest_entry_bytes": cell(pub, "largest PutEvents entry"),
        "entry_bytes": cell(pub, "PutEvents entry size as AWS computes it"),
        "publisher_cpu_us": cell(pub, "publisher CPU per event"),
        "body_bytes": cell(rec, "SQS message body bytes per event"),
        "invocation_ms": {l: cell(rec, "invocation of 100 messages", i) for i, l in enumerate(layouts)},
        "write_calls_per_1000": {l: cell(rec, "write calls per 1,000 events, invocations of 100", i) for i, l in enumerate(layouts)},
        "dlq_calls_per_1000": cell(rec, "dead-letter SendMessageBatch calls per 1,000 events"),
        "dlq_bytes_per_call": cell_paren(rec, "dead-letter SendMessageBatch calls per 1,000 events"),
        "ts_record_bytes": {l: cell(rec, "Timestream metered bytes per record", i) for i, l in enumerate(layouts[:2])},
        "ts_common_bytes": {l: cell(rec, "Timestream metered bytes of the CommonAttributes", i) for i, l in enumerate(layouts[:2])},
        "ts_writes_per_1000": {l: cell(rec, "Timestream 1 KiB writes per 1,000 events (AWS", i) for i, l in enumerate(layouts[:2])},
        "ts_writes_free_names_per_1000": {l: cell(rec, "Timestream 1 KiB writes per 1,000 events, dimension and measure names", i) for i, l in enumerate(layouts[:2])},
        "old_record_bytes": cell(rec, "old Python writer (one record per WriteRecords"),
        "old_writes_per_1000": exact(rec, "old Python writer: Timestream 1 KiB writes per 1,000 events"),
        "old_writes_free_names_per_1000": cell(rec, "old Python writer: Timestream 1 KiB writes per 1,000 events, names"),
    }


def exact(table, name, column=0):
    """The number in `column` of the row named exactly `name`."""
    if name not in table:
        raise SystemExit(f"cost: no bench row {name!r}")
    return cell({name: table[name]}, name, column)


# --- the table -------------------------------------------------------------------------------

COLUMNS = ["seed", "multi", "influxdb", "old"]


def costs(q, moves=MOVES):
    """Line items for `moves` file moves: [(item, {column: (usd, quantity text) or None})], the
    totals, and the extras that are not in the totals."""
    new = ["seed", "multi", "influxdb"]
    eb_chunks = chunks(q["largest_entry_bytes"], EVENTBRIDGE_CHUNK_BYTES)
    body_chunks = chunks(q["body_bytes"], SQS_CHUNK_BYTES)
    per_call = min(q["batch_size"], SQS_MAX_MESSAGES_PER_CALL)
    receive_chunks = chunks(per_call * q["body_bytes"], SQS_CHUNK_BYTES)
    invocations = math.ceil(moves / q["batch_size"])
    calls_per_invocation = math.ceil(q["batch_size"] / SQS_MAX_MESSAGES_PER_CALL)

    def only(cols, usd, text):
        return {c: ((usd(c), text(c)) if c in cols else None) for c in COLUMNS}

    items = []
    events = moves * eb_chunks
    items.append(("EventBridge PutEvents (custom events; 64 KB chunks of each entry)",
                  only(new, lambda c: per_million(events, EVENTBRIDGE_USD_PER_MILLION_EVENTS),
                       lambda c: f"{events:,} events")))
    sends = moves * body_chunks
    items.append(("SQS SendMessage: the rule's delivery of each event to the events queue",
                  only(new, lambda c: per_million(sends, SQS_USD_PER_MILLION_REQUESTS),
                       lambda c: f"{sends:,} requests")))
    receives = invocations * calls_per_invocation * receive_chunks
    items.append((f"SQS ReceiveMessage by the event source mapping ({per_call} messages a receive)",
                  only(new, lambda c: per_million(receives, SQS_USD_PER_MILLION_REQUESTS),
                       lambda c: f"{receives:,} requests")))
    deletes = invocations * calls_per_invocation
    items.append((f"SQS DeleteMessageBatch by the event source mapping ({per_call} entries a call)",
                  only(new, lambda c: per_million(deletes, SQS_USD_PER_MILLION_REQUESTS),
                       lambda c: f"{deletes:,} requests")))
    items.append(("SQS SendMessageBatch to the recorder DLQ (no move dead-lettered)",
                  only(new, lambda c: 0.0, lambda c: "0 requests")))
    items.append((f"Lambda requests: recorder invocations of {q['batch_size']} messages",
                  only(new, lambda c: per_million(invocations, LAMBDA_USD_PER_MILLION_REQUESTS),
                       lambda c: f"{invocations:,} invocations")))
    gbs = {c: lambda_gb_seconds(invocations, q["invocation_ms"][c], q["recorder_memory_mb"]) for c in new}
    items.append((f"Lambda duration: recorder, {q['recorder_memory_mb']:.0f} MB Arm, measured handler time per invocation rounded up to 1 ms",
                  only(new, lambda c: gbs[c] * LAMBDA_ARM_USD_PER_GB_SECOND,
                       lambda c: f"{gbs[c]:,.1f} GB-s: {q['invocation_ms'][c]:.3f} ms each, billed {math.ceil(q['invocation_ms'][c] / LAMBDA_BILLING_MS) * LAMBDA_BILLING_MS} ms")))
    stage_gbs = moves * q["publisher_cpu_us"] / 1e6 * q["sorter_memory_mb"] / 1024
    items.append((f"Lambda duration: sorter, {q['sorter_memory_mb']:.0f} MB, publisher CPU per move",
                  only(new, lambda c: stage_gbs * LAMBDA_ARM_USD_PER_GB_SECOND,
                       lambda c: f"{stage_gbs:,.2f} GB-s: {q['publisher_cpu_us']:.1f} µs each")))
    ts_writes = {c: round(q["ts_writes_per_1000"][c] * moves / 1000) for c in ["seed", "multi"]}
    ts_writes["old"] = round(q["old_writes_per_1000"] * moves / 1000)
    items.append(("Timestream for LiveAnalytics writes (1 KiB units, AWS's write metering)",
                  only(["seed", "multi", "old"], lambda c: per_million(ts_writes[c], TIMESTREAM_USD_PER_MILLION_WRITES),
                       lambda c: f"{ts_writes[c]:,} writes")))
    totals = {c: sum(v[c][0] for _, v in items if v[c] is not None) for c in COLUMNS}

    extras = []
    free = {c: round(q["ts_writes_free_names_per_1000"][c] * moves / 1000) for c in ["seed", "multi"]}
    free["old"] = round(q["old_writes_free_names_per_1000"] * moves / 1000)
    extras.append(("Timestream writes instead, if dimension and measure names are not metered (AWS, July 2022)",
                   only(["seed", "multi", "old"], lambda c: per_million(free[c], TIMESTREAM_USD_PER_MILLION_WRITES),
                        lambda c: f"{free[c]:,} writes")))
    extras.append((f"Timestream for InfluxDB instance ({q['influxdb_instance_type']}), per month whatever the volume; storage besides",
                   only(["influxdb"], lambda c: INFLUXDB_MEDIUM_USD_PER_MONTH,
                        lambda c: f"{HOURS_PER_MONTH} instance-hours")))
    dlq = round(q["dlq_calls_per_1000"] * moves / 1000) * chunks(q["dlq_bytes_per_call"], SQS_CHUNK_BYTES)
    extras.append((f"SQS SendMessageBatch to the DLQ if 1 move in {q['batch_size']} is dead-lettered (measured)",
                   only(new, lambda c: per_million(dlq, SQS_USD_PER_MILLION_REQUESTS),
                        lambda c: f"{dlq:,} requests")))
    round_trip_gbs = invocations * 10 / 1000 * q["recorder_memory_mb"] / 1024
    extras.append(("Lambda duration added by each 10 ms the store takes to answer an invocation",
                   only(new, lambda c: round_trip_gbs * LAMBDA_ARM_USD_PER_GB_SECOND,
                        lambda c: f"{round_trip_gbs:,.0f} GB-s")))
    idle = idle_receives_per_month()
    extras.append((f"SQS empty long polls while the queue is idle, per month ({LAMBDA_IDLE_POLLERS} pollers, {SQS_LONG_POLL_SECONDS} s waits)",
                   only(new, lambda c: per_million(idle, SQS_USD_PER_MILLION_REQUESTS),
                        lambda c: f"{idle:,} requests")))
    return items, totals, extras


def usd(x):
    """Dollars: cents above $1, four decimals above a cent, six below (so sub-cent items show).

    >>> usd(95), usd(0.125), usd(0.0000333335), usd(0)
    ('$95.00', '$0.1250', '$0.000033', '$0.00')
    """
    if x == 0 or x >= 1:
        return f"${x:,.2f}"
    return f"${x:,.4f}" if x >= 0.01 else f"${x:,.6f}"


def table(items, totals, extras):
    head = ("| one million file moves | seed layout | multi layout | InfluxDB sink | old Python writer |\n"
            "| --- | --- | --- | --- | --- |")
    out = [head]
    fmt = lambda v: "" if v is None else f"{usd(v[0])} ({v[1]})"
    for name, v in items:
        out.append(f"| {name} | " + " | ".join(fmt(v[c]) for c in COLUMNS) + " |")
    out.append("| **total** | " + " | ".join(f"**${totals[c]:,.4f}**" for c in COLUMNS) + " |")
    out.append("| *not in the totals:* | | | | |")
    for name, v in extras:
        out.append(f"| {name} | " + " | ".join(fmt(v[c]) for c in COLUMNS) + " |")
    return "\n".join(out)


def section(recorder_out, publisher_out):
    """BENCHMARKS.md's cost section, from the two benches' outputs."""
    q = inputs(recorder_out, publisher_out)
    if q["influxdb_instance_type"] != INFLUXDB_PRICED_CLASS:
        raise SystemExit(f"cost: the module's InfluxDB class is {q['influxdb_instance_type']}; the price here is {INFLUXDB_PRICED_CLASS}'s")
    items, totals, extras = costs(q)
    prices = "\n".join(f"| {n} | {p} | {u} |" for n, p, u in PRICES)
    return f"""## Cost of one million file moves

Computed by `scripts/cost.py` (`make bench`; `python3 scripts/bench.py --only cost`, or
`make bench-cost`, regenerates this section alone) from the output of
`cargo bench -p filetrail-recorder --bench recorder` and
`cargo bench -p filetrail-publisher --bench publisher` (their cost rows), the Terraform module's
defaults (recorder {q['recorder_memory_mb']:.0f} MB Arm, `batch_size` {q['batch_size']}, sorter
{q['sorter_memory_mb']:.0f} MB, InfluxDB `{q['influxdb_instance_type']}`) and AWS's {REGION} prices,
read {READ}. Free tiers are not applied. The old Python writer is the seed pipeline's helper:
one WriteRecords call per move from inside the stage, one record, no `CommonAttributes`.

{table(items, totals, extras)}

| price | {REGION} | page |
| --- | --- | --- |
{prices}

How each line is counted:
- EventBridge bills each published entry by 64 KB chunks of its size as AWS computes it
  (Source + DetailType + Detail): the bench's entries are {q['entry_bytes']:.0f} bytes on average,
  {q['largest_entry_bytes']:.0f} at most, so one chunk each. Entries throttled and sent again
  are not counted (the fault-free column of the publisher bench); PutEvents calls (10 entries
  each) are not what is billed.
- SQS bills every action by 64 KB chunks of its payload. The rule's target delivers each event
  as one message ({q['body_bytes']:.0f} bytes, the envelope). The event source mapping receives at most
  {SQS_MAX_MESSAGES_PER_CALL} messages a call and is assumed to fill each invocation of {q['batch_size']} with full receives
  and to delete with DeleteMessageBatch of {SQS_MAX_MESSAGES_PER_CALL} (AWS does not document how Lambda deletes;
  one DeleteMessage per message would add {usd(per_million(MOVES - math.ceil(MOVES / SQS_MAX_MESSAGES_PER_CALL), SQS_USD_PER_MILLION_REQUESTS))}). At low traffic the 5 s batching
  window closes first and invocations are smaller: more receives, invocations and deletes.
- Lambda: the recorder's handler time is the benchmark's in-process time per invocation of
  {q['batch_size']} messages (the store answered in-process), so it leaves out the network round trip
  to the store; the extra line gives what each 10 ms of it adds. The sorter line is the
  publisher's CPU per event; both designs also wait in the stage for one AWS call per move
  (PutEvents; the old writer's WriteRecords), which no benchmark here can measure offline.
  Cold starts (init duration) are not counted.
- Timestream writes are metered by `filetrail_recorder::metering` on the records
  `filetrail_recorder::Layout` builds for the bench's events, as AWS's metering page defines
  it: each record is timestamp 8 bytes + dimension names and values + measure names + measure
  values (BIGINT and DOUBLE 8 bytes, VARCHAR its UTF-8 bytes, BOOLEAN 1); records are packed
  whole into 1 KiB writes, each write counting the `CommonAttributes` once. Seed records meter
  {q['ts_record_bytes']['seed']:.0f} bytes (common attributes {q['ts_common_bytes']['seed']:.0f}), multi records {q['ts_record_bytes']['multi']:.0f} ({q['ts_common_bytes']['multi']:.0f}), 100 to a call; the old
  writer's {q['old_record_bytes']:.0f}, one to a call, so each of its moves is one 1 KiB write. AWS announced in July 2022 that dimension and measure
  names are no longer charged; the metering page still counts them, so the totals use the page
  and the extra line shows the announcement's count. AWS's pricing page also says repeated
  dimensions in a batch are charged once, without saying how; the totals are an upper bound.
  Memory-store and magnetic-store storage is not counted.
- The InfluxDB sink pays its instance by the hour whether or not moves arrive, so it is shown
  per month beside the per-move lines; its total is per-move costs only.
- The DLQ line is measured with one message in each invocation that is not an event: the
  recorder sends the invocation's dead letters in one SendMessageBatch
  ({q['dlq_bytes_per_call']:.0f} request bytes).
"""


if __name__ == "__main__":
    import doctest
    doctest.testmod(verbose=False)
