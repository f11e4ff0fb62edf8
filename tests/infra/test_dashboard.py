"""infra/grafana/dashboard.json: parses, reads Timestream through the dashboard's variables only,
keeps the seed-layout queries, and has filetrail's own panels.

The checks are functions over the parsed JSON so the mutation tests at the bottom can break a
copy and watch them fail.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

import emitted
import timestream_sql
from tfmodel import Infra

INFRA = Path(__file__).resolve().parents[2] / "infra"
DASHBOARD = INFRA / "grafana" / "dashboard.json"
TIMESTREAM = "grafana-timestream-datasource"
SEED_NAMES = ("sdc_aws_logs", "sdc_aws_s3_bucket_log_table")


def load() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels(dash: dict) -> Iterator[dict]:
    for p in dash.get("panels", []):
        yield p
        yield from p.get("panels", [])


def targets(dash: dict, ds_type: str) -> Iterator[tuple[dict, dict]]:
    for p in panels(dash):
        for t in p.get("targets", []):
            ds = t.get("datasource") or p.get("datasource") or {}
            if ds.get("type") == ds_type:
                yield p, t


def variables(dash: dict) -> dict[str, dict]:
    return {v["name"]: v for v in dash.get("templating", {}).get("list", [])}


def _ctes(sql: str) -> set[str]:
    return set(re.findall(r"(?:\bWITH|,)\s+([A-Za-z_][A-Za-z0-9_]*)\s+AS\s*\(", sql, re.I))


def timestream_query_problems(dash: dict) -> list[str]:
    """Every Timestream query names "$database"."$table" and nothing else; no table is hard-coded."""
    problems = []
    found = list(targets(dash, TIMESTREAM))
    if not found:
        problems.append("no Timestream query at all")
    for p, t in found:
        sql = t.get("rawQuery", "")
        where = f"panel {p.get('title')!r} query {t.get('refId')}"
        if "$database" not in sql or "$table" not in sql:
            problems.append(f"{where}: does not name $database and $table")
        ctes = _ctes(sql)
        for source in re.findall(r"\b(?:FROM|JOIN)\s+([^\s()]+)", sql, re.I):
            if source != '"$database"."$table"' and source not in ctes:
                problems.append(f"{where}: reads {source}, not \"$database\".\"$table\"")
        for key in ("database", "table"):
            if key in t and t[key] != f"${key}":
                problems.append(f"{where}: target {key} is {t[key]!r}, not ${key}")
        for name in SEED_NAMES:
            if name in json.dumps(t):
                problems.append(f"{where}: hard-codes {name}")
        if (t.get("datasource") or {}).get("uid") != "${timestream}":
            problems.append(f"{where}: datasource must be the $timestream variable")
    ds = variables(dash).get("timestream", {})
    if ds.get("type") != "datasource" or ds.get("query") != TIMESTREAM:
        problems.append(f"no datasource variable 'timestream' of type {TIMESTREAM}")
    if not any(r.get("id") == TIMESTREAM for r in dash.get("__requires", [])):
        problems.append(f"__requires does not name {TIMESTREAM}")
    return problems


def variable_problems(dash: dict) -> list[str]:
    vs = variables(dash)
    problems = []
    for name, default in (("database", SEED_NAMES[0]), ("table", SEED_NAMES[1])):
        v = vs.get(name)
        if v is None:
            problems.append(f"no dashboard variable ${name}")
        elif v.get("query") != default:
            problems.append(f"${name} should default to the seed name {default}")
    for name in ("file_key", "name_prefix", "cloudwatch"):
        if name not in vs:
            problems.append(f"no dashboard variable ${name}")
    return problems


def _seed_queries(dash: dict) -> list[tuple[str, str]]:
    return [(p.get("title", ""), t.get("rawQuery", "")) for p, t in targets(dash, TIMESTREAM)]


SEED_PANELS = {
    "files sorted per instrument bucket": lambda sql: re.search(r"GROUP BY destination_bucket\b", sql)
    and "source_bucket <> destination_bucket" in sql,
    "processing by level": lambda sql: "regexp_extract(new_file_key" in sql and "source_bucket = destination_bucket" in sql,
    "latest moves": lambda sql: re.search(r"ORDER BY time DESC\s+LIMIT \d+", sql),
    "a file's trail by $file_key": lambda sql: "file_key = ${file_key:sqlstring}" in sql
    and "new_file_key = ${file_key:sqlstring}" in sql,
    # Issue 14: the arrival's PUT (destination = the sort's source) joined to the sort, and an l0
    # file's sort joined to the products whose source it is, per instrument bucket.
    "time from arrival to sorted": lambda sql: "a.arrived_bucket = s.source_bucket" in sql
    and "a.arrived_key = s.file_key" in sql
    and re.search(r"GROUP BY destination_bucket\s*$", sql),
    "time from level 0 to its products": lambda sql: "new_file_key LIKE 'l0/%'" in sql
    and "p.l0_key = l.l0_key" in sql
    and "source_bucket = destination_bucket" in sql
    and re.search(r"GROUP BY bucket\s*$", sql),
}


def seed_query_problems(dash: dict) -> list[str]:
    """The seed-layout queries existing dashboards rely on are all there, on measure 'timestamp'."""
    queries = _seed_queries(dash)
    problems = []
    for what, matches in SEED_PANELS.items():
        if not any(matches(sql) for _, sql in queries):
            problems.append(f"no Timestream query for {what}")
    for title, sql in queries:
        if "measure_name = 'timestamp'" not in sql:
            problems.append(f"panel {title!r}: seed-layout queries select measure_name = 'timestamp'")
        if "$__timeFilter" not in sql:
            problems.append(f"panel {title!r}: no $__timeFilter (unbounded scans cost money)")
    return problems


# Values the dashboard's variables take in the SQL check: the seed names, and file keys that a
# careless interpolation would break (a quote, a double quote, a backslash, a `$`).
SAMPLE_FILE_KEYS = (
    "hermes_eea_l0_2024001-000000_v01.bin",
    "l0/2024/01/01/o'brien_eea_l0_2024001-000000_v01.bin",
    'it\'s "quoted" \\ $x.cdf',
    "",
)


def _sample_variables(dash: dict) -> list[dict[str, timestream_sql.Value]]:
    base: dict[str, timestream_sql.Value] = {}
    for name, v in variables(dash).items():
        if v.get("type") in {"textbox", "constant", "custom"}:
            base[name] = str(v.get("query", ""))
    return [{**base, "file_key": key} for key in SAMPLE_FILE_KEYS]


def timestream_sql_problems(dash: dict) -> list[str]:
    """Every Timestream query, expanded as grafana-timestream-datasource >= 2.9.11 expands it
    (Grafana's variables, then the plugin's macros) with each sample file key, is SQL a real
    parser (sqlglot, Trino dialect, Timestream duration literals) accepts."""
    problems = []
    for p, t in targets(dash, TIMESTREAM):
        where = f"panel {p.get('title')!r} query {t.get('refId')}"
        for values in _sample_variables(dash):
            try:
                sql = timestream_sql.expand(t.get("rawQuery", ""), values)
            except timestream_sql.UnknownFormat as e:
                problems.append(f"{where}: variable format {e} is not one this check knows")
                break
            problem = timestream_sql.sql_problem(sql)
            if problem:
                problems.append(f"{where} with file_key={values.get('file_key')!r}: {problem}\n    {sql}")
                break
    requires = [r for r in dash.get("__requires", []) if r.get("id") == TIMESTREAM]
    version = tuple(int(x) for x in re.findall(r"\d+", (requires or [{}])[0].get("version", "")))
    if version < (2, 9, 11):
        problems.append(f"__requires must name {TIMESTREAM} >= 2.9.11 (the macro expansion these queries are written for)")
    return problems


def _series(dash: dict, title_part: str, rows: list[tuple]) -> tuple[dict, dict | None, str | None]:
    """The panel titled like `title_part`, run on `rows` (columns ARRIVAL_COLUMNS) by DuckDB:
    its series by group, each point as (epoch ms, value); or why it did not run."""
    found = [(p, t) for p, t in targets(dash, TIMESTREAM) if title_part in p.get("title", "").lower()]
    if not found:
        return {}, None, f"no {title_part!r} panel"
    panel, target = found[0]
    sql = timestream_sql.expand(target.get("rawQuery", ""), _sample_variables(dash)[0])
    try:
        rows = timestream_sql.run_on_table(sql, ARRIVAL_COLUMNS, rows)
    except Exception as e:  # noqa: BLE001 - any failure to run is the finding
        return panel, None, f"panel {panel.get('title')!r} does not run on a small trail: {type(e).__name__}: {e}"
    series = {g: [(int(point["time"].timestamp() * 1000), point["value"]) for point in s] for g, s in rows}
    return panel, series, None


# A small trail for the "time from arrival to sorted" panel, seed layout (time in epoch ms, inside
# QueryContext's time range). The arrival is the latest PUT into the sort's source bucket that
# names the sorted key there: as new_file_key, or as file_key when new_file_key is 'N/A'.
_T = 1_700_000_100_000
ARRIVAL_COLUMNS = ["time", "measure_name", "action_type", "source_bucket", "file_key", "destination_bucket", "new_file_key"]
ARRIVAL_TRAIL = [
    # `filetrail publish --file-key A --destination-bucket hermes-incoming`: no new key.
    (_T, "timestamp", "PUT", "producer", "hermes_eea_l0_A.bin", "hermes-incoming", "N/A"),
    # Near misses, later than the arrival: A's key into another bucket; a record whose
    # file_key is A but which names its new key in incoming; A deleted from incoming.
    (_T + 2_000, "timestamp", "PUT", "producer", "hermes_eea_l0_A.bin", "other-bucket", "N/A"),
    (_T + 3_000, "timestamp", "PUT", "producer", "hermes_eea_l0_A.bin", "hermes-incoming", "renamed.bin"),
    (_T + 4_000, "timestamp", "DELETE", "hermes-incoming", "hermes_eea_l0_A.bin", "N/A", "N/A"),
    # A producer that renames on upload: the arrival names B as new_file_key.
    (_T, "timestamp", "PUT", "staging", "upload-0001", "hermes-incoming", "hermes_nms_l0_B.bin"),
    # The sorts: A after 30 s, B after 10 s; C sorted without any arrival recorded.
    (_T + 30_000, "timestamp", "PUT", "hermes-incoming", "hermes_eea_l0_A.bin", "hermes-eea", "l0/hermes_eea_l0_A.bin"),
    (_T + 10_000, "timestamp", "PUT", "hermes-incoming", "hermes_nms_l0_B.bin", "hermes-nemisis", "l0/hermes_nms_l0_B.bin"),
    (_T + 20_000, "timestamp", "PUT", "hermes-incoming", "hermes_eea_l0_C.bin", "hermes-merit", "l0/hermes_eea_l0_C.bin"),
]
ARRIVAL_WAITS = {"hermes-eea": [30.0], "hermes-nemisis": [10.0]}


def arrival_wait_problems(dash: dict) -> list[str]:
    """The "time from arrival to sorted" panel, run on ARRIVAL_TRAIL (expanded as the plugin
    expands it, by DuckDB through timestream_sql.run_on_table), gives exactly ARRIVAL_WAITS:
    an arrival without a new key counts, the near misses do not."""
    panel, series, problem = _series(dash, "arrival to sorted", ARRIVAL_TRAIL)
    if problem:
        return [problem]
    waits = {bucket: [value for _, value in points] for bucket, points in series.items()}
    if waits != ARRIVAL_WAITS:
        return [f"panel {panel.get('title')!r}: waits {waits}, expected {ARRIVAL_WAITS}"]
    return []


# A small trail for the "time from level 0 to its products" panel, seed layout. A run is an l0
# file's sort and the products recorded from it up to the next sort of the same key; its time is
# the sort to the run's last product (MAX: "to its products" means all of them, and a MIN would
# still take a later run's product for a sort whose own run made none).
LEVEL0_TRAIL = [
    # eea: A sorted, two products (the run: 50 s); A sorted again, one product (10 s). Without
    # the bound at the next sort, the first run would end at the second run's product (310 s).
    (_T, "timestamp", "PUT", "hermes-incoming", "hermes_eea_l0_A.bin", "hermes-eea", "l0/A.bin"),
    (_T + 20_000, "timestamp", "PUT", "hermes-eea", "l0/A.bin", "hermes-eea", "l1/A.cdf"),
    (_T + 50_000, "timestamp", "PUT", "hermes-eea", "l0/A.bin", "hermes-eea", "ql/A.png"),
    (_T + 300_000, "timestamp", "PUT", "hermes-incoming", "hermes_eea_l0_A.bin", "hermes-eea", "l0/A.bin"),
    (_T + 310_000, "timestamp", "PUT", "hermes-eea", "l0/A.bin", "hermes-eea", "l1/A.cdf"),
    # nemisis: B sorted, one product after 30 s. Near misses: an in-place PUT of B's key
    # (`filetrail publish --file-key l0/B.bin` into the same bucket, no new key) at 100 s; a
    # product of B's key recorded in another bucket; B deleted; a product that is itself l0.
    (_T, "timestamp", "PUT", "hermes-incoming", "hermes_nms_l0_B.bin", "hermes-nemisis", "l0/B.bin"),
    (_T + 30_000, "timestamp", "PUT", "hermes-nemisis", "l0/B.bin", "hermes-nemisis", "l1/B.cdf"),
    (_T + 100_000, "timestamp", "PUT", "hermes-nemisis", "l0/B.bin", "hermes-nemisis", "N/A"),
    (_T + 40_000, "timestamp", "PUT", "hermes-eea", "l0/B.bin", "hermes-eea", "l1/B.cdf"),
    (_T + 45_000, "timestamp", "DELETE", "hermes-nemisis", "l0/B.bin", "N/A", "N/A"),
    (_T + 55_000, "timestamp", "PUT", "hermes-nemisis", "l0/B.bin", "hermes-nemisis", "l0/B-copy.bin"),
    # nemisis: C sorted at 120 s; its only product record is older (a product already stored,
    # whose record carries the stored object's time): no run.
    (_T + 120_000, "timestamp", "PUT", "hermes-incoming", "hermes_nms_l0_C.bin", "hermes-nemisis", "l0/C.bin"),
    (_T + 60_000, "timestamp", "PUT", "hermes-nemisis", "l0/C.bin", "hermes-nemisis", "l1/C.cdf"),
    # merit: D's first run made nothing (its command failed); re-sorted at 600 s, a product
    # after 20 s. Only the second run is shown; MIN after the first sort would make it 620 s.
    (_T, "timestamp", "PUT", "hermes-incoming", "hermes_mrt_l0_D.bin", "hermes-merit", "l0/D.bin"),
    (_T + 600_000, "timestamp", "PUT", "hermes-incoming", "hermes_mrt_l0_D.bin", "hermes-merit", "l0/D.bin"),
    (_T + 620_000, "timestamp", "PUT", "hermes-merit", "l0/D.bin", "hermes-merit", "l1/D.cdf"),
]
LEVEL0_RUNS = {
    "hermes-eea": [(_T, 50.0), (_T + 300_000, 10.0)],
    "hermes-nemisis": [(_T, 30.0)],
    "hermes-merit": [(_T + 600_000, 20.0)],
}


def level0_run_problems(dash: dict) -> list[str]:
    """The "time from level 0 to its products" panel, run on LEVEL0_TRAIL, gives exactly
    LEVEL0_RUNS: each run bounded by the next sort of its key, its last product counted, an
    in-place PUT and the other near misses not."""
    panel, runs, problem = _series(dash, "level 0 to its products", LEVEL0_TRAIL)
    if problem:
        return [problem]
    if runs != LEVEL0_RUNS:
        return [f"panel {panel.get('title')!r}: runs {runs}, expected {LEVEL0_RUNS}"]
    return []


def filetrail_panel_problems(dash: dict) -> list[str]:
    """DLQ depth and age, records written, duplicates absorbed, dead-lettered (and by reason),
    the recorder's lag, and the auditor's three counts."""
    metrics = [(t.get("namespace"), t.get("metricName"), json.dumps(t.get("dimensions", {}))) for _, t in targets(dash, "cloudwatch")]
    problems = []
    for dlq in ("recorder-dlq", "target-dlq", "sorter-dlq", "processor-dlq"):
        if not any(m[:2] == ("AWS/SQS", "ApproximateNumberOfMessagesVisible") and dlq in m[2] for m in metrics):
            problems.append(f"no DLQ depth series for {dlq}")
    if not any(m[:2] == ("AWS/SQS", "ApproximateAgeOfOldestMessage") and "-events" in m[2] for m in metrics):
        problems.append("no oldest-message age of the events queue")
    for emf in ("written", "duplicate", "dead_lettered", "recording_lag_p50_ms", "recording_lag_max_ms", "oldest_message_age_ms"):
        if not any(m[:2] == ("filetrail", emf) and "recorder" in m[2] for m in metrics):
            problems.append(f"no filetrail/{emf} panel for the recorder")
    for emf in ("stuck_files", "unprocessed_files", "unrecorded_files"):
        if not any(m[:2] == ("filetrail", emf) and "auditor" in m[2] for m in metrics):
            problems.append(f"no filetrail/{emf} panel for the auditor")
    logs = [t for _, t in targets(dash, "cloudwatch") if t.get("queryMode") == "Logs"]
    if not any("reason" in t.get("expression", "") and any("recorder" in g for g in t.get("logGroupNames", [])) for t in logs):
        problems.append("no dead-lettered-by-reason Logs Insights query over the recorder's log group")
    return problems


def _infra_names(infra: Infra, rtype: str, prefix: str) -> set[str]:
    """The `name` of every resource of a type, rendered with var.name_prefix = prefix."""
    from tfmodel import Scenario

    names = set()
    for mod, _, body in infra.all_resources(rtype):
        n = emitted.render(Scenario(mod, name_prefix=prefix), body.get("name"))
        if n:
            names.add(n)
    return names


def cloudwatch_metric_problems(dash: dict, infra_root: Path = INFRA) -> list[str]:
    """Every CloudWatch query reads what exists, under every sample name prefix (the
    dashboard's $name_prefix set to the modules' var.name_prefix): a filetrail metric is in
    infra/emf-metrics.json for the function whose Terraform function_name the dimension names,
    with exactly the emitted dimensions and the value the code emits; an SQS metric names a
    queue and a Logs query a log group that Terraform creates."""
    infra = Infra.load(infra_root)
    manifest = emitted.load(infra_root)
    functions = manifest["functions"]
    problems = []
    for p, t in targets(dash, "cloudwatch"):
        where = f"panel {p.get('title')!r} query {t.get('refId')}"
        for prefix in emitted.SAMPLE_NAME_PREFIXES:
            def value(text: str) -> str:
                return timestream_sql.frontend(text, {"name_prefix": prefix})

            if t.get("queryMode") == "Logs":
                groups = _infra_names(infra, "aws_cloudwatch_log_group", prefix)
                for g in t.get("logGroupNames", []):
                    if value(g) not in groups:
                        problems.append(f"{where}: with name_prefix {prefix!r} log group {value(g)!r} is not one Terraform creates")
                continue
            ns, metric, dims = t.get("namespace"), t.get("metricName"), t.get("dimensions") or {}
            if ns == "AWS/SQS":
                queues = _infra_names(infra, "aws_sqs_queue", prefix)
                if set(dims) != {"QueueName"} or value(dims.get("QueueName", "")) not in queues:
                    problems.append(f"{where}: with name_prefix {prefix!r} {dims} names no queue Terraform creates")
                continue
            if ns != manifest["namespace"]:
                problems.append(f"{where}: namespace {ns!r} is neither AWS/SQS nor the one the code emits")
                break
            if sorted(dims) != sorted(manifest["dimensions"]):
                problems.append(f"{where}: dimensions {sorted(dims)} are not the emitted {manifest['dimensions']}")
                break
            for dim, raw in dims.items():
                queried = value(raw)
                owner = [f for f in functions if emitted.deployed_name(infra, f, prefix) == queried]
                if not owner:
                    problems.append(f"{where}: with name_prefix {prefix!r} {dim}={queried!r} is no function Terraform deploys")
                    continue
                function = owner[0]
                if metric not in functions[function]["metrics"]:
                    problems.append(f"{where}: {function} emits no metric {metric!r}")
                sent = emitted.emitted_dimension(manifest, function, queried)
                if sent != queried:
                    problems.append(f"{where}: with name_prefix {prefix!r} it queries {dim}={queried!r}, the {function} emits {dim}={sent!r}")
    return problems


CHECKS = {
    "timestream_queries": timestream_query_problems,
    "variables": variable_problems,
    "seed_queries": seed_query_problems,
    "filetrail_panels": filetrail_panel_problems,
    "timestream_sql": timestream_sql_problems,
    "cloudwatch_metrics": cloudwatch_metric_problems,
    "arrival_waits": arrival_wait_problems,
    "level0_runs": level0_run_problems,
}


def test_dashboard_is_json_with_panels() -> None:
    dash = load()
    assert dash["uid"] and dash["title"]
    assert len(list(panels(dash))) >= 10
    ids = [p["id"] for p in panels(dash)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_dashboard_check_holds(name: str) -> None:
    problems = CHECKS[name](load())
    assert problems == [], "\n".join(problems)


def _first_timestream_target(dash: dict, title_part: str) -> dict:
    for p, t in targets(dash, TIMESTREAM):
        if title_part.lower() in p.get("title", "").lower():
            return t
    raise AssertionError(f"no Timestream panel titled like {title_part!r}")


def _hardcode_table(dash: dict) -> None:
    t = _first_timestream_target(dash, "latest")
    t["rawQuery"] = t["rawQuery"].replace('"$database"."$table"', '"sdc_aws_logs"."sdc_aws_s3_bucket_log_table"')


def _second_table(dash: dict) -> None:
    t = _first_timestream_target(dash, "sorted")
    t["rawQuery"] += '\nUNION ALL SELECT * FROM "other_db"."other_table"'


def _drop_trail(dash: dict) -> None:
    dash["panels"] = [p for p in dash["panels"] if "trail" not in p.get("title", "").lower()]


def _no_measure_filter(dash: dict) -> None:
    t = _first_timestream_target(dash, "level")
    t["rawQuery"] = t["rawQuery"].replace("AND measure_name = 'timestamp'", "")


def _no_table_variable(dash: dict) -> None:
    dash["templating"]["list"] = [v for v in dash["templating"]["list"] if v["name"] != "table"]


def _no_duplicate_panel(dash: dict) -> None:
    dash["panels"] = [p for p in dash["panels"] if "duplicate" not in p.get("title", "").lower()]


def _wrong_datasource(dash: dict) -> None:
    for p in dash["panels"]:
        for t in p.get("targets", []):
            if (t.get("datasource") or {}).get("type") == TIMESTREAM:
                t["datasource"] = {"type": "influxdb", "uid": "x"}


def _interval_ms_with_unit(dash: dict) -> None:
    """The form that worked before plugin 2.9.11 and expands to `60000msms` since."""
    t = _first_timestream_target(dash, "sorted")
    t["rawQuery"] = t["rawQuery"].replace("$__interval_ms", "${__interval_ms}ms")


def _unescaped_file_key(dash: dict) -> None:
    t = _first_timestream_target(dash, "trail")
    t["rawQuery"] = t["rawQuery"].replace("${file_key:sqlstring}", "'$file_key'")


def _missing_parenthesis(dash: dict) -> None:
    t = _first_timestream_target(dash, "level")
    t["rawQuery"] = t["rawQuery"].replace("COUNT(*) AS products", "COUNT(* AS products", 1)


def _no_level0_panel(dash: dict) -> None:
    dash["panels"] = [p for p in dash["panels"] if "level 0" not in p.get("title", "").lower()]


def _arrival_joined_on_the_wrong_key(dash: dict) -> None:
    t = _first_timestream_target(dash, "arrival")
    t["rawQuery"] = t["rawQuery"].replace("a.arrived_key = s.file_key", "a.arrived_key = s.destination_bucket")


def _arrival_only_with_a_new_key(dash: dict) -> None:
    """The join before the fix: an arrival had to carry a new_file_key."""
    t = _first_timestream_target(dash, "arrival")
    t["rawQuery"] = t["rawQuery"].replace(
        "CASE WHEN new_file_key = 'N/A' THEN file_key ELSE new_file_key END AS arrived_key",
        "new_file_key AS arrived_key",
    ).replace("AND action_type = 'PUT'\n), waits", "AND action_type = 'PUT'\n        AND new_file_key <> 'N/A'\n), waits")


def _arrival_by_either_key(dash: dict) -> None:
    """A record naming the key as file_key while it names a new key counts too."""
    t = _first_timestream_target(dash, "arrival")
    t["rawQuery"] = t["rawQuery"].replace("a.arrived_key = s.file_key", "(a.arrived_key = s.file_key OR a.file_key = s.file_key)").replace(
        "CASE WHEN new_file_key = 'N/A' THEN file_key ELSE new_file_key END AS arrived_key",
        "CASE WHEN new_file_key = 'N/A' THEN file_key ELSE new_file_key END AS arrived_key, file_key",
    )


def _arrival_in_any_bucket(dash: dict) -> None:
    t = _first_timestream_target(dash, "arrival")
    t["rawQuery"] = t["rawQuery"].replace("a.arrived_bucket = s.source_bucket AND ", "")


def _level0_runs_unbounded(dash: dict) -> None:
    """The join before the fix: a sort took every later product of its key."""
    t = _first_timestream_target(dash, "level 0 to its products")
    t["rawQuery"] = t["rawQuery"].replace("\n        AND (l.next_sorted_at IS NULL OR p.produced_at < l.next_sorted_at)", "")


def _level0_first_product(dash: dict) -> None:
    """The time to the run's first product instead of its last."""
    t = _first_timestream_target(dash, "level 0 to its products")
    t["rawQuery"] = t["rawQuery"].replace("MAX(p.produced_at)", "MIN(p.produced_at)")


