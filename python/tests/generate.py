"""A seeded generator of FileMoved details: valid ones and every kind of invalid one.

Each generated case carries its kind and the verdict its construction intends (``True`` valid,
``False`` invalid), so the conformance test can check the generator as well as the two
validators. The same seed always gives the same cases.
"""

import json
import random
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from filetrail import event_id, format_occurred_at

#: The clock reading both validators are given.
NOW_MS = 1_714_564_800_000  # 2024-05-01T12:00:00.000Z
NOW_TEXT = format_occurred_at(NOW_MS)
WINDOW_MS = 15 * 60 * 1000

FIELDS = [
    "schema_version",
    "event_id",
    "file_key",
    "new_file_key",
    "source_bucket",
    "destination_bucket",
    "action_type",
    "occurred_at",
    "stage",
    "size",
    "etag",
    "version_id",
    "trace_id",
]
#: The optional fields, by kind (text of at most 256 bytes; a u64). With FIELDS, tied to the
#: JSON Schema by test_conformance.py: a field the schema gains is generated once it is listed.
OPTIONAL_TEXT = ["stage", "etag", "version_id", "trace_id"]
OPTIONAL_INTEGER = ["size"]

# Characters of 1, 2, 3 and 4 UTF-8 bytes, and ones that need escaping in JSON.
ONE = "abcXYZ019_-./ "
TWO = "éßñΩЖ"
THREE = "€☀中あ\u2028"
FOUR = "😀𝄞🚀"
ESCAPED = '"\\\n\t\r\x00\x01\x1f\x7f/'


@dataclass
class Case:
    """One generated detail (any JSON value), its kind and the verdict it is built for."""

    kind: str
    detail: Any
    valid: Optional[bool]


def _text(rng: random.Random, n: int, alphabet: str) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def key(rng: random.Random) -> str:
    """A plausible S3 key: mostly ASCII, sometimes anything."""
    r = rng.random()
    if r < 0.5:
        return f"hermes_{rng.choice(['eea', 'nemisis', 'merit', 'spani'])}_l0_{rng.randrange(2022000, 2025000)}-{rng.randrange(10**6):06d}_v{rng.randrange(1, 9):02d}.bin"
    if r < 0.8:
        return _text(rng, rng.randint(1, 80), ONE + TWO + THREE + FOUR)
    return _text(rng, rng.randint(1, 40), ONE + TWO + THREE + FOUR + ESCAPED)


def key_of_bytes(rng: random.Random, n: int) -> str:
    """A key of exactly ``n`` UTF-8 bytes whose last character is ``width`` bytes wide."""
    width = rng.choice([1, 2, 3, 4])
    last = {1: "k", 2: rng.choice(TWO), 3: rng.choice(THREE), 4: rng.choice(FOUR)}[width]
    return "a" * (n - width) + last


