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
    if isinstance(value, (Expr, Opaque)):
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


def all_blocks(body: dict, name: str) -> list[dict]:
    """The nested blocks `name` of a body, static ones and the `content` of every `dynamic
    "name"` block whatever its for_each: what the configuration could ever produce."""
    found = blocks(body, name)
    for dyn in blocks(body, "dynamic"):
        for kind, spec in dyn.items():
            if kind == name and isinstance(spec, dict):
                found.extend(blocks(spec, "content"))
    return found


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
    moved: list[tuple[str, str]] = field(default_factory=list)
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
            for entry in doc.get("moved", []):
                mod.moved.append((text_of(entry.get("from")), text_of(entry.get("to"))))
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


# ---------------------------------------------------------------------------------------------
# Scenarios: a module under given input values.
#
# A small evaluator for the expressions that decide what exists (`count`, `for_each` of dynamic
# blocks, conditionals choosing between locals): literals, `var.`/`local.` references, `==`,
# `!=`, `!`, `&&`, `||`, `? :`, list and object literals, and the functions coalesce, one,
# toset, tolist, tomap, length, concat, merge (of objects), contains. Anything else (a resource attribute, a `for`
# expression, another function) evaluates to an `Opaque` value carrying its source text: it may
# be chosen by a conditional and compared as text, but deciding a condition on it raises
# `Undecidable`, so a check never guesses.
# ---------------------------------------------------------------------------------------------


class Undecidable(Exception):
    """A condition depends on something the static model cannot know."""


@dataclass(frozen=True)
class Opaque:
    """A value known only by its source text (a resource attribute, an unknown function...)."""

    text: str


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<ident>[A-Za-z_][A-Za-z0-9_-]*)|"
    r"(?P<op>\.\.\.|==|!=|&&|\|\||>=|<=|=>|[?:!()\[\]{},=<>+\-*/%.]))"
)


def _string_end(text: str, i: int) -> int:
    """Index just past the quoted string starting at text[i] == '"' (templates may nest)."""
    j = i + 1
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == '"':
            return j + 1
        if text.startswith("${", j) or text.startswith("%{", j):
            depth = 1
            j += 2
            while j < len(text) and depth:
                if text[j] == '"':
                    j = _string_end(text, j)
                    continue
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            continue
        j += 1
    raise SyntaxError(f"unterminated string in {text!r}")


def _tokens(text: str) -> list[tuple[str, str, int, int]]:
    out = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        if text[i] == '"':
            end = _string_end(text, i)
            out.append(("str", text[i:end], i, end))
            i = end
            continue
        m = _TOKEN.match(text, i)
        if not m or m.end() == i:
            raise SyntaxError(f"cannot tokenise {text[i:]!r}")
        kind = m.lastgroup or "op"
        out.append((kind, m.group(kind), m.start(kind), m.end()))
        i = m.end()
    return out


_MISSING = object()


