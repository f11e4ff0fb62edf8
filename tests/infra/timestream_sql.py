"""What Grafana and grafana-timestream-datasource (>= 2.9.11) send to Timestream for a panel's
raw SQL, re-implemented from their sources, and a real SQL parser over the result.

1. The frontend (`DataSource.applyTemplateVariables`, src/DataSource.ts) runs Grafana's
   `templateSrv.replace(rawQuery, scopedVars, interpolateVariable)`. Since 2.9.11 ("interpolate
   interval on the backend", #327) the scoped variables `__interval` and `__interval_ms` are
   replaced by the strings `$__interval` and `$__interval_ms`, so the backend expands them.
   Grafana's variable syntax is `$name`, `${name}`, `${name:format}` and `[[name]]`; a format in
   the variable wins over the datasource's formatter (`const fmt = fmt2 || fmt3 || format` in
   Grafana's template_srv.ts). The plugin's formatter returns a single value as it is, unquoted
   and unescaped, and quotes each value of a multi-value variable (`'` doubled). Names that are
   no variable (`$__timeFilter`) stay as they are.
2. The backend (`Interpolate`, pkg/timestream/macros.go) replaces `$__<macro>` for each macro,
   longest name first: `$__timeFilter` -> `time BETWEEN from_milliseconds(F) AND
   from_milliseconds(T)`, `$__interval` and `$__interval_ms` -> `<ms>ms`, `$__interval_raw_ms`
   -> `<ms>`, `$__timeFrom`/`$__timeTo`/`$__now_ms` -> epoch ms, `$__database`/`$__table`/
   `$__measure` -> the query's (or the datasource's default) database, table and measure.

So `BIN(time, ${__interval_ms}ms)` becomes `BIN(time, 60000msms)`; `BIN(time, $__interval_ms)`
becomes `BIN(time, 60000ms)`, as the plugin documents (docs/sources/query-editor.md).

Timestream's SQL is close to Trino's, with interval literals (`60000ms`, `3s`, `1h`, `2d`,
`1day`: https://docs.aws.amazon.com/timestream/latest/developerguide/date-time-operators.html,
and `bin(timestamp, interval)` in date-time-functions.html) that Trino writes as
`parse_duration('60000ms')`; `to_trino` rewrites the
literals outside string literals, and sqlglot's Trino dialect parses the rest. A number glued
to anything but a duration unit (`60000msms`) stays a syntax error, as in Timestream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

import sqlglot
from sqlglot.errors import ParseError, TokenError

Value = Union[str, list[str]]

# Grafana's variable regex (packages/grafana-data/src/utils/variables.ts / template_srv.ts).
GRAFANA_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}")

# The backend's macros (pkg/timestream/macros.go); applied longest name first.
BACKEND_MACROS = (
    "timeFilter",
    "timeFrom",
    "timeTo",
    "interval",
    "interval_ms",
    "interval_raw_ms",
    "now_ms",
    "database",
    "table",
    "measure",
)

# A Timestream duration literal, as a whole token.
DURATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(ns|us|ms|s|m|h|d|(?:second|minute|hour|day)s?)(?![\w.])")
STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")


class UnknownFormat(ValueError):
    """A `${var:format}` this re-implementation does not know (so it cannot vouch for it)."""


def _sqlstring(v: str) -> str:
    # Grafana's sqlStringFormatter: ' doubled; newer Grafana (scenes) also writes " as \".
    return "'" + v.replace("'", "''").replace('"', '\\"') + "'"


def _format(value: Value, fmt: str | None) -> str:
    values = value if isinstance(value, list) else [value]
    if fmt is None:
        # The plugin's interpolateVariable: a single value raw, multi-values quoted.
        if isinstance(value, str):
            return value
        return ",".join("'" + v.replace("'", "''") + "'" for v in values)
    if fmt == "sqlstring":
        return ",".join(_sqlstring(v) for v in values)
    if fmt == "raw":
        return ",".join(values)
    if fmt == "csv":
        return ",".join(values)
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    raise UnknownFormat(fmt)


def frontend(sql: str, variables: dict[str, Value]) -> str:
    """Grafana's templateSrv.replace with the plugin's formatter and scoped variables (>= 2.9.11)."""
    scoped: dict[str, Value] = {"__interval": "$__interval", "__interval_ms": "$__interval_ms", **variables}

    def replace(m: re.Match) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(6)
        if name not in scoped:
            return m.group(0)
        return _format(scoped[name], fmt)

    return GRAFANA_VARIABLE.sub(replace, sql)


@dataclass(frozen=True)
class QueryContext:
    """What the backend fills the macros with."""

    from_ms: int = 1_700_000_000_000
    to_ms: int = 1_700_003_600_000
    interval_ms: int = 60_000
    now_ms: int = 1_700_003_600_000
    database: str = "sdc_aws_logs"
    table: str = "sdc_aws_s3_bucket_log_table"
    measure: str = "timestamp"
    macros: dict[str, str] = field(default_factory=dict)

    def macro(self, name: str) -> str:
        return {
            "timeFilter": f"time BETWEEN from_milliseconds({self.from_ms}) AND from_milliseconds({self.to_ms})",
            "timeFrom": str(self.from_ms),
            "timeTo": str(self.to_ms),
            "interval": f"{self.interval_ms}ms",
            "interval_ms": f"{self.interval_ms}ms",
            "interval_raw_ms": str(self.interval_ms),
            "now_ms": str(self.now_ms),
            "database": self.database,
            "table": self.table,
            "measure": self.measure,
        }[name]


def backend(sql: str, ctx: QueryContext) -> str:
    """The plugin's Interpolate: every `$__<macro>`, longest macro name first."""
    for name in sorted(BACKEND_MACROS, key=len, reverse=True):
        key = f"$__{name}"
        if key in sql:
            sql = sql.replace(key, ctx.macro(name))
    return sql