def _level0_in_place_put_is_a_product(dash: dict) -> None:
    t = _first_timestream_target(dash, "level 0 to its products")
    t["rawQuery"] = t["rawQuery"].replace("\n        AND new_file_key <> 'N/A'", "")


def _level0_products_before_the_sort(dash: dict) -> None:
    t = _first_timestream_target(dash, "level 0 to its products")
    t["rawQuery"] = t["rawQuery"].replace(" AND p.produced_at >= l.sorted_at", "")


def _no_audit_panel(dash: dict) -> None:
    dash["panels"] = [p for p in dash["panels"] if "audit" not in p.get("title", "").lower()]


def _lag_of_the_wrong_function(dash: dict) -> None:
    for p, t in targets(dash, "cloudwatch"):
        if t.get("metricName", "").startswith("recording_lag"):
            t["dimensions"] = {"function": "${name_prefix}-sorter"}


def _cloudwatch_target(dash: dict, title_part: str) -> dict:
    for p, t in targets(dash, "cloudwatch"):
        if title_part.lower() in p.get("title", "").lower():
            return t
    raise AssertionError(f"no CloudWatch panel titled like {title_part!r}")


def _metric_not_emitted(dash: dict) -> None:
    _cloudwatch_target(dash, "records written")["metricName"] = "records_written"