def bucket(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.6:
        return rng.choice(["hermes-incoming", "hermes-eea", "dev-hermes-merit", "padre-meddea", "a.b.c", "x1y"])
    n = rng.randint(3, 63)
    inner = _text(rng, n - 2, "abcdefghijklmnopqrstuvwxyz0123456789.-")
    return rng.choice("abc019") + inner + rng.choice("xyz789")


def bad_bucket(rng: random.Random) -> str:
    return rng.choice(
        [
            "",
            "ab",
            "Hermes",
            "hermes_eea",
            "-hermes",
            "hermes-",
            ".hermes",
            "a" * 64,
            "héllo",
            "hermes eea",
            "HERMES-EEA",
            "bücket",
        ]
    )


def time_text(rng: random.Random, ms: int) -> str:
    """``ms`` in one of the accepted spellings (Z or +00:00, 0 to 3 fractional digits)."""
    full = format_occurred_at(ms)  # YYYY-MM-DDTHH:MM:SS.mmmZ
    head, frac = full[:19], full[20:23]
    digits = rng.randint(len(frac.rstrip("0")), 3)
    return head + ("." + frac[:digits] if digits else "") + rng.choice(["Z", "Z", "+00:00"])


BAD_TIMES = [
    "2024-05-01T12:00:00",
    "2024-05-01T12:00:00.123",
    "2024-05-01 12:00:00Z",
    "2024-05-01T12:00:00z",
    "2024-05-01T12:00:00.1234Z",
    "2024-05-01T12:00:00.Z",
    "2024-05-01T12:00:00+01:00",
    "2024-05-01T12:00:00-00:00",
    "2024-05-01T12:00:00+0000",
    "2024-13-01T12:00:00Z",
    "2024-00-10T12:00:00Z",
    "2023-02-29T12:00:00Z",
    "2024-04-31T12:00:00Z",
    "2024-05-01T24:00:00Z",
    "2024-05-01T12:60:00Z",
    "2024-05-01T12:00:60Z",
    " 2024-05-01T12:00:00Z",
    "2024-05-01T12:00:00Z ",
    "24-05-01T12:00:00Z",
    "2024-5-1T12:00:00Z",
    "2024-05-01T12:00:00Ζ",
    "２０２４-05-01T12:00:00Z",
    "2024-05-01T12:00:00.٣Z",
    "",
    "now",
    "1714564800000",
]

# Times that parse but are before 1970 (a rule checked after parsing).
EARLY_TIMES = ["1969-12-31T23:59:59.999Z", "0000-01-01T00:00:00Z", "1900-02-28T00:00:00+00:00", "0004-02-29T00:00:00Z"]

WRONG_VALUES: List[Any] = [None, True, False, 0, 7, -1, 1.5, 1.0, "", "x", [], [1], {}, {"PUT": None}]


def valid_detail(rng: random.Random) -> Dict[str, Any]:
    """A valid detail with its derived id, optional fields present, absent or null."""
    action = rng.choice(["PUT", "DELETE"])
    src: Optional[str] = bucket(rng)
    dst: Optional[str] = bucket(rng)
    side = rng.random()
    if side < 0.2:
        src = None
    elif side < 0.4:
        dst = None
    k = key(rng)
    nk = key(rng) if rng.random() < 0.7 else None
    ms = rng.choice(
        [
            rng.randrange(0, NOW_MS),
            NOW_MS - rng.randrange(0, 86_400_000),
            NOW_MS + rng.randrange(0, WINDOW_MS + 1),
            rng.randrange(0, 10**6),
        ]
    )
    d: Dict[str, Any] = {
        "schema_version": 1,
        "event_id": event_id(action, src, k, dst, nk, ms),
        "file_key": k,
        "new_file_key": nk,
        "source_bucket": src,
        "destination_bucket": dst,
        "action_type": action,
        "occurred_at": time_text(rng, ms),
    }
    for f in ("new_file_key", "source_bucket", "destination_bucket"):
        if d[f] is None and rng.random() < 0.5:
            del d[f]  # absent and null mean the same
    for f in OPTIONAL_TEXT:
        r = rng.random()
        if r < 0.3:
            d[f] = _text(rng, rng.randint(1, 40), ONE + TWO + THREE)
        elif r < 0.4:
            d[f] = None
    for f in OPTIONAL_INTEGER:
        r = rng.random()
        if r < 0.3:
            d[f] = rng.choice([0, 1, 1048576, 2**63, 2**64 - 1])
        elif r < 0.35:
            d[f] = None
    return d


def rederive(d: Dict[str, Any], ms: int) -> None:
    """Give ``d`` the id its move fields derive (so only the intended rule is broken)."""
    d["event_id"] = event_id(
        d.get("action_type"), d.get("source_bucket"), d.get("file_key"), d.get("destination_bucket"), d.get("new_file_key"), ms
    )


def _ms_of(rng: random.Random, d: Dict[str, Any]) -> int:
    from filetrail import parse_occurred_at

    ms = parse_occurred_at(d["occurred_at"])
    assert ms is not None
    return ms


def shuffled(rng: random.Random, d: Dict[str, Any]) -> Dict[str, Any]:
    items = list(d.items())
    rng.shuffle(items)
    return dict(items)


def k_unicode(rng: random.Random) -> Case:
    d = valid_detail(rng)
    d["file_key"] = _text(rng, rng.randint(1, 300), TWO + THREE + FOUR + ESCAPED + ONE)
    if rng.random() < 0.5:
        d["new_file_key"] = _text(rng, rng.randint(1, 300), FOUR + THREE)
    rederive(d, _ms_of(rng, d))
    return Case("unicode", d, True)


def k_key_1024(rng: random.Random) -> Case:
    d = valid_detail(rng)
    d[rng.choice(["file_key", "new_file_key"])] = key_of_bytes(rng, 1024)
    rederive(d, _ms_of(rng, d))
    return Case("key-1024-bytes", d, True)


def k_key_1025(rng: random.Random) -> Case:
    d = valid_detail(rng)
    d[rng.choice(["file_key", "new_file_key"])] = key_of_bytes(rng, 1025 + rng.choice([0, 0, 1, 2, 977]))
    rederive(d, _ms_of(rng, d))
    return Case("key-over-1024-bytes", d, False)


def k_key_chars_fit_bytes_do_not(rng: random.Random) -> Case:
    # 342 three-byte characters: within a 1024-character limit, 1026 bytes.
    d = valid_detail(rng)
    d["file_key"] = rng.choice(THREE) * 342
    rederive(d, _ms_of(rng, d))
    return Case("key-multibyte-over", d, False)


def k_empty_key(rng: random.Random) -> Case:
    d = valid_detail(rng)
    d[rng.choice(["file_key", "new_file_key"])] = ""
    rederive(d, _ms_of(rng, d))
    return Case("key-empty", d, False)


def k_missing_buckets(rng: random.Random) -> Case:
    d = valid_detail(rng)
    for f in ("source_bucket", "destination_bucket"):
        if rng.random() < 0.5:
            d.pop(f, None)
        else:
            d[f] = None
    rederive(d, _ms_of(rng, d))
    return Case("missing-buckets", d, False)


def k_bad_bucket(rng: random.Random) -> Case:
    d = valid_detail(rng)
    d[rng.choice(["source_bucket", "destination_bucket"])] = bad_bucket(rng)
    rederive(d, _ms_of(rng, d))
    return Case("bad-bucket", d, False)


def k_bad_time(rng: random.Random) -> Case:
    d = valid_detail(rng)
    d["occurred_at"] = rng.choice(BAD_TIMES)
    return Case("bad-time", d, False)


def k_early_time(rng: random.Random) -> Case:
    d = valid_detail(rng)
    d["occurred_at"] = rng.choice(EARLY_TIMES)
    rederive(d, _ms_of(rng, d))
    return Case("time-before-1970", d, False)


def k_future_time(rng: random.Random) -> Case:
    d = valid_detail(rng)
    ms = NOW_MS + WINDOW_MS + rng.choice([1, 2, 1000, 3_600_000, 10**11])
    d["occurred_at"] = time_text(rng, ms)
    rederive(d, ms)
    return Case("time-beyond-window", d, False)


def k_window_edge(rng: random.Random) -> Case:
    d = valid_detail(rng)
    ms = NOW_MS + WINDOW_MS
    d["occurred_at"] = time_text(rng, ms)
    rederive(d, ms)
    return Case("time-at-window-edge", d, True)


def k_stale_id(rng: random.Random) -> Case:
    d = valid_detail(rng)
    ms = _ms_of(rng, d)
    how = rng.randrange(6)
    if how == 0:  # the id of the same move a millisecond later
        d["event_id"] = event_id(d["action_type"], d.get("source_bucket"), d["file_key"], d.get("destination_bucket"), d.get("new_file_key"), ms + 1)
    elif how == 1:  # an id computed before a field changed
        d["file_key"] = d["file_key"] + "x"
    elif how == 2:
        d["event_id"] = "%032x" % rng.getrandbits(128)
    elif how == 3:
        d["event_id"] = d["event_id"].upper() if any(c.isalpha() for c in d["event_id"]) else "g" + d["event_id"][1:]
    elif how == 4:
        d["event_id"] = d["event_id"][:31]
    else:
        d["action_type"] = "DELETE" if d["action_type"] == "PUT" else "PUT"
    return Case("stale-or-forged-id", d, False)


def k_unknown_field(rng: random.Random) -> Case:
    d = valid_detail(rng)
    name = rng.choice(["colour", "", "Event_ID", "file_key ", "détail", "extra", "1", "FILE_KEY", "size_bytes"])
    items = list(d.items())
    items.insert(rng.randrange(len(items) + 1), (name, rng.choice(WRONG_VALUES + ["v"])))
    return Case("unknown-field", dict(items), False)


def k_wrong_type(rng: random.Random) -> Case:
    d = valid_detail(rng)
    f = rng.choice(FIELDS)
    d[f] = rng.choice(WRONG_VALUES)
    return Case("wrong-type", d, None)


def k_missing_field(rng: random.Random) -> Case:
    d = valid_detail(rng)
    for f in rng.sample(["schema_version", "event_id", "file_key", "action_type", "occurred_at"], rng.randint(1, 3)):
        del d[f]
    return Case("missing-field", d, False)


def k_schema_version(rng: random.Random) -> Case:
    d = valid_detail(rng)
    d["schema_version"] = rng.choice([0, 2, -1, 2**32, 2**64, 1.0, True, "1"])
    return Case("bad-schema-version", d, False)


def k_optional_integer(rng: random.Random) -> Case:
    d = valid_detail(rng)
    d[rng.choice(OPTIONAL_INTEGER)] = rng.choice([-1, 1.5, 2.0, 2**64, True, "10", [10]])
    return Case("bad-optional-integer", d, False)


def k_optional_text(rng: random.Random) -> Case:
    d = valid_detail(rng)
    f = rng.choice(OPTIONAL_TEXT)
    n = rng.choice([256, 257])
    d[f] = key_of_bytes(rng, n) if rng.random() < 0.8 else ""
    return Case("optional-text-limit", d, n == 256 and d[f] != "")


def k_action(rng: random.Random) -> Case:
    d = valid_detail(rng)
    d["action_type"] = rng.choice(["COPY", "put", "Put", "", " PUT", "DELETE ", {"PUT": None}, ["PUT"]])
    return Case("bad-action", d, False)


def k_not_object(rng: random.Random) -> Case:
    v = valid_detail(rng)
    return Case("not-an-object", rng.choice([[], [1, 2], list(v.values()), "FileMoved", 42, None, True]), False)


def k_many_errors(rng: random.Random) -> Case:
    """Several rules broken at once, keys in random order: which one is reported first."""
    d = valid_detail(rng)
    for _ in range(rng.randint(2, 4)):
        mutate = rng.choice(
            [
                lambda: d.__setitem__(rng.choice(FIELDS), rng.choice(WRONG_VALUES)),
                lambda: d.__setitem__("occurred_at", rng.choice(BAD_TIMES + EARLY_TIMES)),
                lambda: d.__setitem__(rng.choice(["file_key", "new_file_key"]), key_of_bytes(rng, 1025)),
                lambda: d.__setitem__(rng.choice(["source_bucket", "destination_bucket"]), bad_bucket(rng)),
                lambda: d.__setitem__(rng.choice(["extra", "colour"]), 1),
                lambda: d.pop(rng.choice(FIELDS), None),
                lambda: d.__setitem__("event_id", "0" * 32),
            ]
        )
        mutate()
    return Case("several-errors", shuffled(rng, d), None)


def k_valid(rng: random.Random) -> Case:
    d = valid_detail(rng)
    return Case("valid", shuffled(rng, d) if rng.random() < 0.3 else d, True)


KINDS: List[Callable[[random.Random], Case]] = [
    k_valid,
    k_valid,
    k_valid,
    k_unicode,
    k_key_1024,
    k_key_1025,
    k_key_chars_fit_bytes_do_not,
    k_empty_key,
    k_missing_buckets,
    k_bad_bucket,
    k_bad_time,
    k_early_time,
    k_future_time,
    k_window_edge,
    k_stale_id,
    k_unknown_field,
    k_wrong_type,
    k_missing_field,
    k_schema_version,
    k_optional_integer,
    k_optional_text,
    k_action,
    k_not_object,
    k_many_errors,
]


def cases(seed: int, n: int) -> List[Case]:
    """``n`` cases from ``seed``: every kind in turn, then at random."""
    rng = random.Random(seed)
    out = [kind(rng) for kind in KINDS]
    while len(out) < n:
        out.append(rng.choice(KINDS)(rng))
    return out


def line(rng: random.Random, value: Any) -> str:
    """One JSON line, sometimes with non-ASCII escaped (both parsers must read both forms)."""
    return json.dumps(value, ensure_ascii=rng.random() < 0.3, allow_nan=False)