class _Parser:
    """Recursive descent over the tokens; evaluates as it goes (both branches of a conditional
    are parsed, only the chosen one is kept)."""

    def __init__(self, scenario: "Scenario", text: str) -> None:
        self.sc = scenario
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str, int, int] | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str, int, int]:
        t = self.peek()
        if t is None or (value is not None and t[1] != value):
            raise SyntaxError(f"expected {value!r} in {self.text!r}")
        self.i += 1
        return t

    def at(self, value: str) -> bool:
        t = self.peek()
        return t is not None and t[0] in {"op", "ident"} and t[1] == value

    def parse(self) -> Any:
        v = self.expr()
        if self.peek() is not None:
            raise SyntaxError(f"trailing input in {self.text!r}")
        return v

    def expr(self) -> Any:
        start = self.i
        cond = self.or_()
        if self.at("?"):
            self.take("?")
            a = self.expr()
            self.take(":")
            b = self.expr()
            return a if self.sc.truth(cond, self.span(start)) else b
        return cond

    def span(self, start: int) -> str:
        end = self.toks[self.i - 1][3] if self.i > start else self.toks[start][2]
        return self.text[self.toks[start][2] : end]

    def or_(self) -> Any:
        start = self.i
        v = self.and_()
        while self.at("||"):
            self.take()
            w = self.and_()
            v = self.sc.truth(v, self.span(start)) or self.sc.truth(w, self.span(start))
        return v

    def and_(self) -> Any:
        start = self.i
        v = self.cmp()
        while self.at("&&"):
            self.take()
            w = self.cmp()
            v = self.sc.truth(v, self.span(start)) and self.sc.truth(w, self.span(start))
        return v

    def cmp(self) -> Any:
        start = self.i
        v = self.unary()
        if self.at("==") or self.at("!="):
            op = self.take()[1]
            w = self.unary()
            if isinstance(v, Opaque) or isinstance(w, Opaque) or isinstance(v, Expr) or isinstance(w, Expr):
                raise Undecidable(self.span(start))
            return (v == w) if op == "==" else (v != w)
        if self.at(">") or self.at("<") or self.at(">=") or self.at("<="):
            op = self.take()[1]
            w = self.unary()
            numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (v, w))
            if not numbers:
                raise Undecidable(self.span(start))
            return {">": v > w, "<": v < w, ">=": v >= w, "<=": v <= w}[op]
        return v

    def unary(self) -> Any:
        if self.at("!"):
            start = self.i
            self.take()
            v = self.unary()
            return not self.sc.truth(v, self.span(start))
        return self.postfix()

    def postfix(self) -> Any:
        start = self.i
        v = self.primary()
        while True:
            if self.at(".") and self.peek(1) and self.peek(1)[0] in {"ident", "num"}:
                self.take()
                key = self.take()[1]
                v = v.get(key, _MISSING) if isinstance(v, dict) else Opaque(self.span(start))
                if v is _MISSING:
                    v = Opaque(self.span(start))
            elif self.at("[") and not (self.peek(1) and self.peek(1)[1] == "for"):
                self.take("[")
                if self.at("*"):
                    self.take()
                    idx: Any = Opaque("*")
                else:
                    idx = self.expr()
                self.take("]")
                if isinstance(v, list) and isinstance(idx, int) and 0 <= idx < len(v):
                    v = v[idx]
                elif isinstance(v, dict) and isinstance(idx, str) and idx in v:
                    v = v[idx]
                else:
                    v = Opaque(self.span(start))
            else:
                return v

    def bracketed(self, open_: str, close: str) -> None:
        depth = 0
        while True:
            t = self.take()
            if t[0] == "op" and t[1] == open_:
                depth += 1
            elif t[0] == "op" and t[1] == close:
                depth -= 1
                if depth == 0:
                    return

    def primary(self) -> Any:
        t = self.peek()
        if t is None:
            raise SyntaxError(f"unexpected end of {self.text!r}")
        kind, value = t[0], t[1]
        start = self.i
        if kind == "num":
            self.take()
            return float(value) if "." in value else int(value)
        if kind == "str":
            self.take()
            raw = value[1:-1]
            return raw if "${" not in raw and "%{" not in raw and "\\" not in raw else Opaque(value)
        if value == "(":
            self.take()
            v = self.expr()
            self.take(")")
            return v
        if value == "[":
            if self.peek(1) and self.peek(1)[1] == "for":
                self.bracketed("[", "]")
                return Opaque(self.span(start))
            self.take()
            items = []
            while not self.at("]"):
                items.append(self.expr())
                if self.at(","):
                    self.take()
            self.take("]")
            return items
        if value == "{":
            if self.peek(1) and self.peek(1)[1] == "for":
                self.bracketed("{", "}")
                return Opaque(self.span(start))
            self.take()
            obj: dict[str, Any] = {}
            while not self.at("}"):
                k = self.take()
                key = k[1][1:-1] if k[0] == "str" else k[1]
                if not (self.at("=") or self.at(":")):
                    raise SyntaxError(f"object key without value in {self.text!r}")
                self.take()
                obj[key] = self.expr()
                if self.at(","):
                    self.take()
            self.take("}")
            return obj
        if kind == "ident":
            self.take()
            if value in {"true", "false"}:
                return value == "true"
            if value == "null":
                return None
            if self.at("("):
                self.take("(")
                args = []
                while not self.at(")"):
                    args.append(self.expr())
                    if self.at(","):
                        self.take()
                    elif self.at("..."):
                        self.take()
                self.take(")")
                return self.sc.call(value, args, self.span(start))
            if value in {"var", "local"} and self.at(".") and self.peek(1) and self.peek(1)[0] == "ident":
                self.take(".")
                name = self.take()[1]
                return self.sc.var(name) if value == "var" else self.sc.local(name)
            # Any other reference: a resource, data source, module output, each.value, ...
            while self.at(".") and self.peek(1) and self.peek(1)[0] in {"ident", "num"}:
                self.take()
                self.take()
            return Opaque(self.span(start))
        raise SyntaxError(f"unexpected {value!r} in {self.text!r}")