def expand(raw: str, variables: dict[str, Value], ctx: QueryContext | None = None) -> str:
    """The SQL Timestream receives for a panel's rawQuery."""
    return backend(frontend(raw, variables), ctx or QueryContext())


def _outside_strings(sql: str, fn) -> str:
    out, last = [], 0
    for m in STRING_LITERAL.finditer(sql):
        out.append(fn(sql[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(fn(sql[last:]))
    return "".join(out)


def to_trino(sql: str) -> str:
    """Timestream duration literals outside string literals as Trino's parse_duration(...)."""
    return _outside_strings(sql, lambda code: DURATION.sub(lambda m: f"parse_duration('{m.group(0)}')", code))


def sql_problem(sql: str) -> str | None:
    """Why Timestream could not parse `sql` (None when it parses)."""
    code = STRING_LITERAL.sub("''", sql)
    left = re.search(r"\$\{?[\w:]+\}?", code)
    if left:
        return f"{left.group(0)} is left unexpanded"
    try:
        sqlglot.parse_one(to_trino(sql), read="trino")
    except (ParseError, TokenError) as e:
        return f"{type(e).__name__}: {str(e).splitlines()[0]}"
    return None


# --- running a panel's SQL on a small table ------------------------------------------------
#
# Timestream's functions the dashboard uses, as DuckDB macros under names of their own (DuckDB
# has a `to_milliseconds` of its own, interval-valued), each as Timestream documents it
# (date-time-functions.html, timeseries-specific-constructs.functions.html):
# to_milliseconds(timestamp) -> bigint ms, from_milliseconds(bigint) -> timestamp,
# bin(timestamp, interval) -> the start of its bin, create_time_series(time, value) -> the
# time series of a group (here a list of {time, value}, in time order).
DUCKDB_MACROS = {
    "to_milliseconds": "CREATE MACRO ts_to_milliseconds(t) AS epoch_ms(t)",
    "from_milliseconds": "CREATE MACRO ts_from_milliseconds(ms) AS make_timestamp(ms * 1000)",
    "bin": "CREATE MACRO ts_bin(t, d) AS time_bucket(d, t)",
    "create_time_series": "CREATE MACRO ts_create_time_series(t, v) AS list({'time': t, 'value': v} ORDER BY t)",
}

_UNITS = {"ns": "nanoseconds", "us": "microseconds", "ms": "milliseconds", "s": "seconds", "m": "minutes",
          "h": "hours", "d": "days"}


def _duckdb_interval(literal: str) -> "sqlglot.exp.Expression":
    m = re.fullmatch(r"(\d+)(ns|us|ms|s|m|h|d)", literal)
    if not m:
        raise ValueError(f"duration {literal!r} is not one the DuckDB translation knows")
    return sqlglot.parse_one(f"INTERVAL '{m.group(1)} {_UNITS[m.group(2)]}'", read="duckdb")


def to_duckdb(sql: str) -> str:
    """`sql` (as Timestream receives it) in DuckDB's dialect, Timestream's functions renamed to
    the macros of DUCKDB_MACROS and its duration literals as DuckDB intervals."""
    from sqlglot import exp

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name == "parse_duration":
                return _duckdb_interval(node.expressions[0].this)
            if name in DUCKDB_MACROS:
                node.set("this", f"ts_{name}")  # in place, so its arguments are visited too
        return node

    tree = sqlglot.parse_one(to_trino(sql), read="trino").transform(swap)
    return tree.sql(dialect="duckdb")


def run_on_table(sql: str, columns: list[str], rows: list[tuple], ctx: QueryContext | None = None) -> list[tuple]:
    """The rows `sql` (as Timestream receives it) returns from a table `ctx.database`.`ctx.table`
    holding `rows` (`time` as epoch ms, every other column text), run by DuckDB in process."""
    import duckdb

    ctx = ctx or QueryContext()
    con = duckdb.connect()
    for macro in DUCKDB_MACROS.values():
        con.execute(macro)
    con.execute(f'CREATE SCHEMA "{ctx.database}"')
    cols = ", ".join(f'"{c}" TIMESTAMP' if c == "time" else f'"{c}" VARCHAR' for c in columns)
    con.execute(f'CREATE TABLE "{ctx.database}"."{ctx.table}" ({cols})')
    marks = ", ".join("make_timestamp(? * 1000)" if c == "time" else "?" for c in columns)
    con.executemany(f'INSERT INTO "{ctx.database}"."{ctx.table}" VALUES ({marks})', rows)
    return con.execute(to_duckdb(sql)).fetchall()
