"""The FileMoved v1 contract in Python: building, validating and identifying an event.

Every rule here is the Rust contract's (``crates/filetrail-contract``), checked in the same
order and reported on the same field, so a detail Python accepts is one the recorder accepts,
with the same ``event_id``. ``tests/test_conformance.py`` runs thousands of generated details
through both and compares them.

The Rust side first parses the JSON into its type (keys in the order they come; a wrong type,
an unknown key or a malformed time stops it at that key; missing required keys are noticed at
the end), then checks the rules a type cannot hold. :func:`validate` walks a dict the same way.
"""

import hashlib
import json
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Union

from .limits import (
    ACTION_TYPES,
    EVENT_ID_HEX_LEN,
    MAX_BUCKET_LEN,
    MAX_FUTURE_MS,
    MAX_KEY_BYTES,
    MAX_OPTIONAL_TEXT_BYTES,
    MIN_BUCKET_LEN,
    SCHEMA_VERSION,
    U32_MAX,
    U64_MAX,
)

__all__ = [
    "InvalidEvent",
    "OCCURRED_AT_FORMAT",
    "event_id",
    "file_moved",
    "format_occurred_at",
    "parse_occurred_at",
    "validate",
]

#: The format every error about ``occurred_at`` quotes (the Rust contract's words).
OCCURRED_AT_FORMAT = "RFC 3339 UTC with at most millisecond precision, e.g. 2024-05-01T12:00:00.123Z"

# The fields of the v1 detail in the Rust type's declaration (and serialization) order, with
# the kind of value each holds.
_FIELDS: Dict[str, str] = {
    "schema_version": "u32",
    "event_id": "string",
    "file_key": "string",
    "new_file_key": "optional string",
    "source_bucket": "optional string",
    "destination_bucket": "optional string",
    "action_type": "action",
    "occurred_at": "time",
    "stage": "optional string",
    "size": "optional u64",
    "etag": "optional string",
    "version_id": "optional string",
    "trace_id": "optional string",
}
# Fields without a default: serde reports the first one missing, in declaration order.
_REQUIRED = ("schema_version", "event_id", "file_key", "action_type", "occurred_at")
# The optional fields (left out when absent), by kind.
_OPTIONAL_TEXT = ("stage", "etag", "version_id", "trace_id")
_OPTIONAL_INTEGER = ("size",)


class InvalidEvent(ValueError):
    """A detail breaks the v1 contract. ``field`` names the field, as the Rust contract does."""

    def __init__(self, field: str, problem: str) -> None:
        #: The field that is wrong (``detail`` when the detail as a whole is).
        self.field = field
        #: What is wrong, and which limit applies.
        self.problem = problem
        super().__init__(f"{field}: {problem}")


def _describe(value: Any) -> str:
    """A JSON value as serde_json names it in "invalid type" errors."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value!r}`"
    if isinstance(value, str):
        return f"string {json.dumps(value, ensure_ascii=False)}"
    if isinstance(value, (list, tuple)):
        return "sequence"
    if isinstance(value, Mapping):
        return "map"
    return type(value).__name__


def _utf8_len(field: str, value: str) -> int:
    """The UTF-8 byte length of a string; a lone surrogate (no UTF-8 form) names the field."""
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError as e:
        raise InvalidEvent(
            field, f"is not valid Unicode (lone surrogate at character {e.start}); JSON text in UTF-8 cannot carry it"
        ) from None


def _digits(b: bytes) -> Optional[int]:
    if not b or not all(0x30 <= c <= 0x39 for c in b):
        return None
    return int(b)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (also before year 1, as chrono)."""
    y = year - (1 if month <= 2 else 0)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_occurred_at(value: str) -> Optional[int]:
    """Epoch milliseconds of an ``occurred_at`` string, or ``None`` when it is not the format.

    The Rust contract's parser, byte for byte: ``YYYY-MM-DDTHH:MM:SS``, then optionally ``.``
    and 1 to 3 digits, then ``Z`` or ``+00:00``; a real calendar date (years 0000..9999).
    """
    try:
        b = value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if len(b) < 20 or b[4:5] != b"-" or b[7:8] != b"-" or b[10:11] != b"T" or b[13:14] != b":" or b[16:17] != b":":
        return None
    parts = [_digits(b[0:4]), _digits(b[5:7]), _digits(b[8:10]), _digits(b[11:13]), _digits(b[14:16]), _digits(b[17:19])]
    if any(p is None for p in parts):
        return None
    year, month, day, hour, minute, second = (int(p) for p in parts)  # type: ignore[arg-type]
    rest = b[19:]
    frac = 0
    if rest[:1] == b".":
        n = 0
        while 1 + n < len(rest) and 0x30 <= rest[1 + n] <= 0x39:
            n += 1
        if not 1 <= n <= 3:
            return None
        frac = int(rest[1 : 1 + n]) * 10 ** (3 - n)
        rest = rest[1 + n :]
    if rest not in (b"Z", b"+00:00"):
        return None
    if not 1 <= month <= 12:
        return None
    days_in_month = 29 if month == 2 and _is_leap(year) else _DAYS_IN_MONTH[month - 1]
    if not 1 <= day <= days_in_month or hour > 23 or minute > 59 or second > 59:
        return None
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    return seconds * 1000 + frac