class Scenario:
    """`mod` with some input variables set (the others keep their defaults)."""

    def __init__(self, mod: Module, **variables: Any) -> None:
        self.mod = mod
        self.variables = variables
        self._locals: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"{self.mod.rel} with {self.variables or 'defaults'}"

    def var(self, name: str) -> Any:
        if name in self.variables:
            return self.variables[name]
        if name not in self.mod.variables:
            raise Undecidable(f"var.{name} is not declared in {self.mod.rel}")
        if "default" not in self.mod.variables[name]:
            return Opaque(f"var.{name}")
        return self.value(self.mod.variables[name]["default"])

    def local(self, name: str) -> Any:
        if name not in self.mod.locals:
            raise Undecidable(f"local.{name} is not declared in {self.mod.rel}")
        if name not in self._locals:
            self._locals[name] = self.value(self.mod.locals[name])
        return self._locals[name]

    def value(self, v: Any) -> Any:
        """Evaluate an expression; literals, lists and objects come back as they are (their
        members are evaluated when asked for with `value` again)."""
        if isinstance(v, Expr):
            try:
                return _Parser(self, v.text).parse()
            except SyntaxError:
                return Opaque(v.text)
        return v

    def truth(self, v: Any, where: str) -> bool:
        if isinstance(v, bool):
            return v
        raise Undecidable(f"cannot decide {where!r} ({v!r}) in {self}")

    def call(self, fn: str, args: list, where: str) -> Any:
        def known(a: Any) -> bool:
            return not isinstance(a, (Opaque, Expr))

        if fn in {"toset", "tolist", "tomap"} and len(args) == 1:
            return args[0]
        if fn == "coalesce":
            for a in args:
                if not known(a):
                    return Opaque(where)
                if a is not None and a != "":
                    return a
            raise Undecidable(f"{where}: no non-null argument in {self}")
        if fn == "one" and len(args) == 1:
            a = args[0]
            if isinstance(a, list) and len(a) <= 1:
                return a[0] if a else None
            return Opaque(where)
        if fn == "length" and len(args) == 1 and isinstance(args[0], (list, dict, str)) and known(args[0]):
            return len(args[0])
        if fn == "concat" and all(isinstance(a, list) for a in args):
            return [x for a in args for x in a]
        if fn == "merge" and all(isinstance(a, dict) for a in args):
            return {k: v for a in args for k, v in a.items()}
        if fn == "contains" and len(args) == 2 and isinstance(args[0], list) and known(args[1]):
            if all(known(x) for x in args[0]):
                return args[1] in args[0]
        return Opaque(where)

    # -- what exists ---------------------------------------------------------------------------

    def instances(self, body: dict) -> int | None:
        """How many instances a resource (or data source) body has; None if undecidable."""
        try:
            if "count" in body:
                n = self.value(body["count"])
                return n if isinstance(n, int) and not isinstance(n, bool) else None
            if "for_each" in body:
                fe = self.value(body["for_each"])
                return len(fe) if isinstance(fe, (list, dict)) else None
        except Undecidable:
            return None
        return 1

    def exists(self, rtype: str, name: str) -> bool:
        body = self.mod.resource(rtype, name)
        return body is not None and self.instances(body) != 0

    def resources(self, rtype: str) -> dict[str, dict]:
        """The resources of a type that may have instances in this scenario."""
        return {n: b for n, b in self.mod.of_type(rtype).items() if self.instances(b) != 0}

    def blocks(self, body: dict, name: str) -> list[dict]:
        """Static blocks plus the content of dynamic blocks whose for_each is not empty here
        (an undecidable for_each counts as present: checks then err on the side of a finding)."""
        found = blocks(body, name)
        for dyn in blocks(body, "dynamic"):
            for kind, spec in dyn.items():
                if kind != name or not isinstance(spec, dict):
                    continue
                try:
                    fe = self.value(spec.get("for_each"))
                    present = not (isinstance(fe, (list, dict)) and len(fe) == 0)
                except Undecidable:
                    present = True
                if present:
                    found.extend(blocks(spec, "content"))
        return found
