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