def _hard_coded_function(dash: dict) -> None:
    _cloudwatch_target(dash, "duplicates")["dimensions"] = {"function": "filetrail-recorder"}


def _wrong_queue_name(dash: dict) -> None:
    _cloudwatch_target(dash, "dlq depth")["dimensions"] = {"QueueName": "${name_prefix}-recorder_dlq"}


DASHBOARD_MUTATIONS: list[tuple[str, Any]] = [
    ("cloudwatch_metrics", _metric_not_emitted),
    ("cloudwatch_metrics", _hard_coded_function),
    ("cloudwatch_metrics", _wrong_queue_name),
    ("timestream_sql", _interval_ms_with_unit),
    ("timestream_sql", _unescaped_file_key),
    ("timestream_sql", _missing_parenthesis),
    ("timestream_queries", _hardcode_table),
    ("timestream_queries", _second_table),
    ("timestream_queries", _wrong_datasource),
    ("seed_queries", _drop_trail),
    ("seed_queries", _no_measure_filter),
    ("variables", _no_table_variable),
    ("filetrail_panels", _no_duplicate_panel),
    ("filetrail_panels", _no_audit_panel),
    ("filetrail_panels", _lag_of_the_wrong_function),
    ("cloudwatch_metrics", _lag_of_the_wrong_function),
    ("seed_queries", _no_level0_panel),
    ("seed_queries", _arrival_joined_on_the_wrong_key),
    ("arrival_waits", _arrival_only_with_a_new_key),
    ("arrival_waits", _arrival_by_either_key),
    ("arrival_waits", _arrival_in_any_bucket),
    ("level0_runs", _level0_runs_unbounded),
    ("level0_runs", _level0_first_product),
    ("level0_runs", _level0_in_place_put_is_a_product),
    ("level0_runs", _level0_products_before_the_sort),
]


