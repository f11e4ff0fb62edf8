"""Schema-directed handling of Terraform values for the stand-in provider.

Values are what the plugin protocol's msgpack carries, decoded: dicts for objects and blocks,
lists for lists, sets and tuples, str/int/float/bool, None for null, and `Unknown` (the `tf`
package's sentinel) for values not known until apply. Schemas are the blocks of
`terraform providers schema -json` (see schema.py).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

from tf.types import Unknown

# Called for an attribute the provider decides itself: (attribute name, path from the resource's
# top, the whole planned object) -> value. Returning NOT_SPECIAL falls back to the default.
NOT_SPECIAL = object()
Special = Callable[[str, tuple, dict], Any]


def has_unknown(value: Any) -> bool:
    """Whether the value is, or contains, an unknown."""
    if value is Unknown:
        return True
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return False


def _elements(mode: str, value: Any) -> list[tuple[Any, Any]]:
    """(key, element) pairs of a nested block or nested attribute value."""
    if value is None or value is Unknown:
        return []
    if mode in ("list", "set"):
        return list(enumerate(value))
    if mode == "map":
        return list(value.items())
    return [(None, value)]  # single, group


def _rebuild(mode: str, value: Any, f: Callable[[Any, Any], Any]) -> Any:
    if value is None or value is Unknown:
        return value
    if mode in ("list", "set"):
        return [f(i, v) for i, v in enumerate(value)]
    if mode == "map":
        return {k: f(k, v) for k, v in value.items()}
    return f(None, value)


def _nested_block(attr: dict) -> dict:
    return {"attributes": attr["nested_type"].get("attributes", {})}


def normalize(block: dict, value: Any) -> Any:
    """The value with exactly the block's attributes and nested blocks: missing ones become null
    (a nested block's collection becomes empty), unknown keys are dropped."""
    if value is None or value is Unknown:
        return value
    out = {}
    for name, attr in block.get("attributes", {}).items():
        v = value.get(name)
        if "nested_type" in attr:
            mode = attr["nested_type"]["nesting_mode"]
            v = _rebuild(mode, v, lambda _k, e, a=attr: normalize(_nested_block(a), e))
        out[name] = v
    for name, bt in block.get("block_types", {}).items():
        mode = bt["nesting_mode"]
        v = value.get(name)
        if v is None and mode in ("list", "set"):
            v = []
        elif v is None and mode == "map":
            v = {}
        out[name] = _rebuild(mode, v, lambda _k, e, b=bt: normalize(b["block"], e))
    return out


def plan_create(block: dict, proposed: dict, special: Special, path: tuple = ()) -> dict:
    """The planned new object for a create: arguments as configured; an optional + computed
    argument left out is null unless `special` decides it; every computed-only attribute is
    unknown unless `special` decides it."""
    out = {}
    for name, attr in block.get("attributes", {}).items():
        v = proposed.get(name)
        p = path + (name,)
        if "nested_type" in attr:
            mode = attr["nested_type"]["nesting_mode"]
            if v is None and attr.get("computed") and not attr.get("optional"):
                v = Unknown
            out[name] = _rebuild(mode, v, lambda k, e, a=attr, pp=p: plan_create(_nested_block(a), e, special, pp + (k,)))
            continue
        if v is not None:
            out[name] = v
            continue
        if attr.get("required"):
            out[name] = None
            continue
        decided = special(name, p, proposed)
        if decided is not NOT_SPECIAL:
            out[name] = decided
        elif attr.get("optional"):
            out[name] = None
        else:
            out[name] = Unknown
    for name, bt in block.get("block_types", {}).items():
        mode = bt["nesting_mode"]
        v = proposed.get(name)
        out[name] = _rebuild(mode, v, lambda k, e, b=bt, pp=path + (name,): plan_create(b["block"], e, special, pp + (k,)))
    return out


def plan_update(block: dict, proposed: dict, special: Special, path: tuple = ()) -> dict:
    """The planned new object for an update: Terraform's proposed new state (the configuration
    with prior values where the configuration leaves a computed attribute out), with the
    attributes `special` recomputes (tags_all from tags and the provider's default tags)."""
    out = dict(proposed)
    for name, attr in block.get("attributes", {}).items():
        if "nested_type" in attr or attr.get("required"):
            continue
        decided = special(name, path + (name,), proposed)
        if decided is not NOT_SPECIAL and name in ("tags_all",):
            out[name] = decided
    return out


def fill(block: dict, planned: Any, gen: Callable[[Any, str, tuple], Any], path: tuple = ()) -> Any:
    """The planned object with every unknown replaced by `gen(type, name, path)` (what the
    stand-in says AWS returned)."""
    if planned is None:
        return None
    out = {}
    for name, attr in block.get("attributes", {}).items():
        v = planned.get(name)
        p = path + (name,)
        if "nested_type" in attr:
            mode = attr["nested_type"]["nesting_mode"]
            if v is Unknown:
                v = [] if mode in ("list", "set") else ({} if mode == "map" else None)
            out[name] = _rebuild(mode, v, lambda k, e, a=attr, pp=p: fill(_nested_block(a), e, gen, pp + (k,)))
        else:
            out[name] = fill_value(attr["type"], v, name, p, gen)
    for name, bt in block.get("block_types", {}).items():
        mode = bt["nesting_mode"]
        v = planned.get(name)
        out[name] = _rebuild(mode, v, lambda k, e, b=bt, pp=path + (name,): fill(b["block"], e, gen, pp + (k,)))
    return out


def fill_value(ty: Any, v: Any, name: str, path: tuple, gen: Callable[[Any, str, tuple], Any]) -> Any:
    """A value of cty type `ty` with its unknowns (at any depth) generated."""
    if v is Unknown:
        return gen(ty, name, path)
    if v is None or not isinstance(ty, list):
        return v
    kind = ty[0]
    if kind in ("list", "set"):
        return [fill_value(ty[1], e, name, path + (i,), gen) for i, e in enumerate(v)]
    if kind == "map":
        return {k: fill_value(ty[1], e, name, path + (k,), gen) for k, e in v.items()}
    if kind == "object":
        return {k: fill_value(t, v.get(k), k, path + (k,), gen) for k, t in ty[1].items()}
    if kind == "tuple":
        return [fill_value(t, e, name, path + (i,), gen) for i, (t, e) in enumerate(zip(ty[1], v))]
    return v


def zero(ty: Any, text: str) -> Any:
    """A known value of cty type `ty`: `text` for strings, 0, false, empty collections, and
    objects of such values."""
    if ty == "string":
        return text
    if ty == "number":
        return 0
    if ty == "bool":
        return False
    if ty == "dynamic":
        return None
    kind = ty[0]
    if kind in ("list", "set", "tuple"):
        return []
    if kind == "map":
        return {}
    if kind == "object":
        return {k: zero(t, f"{text}-{k}") for k, t in ty[1].items()}
    return None


def digest(value: Any, n: int = 8) -> str:
    """A short stable hex digest of a value (unknowns count as a marker)."""
    text = json.dumps(value, sort_keys=True, default=lambda o: "<unknown>" if o is Unknown else str(o))
    return hashlib.sha256(text.encode()).hexdigest()[:n]
