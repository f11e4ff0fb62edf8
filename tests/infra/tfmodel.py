"""A static model of the Terraform under infra/, parsed with python-hcl2.

No provider and no `terraform` binary is involved: every `.tf` file is parsed as HCL and the
blocks are indexed per directory (one Terraform module per directory). Values are normalised:

- a quoted HCL string becomes a Python `str` (templates keep their `${...}` parts);
- any other expression becomes an `Expr` holding its source text (`var.x`, `6 * var.t`, ...);
- numbers and booleans stay numbers and booleans;
- a nested block becomes a list of dicts (a block may repeat), an object attribute a dict.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import hcl2

_META_KEYS = {"__is_block__", "__comments__", "__inline_comments__", "__start_line__", "__end_line__"}

# A reference to a managed resource, a data source, a variable, a local or a module output.
_REF = re.compile(
    r"\b(?:data\.[a-z0-9_]+\.[A-Za-z0-9_-]+|var\.[A-Za-z0-9_]+|local\.[A-Za-z0-9_]+|"
    r"module\.[A-Za-z0-9_-]+\.[A-Za-z0-9_]+|aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)"
)


@dataclass(frozen=True)
class Expr:
    """An HCL expression that is not a plain literal, kept as its source text."""

    text: str

    def __str__(self) -> str:
        return self.text


def _unquote(s: str) -> str:
    try:
        value = json.loads(s)
        if isinstance(value, str):
            return value
    except json.JSONDecodeError:
        pass
    return s[1:-1]


def normalise(value: Any) -> Any:
    """Turn python-hcl2's serialisation into plain values, `Expr`s and lists of blocks."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            return _unquote(value)
        if value.startswith("${") and value.endswith("}"):
            return Expr(" ".join(value[2:-1].split()))
        return value
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {
            (_unquote(k) if k.startswith('"') else k): normalise(v)
            for k, v in value.items()
            if k not in _META_KEYS
        }
    return value


def text_of(value: Any) -> str:
    """The source-ish text of a value, for pattern checks over expressions and templates."""
    if isinstance(value, Expr):
        return value.text
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def refs(value: Any) -> list[str]:
    """Every reference (`aws_x.y`, `data.t.n`, `var.v`, `local.l`, `module.m.o`) in a value."""
    found: list[str] = []
    if isinstance(value, (Expr, str)):
        found.extend(_REF.findall(text_of(value)))
    elif isinstance(value, list):
        for v in value:
            found.extend(refs(v))
    elif isinstance(value, dict):
        for v in value.values():
            found.extend(refs(v))
    return found


def single_ref(value: Any) -> tuple[str, str, str] | None:
    """`aws_sqs_queue.events.arn` -> ("aws_sqs_queue", "events", "arn"); None if not one bare reference."""
    if not isinstance(value, Expr):
        return None
    m = re.fullmatch(r"(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\[[^\]]+\])?\.([A-Za-z0-9_]+)", value.text)
    if not m:
        return None
    kind = ("data." if m.group(1) else "") + m.group(2)
    return kind, m.group(3), m.group(4)


def blocks(body: dict, name: str) -> list[dict]:
    """The nested blocks `name` of a body (always a list, empty when absent)."""
    v = body.get(name)
    if v is None:
        return []
    if isinstance(v, dict):
        return [v]
    return [b for b in v if isinstance(b, dict)]


def first(body: dict, name: str) -> dict:
    """The first nested block `name`, or an empty dict."""
    bs = blocks(body, name)
    return bs[0] if bs else {}


def as_list(v: Any) -> list:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


@functools.lru_cache(maxsize=256)
def _parse(text: str) -> dict:
    """Parse and normalise one file. Cached by content: a mutated copy of infra/ re-parses only
    the file that changed. Callers must not modify the result."""
    return normalise(hcl2.loads(text))


@dataclass
class Module:
    """One directory of `.tf` files."""

    path: Path
    rel: str
    resources: dict[tuple[str, str], dict] = field(default_factory=dict)
    data: dict[tuple[str, str], dict] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    calls: dict[str, dict] = field(default_factory=dict)
    terraform: list[dict] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)

    def of_type(self, rtype: str) -> dict[str, dict]:
        return {name: body for (t, name), body in self.resources.items() if t == rtype}

    def resource(self, rtype: str, name: str) -> dict | None:
        return self.resources.get((rtype, name))

    def resolve(self, value: Any, depth: int = 0) -> Any:
        """Follow `local.x` (and `data.aws_iam_policy_document.d.json`) to the value behind it."""
        if depth > 10 or not isinstance(value, Expr):
            return value
        m = re.fullmatch(r"local\.([A-Za-z0-9_]+)", value.text)
        if m and m.group(1) in self.locals:
            return self.resolve(self.locals[m.group(1)], depth + 1)
        return value

    def policy_document(self, value: Any) -> tuple[str, dict] | None:
        """The `aws_iam_policy_document` data source a `policy = data....json` points at."""
        r = single_ref(value)
        if r and r[0] == "data.aws_iam_policy_document" and r[2] == "json":
            body = self.data.get(("aws_iam_policy_document", r[1]))
            if body is not None:
                return r[1], body
        return None

    def var_default(self, name: str) -> Any:
        return self.variables.get(name, {}).get("default")

    def var_validations(self, name: str) -> list[str]:
        return [text_of(v.get("condition")) for v in blocks(self.variables.get(name, {}), "validation")]


@dataclass
class Infra:
    root: Path
    modules: dict[str, Module]
    parse_errors: list[str]

    @classmethod
    def load(cls, root: Path) -> "Infra":
        modules: dict[str, Module] = {}
        errors: list[str] = []
        for tf in sorted(root.rglob("*.tf")):
            if ".terraform" in tf.parts:
                continue
            rel = tf.parent.relative_to(root).as_posix()
            mod = modules.setdefault(rel, Module(path=tf.parent, rel=rel))
            text = tf.read_text()
            mod.texts[tf.name] = text
            try:
                doc = _parse(text)
            except Exception as e:  # noqa: BLE001 - any parser failure is a finding
                errors.append(f"{tf.relative_to(root)}: does not parse as HCL: {type(e).__name__}: {e}")
                continue
            for entry in doc.get("resource", []):
                for rtype, named in entry.items():
                    for name, body in named.items():
                        mod.resources[(rtype, name)] = body
            for entry in doc.get("data", []):
                for dtype, named in entry.items():
                    for name, body in named.items():
                        mod.data[(dtype, name)] = body
            for entry in doc.get("variable", []):
                mod.variables.update(entry)
            for entry in doc.get("output", []):
                mod.outputs.update(entry)
            for entry in doc.get("locals", []):
                mod.locals.update(entry)
            for entry in doc.get("module", []):
                mod.calls.update(entry)
            mod.terraform.extend(doc.get("terraform", []))
        return cls(root=root, modules=modules, parse_errors=errors)

    def all_resources(self, rtype: str) -> Iterator[tuple[Module, str, dict]]:
        for mod in self.modules.values():
            for name, body in mod.of_type(rtype).items():
                yield mod, name, body

    def policy_documents(self) -> Iterator[tuple[Module, str, dict]]:
        for mod in self.modules.values():
            for (dtype, name), body in mod.data.items():
                if dtype == "aws_iam_policy_document":
                    yield mod, name, body

    def module_called_by(self, caller: Module, call: dict) -> Module | None:
        source = call.get("source")
        if not isinstance(source, str):
            return None
        target = (caller.path / source).resolve()
        for mod in self.modules.values():
            if mod.path.resolve() == target:
                return mod
        return None