@pytest.mark.parametrize("check,mutate", DASHBOARD_MUTATIONS, ids=lambda x: getattr(x, "__name__", x))
def test_dashboard_mutation_is_caught(check: str, mutate: Any) -> None:
    dash = copy.deepcopy(load())
    assert CHECKS[check](dash) == []
    mutate(dash)
    assert CHECKS[check](dash), f"{check} did not notice {mutate.__name__}"


def test_every_dashboard_check_has_a_mutation() -> None:
    assert {c for c, _ in DASHBOARD_MUTATIONS} == set(CHECKS)


def test_cloudwatch_check_refuses_a_constant_function_name(tmp_path: Path) -> None:
    """The code as it was before issue 12 (every metric under the constant filetrail-recorder):
    the dashboard's ${name_prefix}-recorder then misses it for any other prefix."""
    import shutil

    root = tmp_path / "infra"
    shutil.copytree(INFRA, root, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    manifest = json.loads((root / emitted.MANIFEST).read_text())
    manifest["functions"]["recorder"]["dimension_value"] = "filetrail-recorder"
    (root / emitted.MANIFEST).write_text(json.dumps(manifest))
    dash = load()
    assert cloudwatch_metric_problems(dash, INFRA) == []
    problems = cloudwatch_metric_problems(dash, root)
    assert any("'filetrail-dev'" in p and "filetrail-recorder" in p for p in problems), problems