def format_occurred_at(ms: int) -> str:
    """Epoch milliseconds as the contract writes them: ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    seconds, millis = divmod(ms, 1000)
    t = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return f"{t.strftime('%Y-%m-%dT%H:%M:%S')}.{millis:03d}Z"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _millis_of(field: str, t: Union[datetime, str, None]) -> int:
    if t is None:
        return _now_ms()
    if isinstance(t, datetime):
        if t.tzinfo is None or t.utcoffset() is None:
            raise InvalidEvent(
                field, "is a naive datetime; give a timezone-aware one, e.g. datetime.now(timezone.utc)"
            )
        epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
        delta = t - epoch
        # Truncated to the millisecond, as the Rust contract does.
        return (delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds) // 1000
    if isinstance(t, str):
        ms = parse_occurred_at(t)
        if ms is None:
            raise InvalidEvent(field, f"must be {OCCURRED_AT_FORMAT}; got {json.dumps(t, ensure_ascii=False)}")
        return ms
    raise InvalidEvent(field, f"invalid type: {_describe(t)}, expected a datetime or an RFC 3339 string")


def event_id(
    action_type: str,
    source_bucket: Optional[str],
    file_key: str,
    destination_bucket: Optional[str],
    new_file_key: Optional[str],
    occurred_at_ms: int,
) -> str:
    """The deterministic idempotency key of a move (ARCHITECTURE.md, "The contract").

    The first 32 lowercase hex digits of SHA-256 over the compact JSON array
    ``[1, action_type, source_bucket, file_key, destination_bucket, new_file_key, occurred_at_ms]``
    (``null`` for a missing value, non-ASCII not escaped).
    """
    canonical = json.dumps(
        [SCHEMA_VERSION, action_type, source_bucket, file_key, destination_bucket, new_file_key, occurred_at_ms],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:EVENT_ID_HEX_LEN]


def _check_type(field: str, kind: str, value: Any) -> Optional[int]:
    """The parse step of one field: its JSON type (and, for a time, its format).

    Returns the epoch milliseconds for ``occurred_at``, ``None`` otherwise.
    """
    if kind.startswith("optional "):
        if value is None:
            return None
        kind = kind[len("optional ") :]
    if kind == "string":
        if not isinstance(value, str):
            raise InvalidEvent(field, f"invalid type: {_describe(value)}, expected a string")
        _utf8_len(field, value)
    elif kind in ("u32", "u64"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidEvent(field, f"invalid type: {_describe(value)}, expected {kind}")
        if not 0 <= value <= (U32_MAX if kind == "u32" else U64_MAX):
            raise InvalidEvent(field, f"invalid value: {_describe(value)}, expected {kind}")
    elif kind == "action":
        if not isinstance(value, str):
            raise InvalidEvent(field, f"invalid type: {_describe(value)}, expected a string")
        if value not in ACTION_TYPES:
            raise InvalidEvent(
                field, f"unknown variant `{value}`, expected `PUT` or `DELETE`"
            )
    elif kind == "time":
        if not isinstance(value, str):
            raise InvalidEvent(field, f"invalid type: {_describe(value)}, expected a string")
        ms = parse_occurred_at(value)
        if ms is None:
            raise InvalidEvent(field, f"must be {OCCURRED_AT_FORMAT}; got {json.dumps(value, ensure_ascii=False)}")
        return ms
    return None


def _check_text(field: str, value: str, limit: int) -> None:
    if value == "":
        raise InvalidEvent(field, "must not be empty (omit it or use null instead)")
    n = _utf8_len(field, value)
    if n > limit:
        raise InvalidEvent(field, f"is {n} bytes of UTF-8; the limit is {limit} bytes")


def _check_key(field: str, key: str) -> None:
    _check_text(field, key, MAX_KEY_BYTES)


def _is_bucket_name(b: str) -> bool:
    if not all(c in "abcdefghijklmnopqrstuvwxyz0123456789.-" for c in b):
        return False
    return MIN_BUCKET_LEN <= len(b) <= MAX_BUCKET_LEN and b[0].isalnum() and b[-1].isalnum()


def _check_bucket(field: str, b: str) -> None:
    if not _is_bucket_name(b):
        raise InvalidEvent(
            field,
            f"{json.dumps(b, ensure_ascii=False)} is not an S3 bucket name ({MIN_BUCKET_LEN}..={MAX_BUCKET_LEN} "
            "characters of a-z, 0-9, '.', '-', starting and ending with a letter or digit)",
        )


def validate(detail: Any, *, now: Optional[datetime] = None) -> None:
    """Check every rule of the v1 contract; raise :class:`InvalidEvent` naming the first broken one.

    ``detail`` is the event as a dict (the ``Detail`` of the EventBridge entry, parsed). ``now``
    is the clock reading the future-time rule uses (default: the current time).
    """
    if not isinstance(detail, Mapping):
        raise InvalidEvent("detail", f"invalid type: {_describe(detail)}, expected struct FileMoved")
    now_ms = _millis_of("now", now)

    # 1. What parsing into the Rust type checks, key by key in the order the keys come.
    occurred_ms = 0
    for key, value in detail.items():
        kind = _FIELDS.get(key) if isinstance(key, str) else None
        if kind is None:
            # The Rust parser names the unknown key itself.
            expected = ", ".join(f"`{f}`" for f in _FIELDS)
            raise InvalidEvent(str(key), f"unknown field `{key}`, expected one of {expected}")
        ms = _check_type(key, kind, value)
        if ms is not None:
            occurred_ms = ms
    for field in _REQUIRED:
        if field not in detail:
            raise InvalidEvent(field, f"missing field `{field}`")

    # 2. The rules a type cannot hold, in the Rust contract's order.
    version = detail["schema_version"]
    if version != SCHEMA_VERSION:
        raise InvalidEvent("schema_version", f"must be {SCHEMA_VERSION}; got {version}")
    _check_key("file_key", detail["file_key"])
    new_file_key = detail.get("new_file_key")
    if new_file_key is not None:
        _check_key("new_file_key", new_file_key)
    source_bucket = detail.get("source_bucket")
    destination_bucket = detail.get("destination_bucket")
    if source_bucket is None and destination_bucket is None:
        raise InvalidEvent("source_bucket", "at least one of source_bucket and destination_bucket must be set")
    if source_bucket is not None:
        _check_bucket("source_bucket", source_bucket)
    if destination_bucket is not None:
        _check_bucket("destination_bucket", destination_bucket)
    if occurred_ms < 0:
        raise InvalidEvent(
            "occurred_at",
            f"{detail['occurred_at']} is before 1970-01-01T00:00:00Z, (times are epoch milliseconds, never negative)",
        )
    if occurred_ms > now_ms + MAX_FUTURE_MS:
        raise InvalidEvent(
            "occurred_at",
            f"{format_occurred_at(occurred_ms)} is more than 15 minutes after now ({format_occurred_at(now_ms)}); "
            f"a move is at most {MAX_FUTURE_MS} ms into the future",
        )
    for field in _OPTIONAL_TEXT:
        value = detail.get(field)
        if value is not None:
            _check_text(field, value, MAX_OPTIONAL_TEXT_BYTES)
    expected_id = event_id(
        detail["action_type"], source_bucket, detail["file_key"], destination_bucket, new_file_key, occurred_ms
    )
    if detail["event_id"] != expected_id:
        raise InvalidEvent(
            "event_id",
            f"{json.dumps(detail['event_id'], ensure_ascii=False)} is not the id derived from this move's fields "
            f'(expected "{expected_id}"; see the contract\'s event_id derivation)',
        )


def canonical(detail: Mapping[str, Any]) -> Dict[str, Any]:
    """A valid detail as the Rust contract serializes it: fields in order, time normalized,
    absent optional fields left out (``new_file_key`` and the buckets stay, as ``null``)."""
    out: Dict[str, Any] = {}
    for field in _FIELDS:
        value = detail.get(field)
        if field == "occurred_at":
            value = format_occurred_at(_millis_of(field, value))
        if value is None and field in _OPTIONAL_TEXT + _OPTIONAL_INTEGER:
            continue
        out[field] = value
    return out


def file_moved(
    action_type: str,
    file_key: str,
    *,
    new_file_key: Optional[str] = None,
    source_bucket: Optional[str] = None,
    destination_bucket: Optional[str] = None,
    occurred_at: Union[datetime, str, None] = None,
    stage: Optional[str] = None,
    size: Optional[int] = None,
    etag: Optional[str] = None,
    version_id: Optional[str] = None,
    trace_id: Optional[str] = None,
) -> Dict[str, Any]:
    """A valid FileMoved v1 detail for this move, with its derived ``event_id``.

    ``occurred_at`` (a timezone-aware datetime or an RFC 3339 string) defaults to now and is
    kept to the millisecond. Raises :class:`InvalidEvent` naming the field that breaks the contract.
    """
    ms = _millis_of("occurred_at", occurred_at)
    for field, value in (
        ("action_type", action_type),
        ("file_key", file_key),
        ("new_file_key", new_file_key),
        ("source_bucket", source_bucket),
        ("destination_bucket", destination_bucket),
    ):
        _check_type(field, _FIELDS[field], value)
    detail: Dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "event_id": event_id(action_type, source_bucket, file_key, destination_bucket, new_file_key, ms),
        "file_key": file_key,
        "new_file_key": new_file_key,
        "source_bucket": source_bucket,
        "destination_bucket": destination_bucket,
        "action_type": action_type,
        "occurred_at": format_occurred_at(ms),
    }
    optional: List[Any] = [("stage", stage), ("size", size), ("etag", etag), ("version_id", version_id), ("trace_id", trace_id)]
    for field, value in optional:
        if value is not None:
            detail[field] = value
    validate(detail)
    return detail
