"""A Terraform provider schema recovered from a prebuilt CDK for Terraform binding package.

`@cdktf/provider-aws` (npm) is generated from `terraform providers schema -json` of
hashicorp/aws; the generator keeps, per resource and data source, every argument's name, type,
and whether it is required, every computed-only attribute with its type, and every nested block
with its nesting (list, set, single), whether it is required and whether it holds at most one
element. This module reads that back from the package's compiled JavaScript (`lib/*/index.js`,
the `synthesizeHclAttributes` tables and the `// name - computed: ...` comments) and its type
declarations (`lib/*/index.d.ts`: optional markers, arrays, "... block" doc comments), and
writes it in the format of `terraform providers schema -json`.

What the binding does not keep, and so this schema cannot have:
- whether an optional argument is also computed: every optional argument is declared
  optional + computed, so the stand-in may leave it null or fill it;
- sensitivity, deprecation, descriptions, defaults, validators, ConflictsWith/ExactlyOneOf,
  ForceNew, and the schema version of each resource (all 0 here);
- exact max_items beyond "at most one" and min_items beyond "at least one";
- the inside of recursive blocks the binding types as `any` (aws_wafv2_*'s `statement`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

_CLASS = re.compile(r"^class (\w+) extends ([\w.]+) \{$")
_FUNC_HCL = re.compile(r"^function (\w+)ToHclTerraform\(struct\) \{$")
_ENTRY_NAME = re.compile(r"^\s+(\w+): \{$")
_IS_BLOCK = re.compile(r"^\s+isBlock: (true|false),$")
_HCL_TYPE = re.compile(r'^\s+type: "(\w+)",$')
_STORAGE = re.compile(r'^\s+storageClassType: "(\w+)",$')
_COMMENT = re.compile(r"^\s+// (\w+) - computed: (true|false), optional: (true|false), required: (true|false)$")
_TF_TYPE = re.compile(r"terraformResourceType: '([\w-]+)'")
_IFACE = re.compile(r"^export interface (\w+)(?: extends [\w.]+)? \{$")
_PROP = re.compile(r"^\s+readonly (\w+)(\??): (.*)$")
_GETTER_RET = re.compile(r"return (.*);$")
_NEW_FIELD = re.compile(r'this\._(\w+) = new (?:index_structs_1\.)?([\w.]+)\(this, "(\w+)"(?:, (true|false))?\);')

_PRIMITIVE = {"string": "string", "number": "number", "boolean": "bool", "any": "dynamic"}


def _cty_for_storage(hcl_type: str, storage: str) -> object:
    """The cty type (JSON form) of a non-block argument from the binding's storage class."""
    if storage in _PRIMITIVE:
        return _PRIMITIVE[storage]
    m = re.fullmatch(r"(string|number|boolean)((?:List|Map)+)", storage)
    if not m:
        raise ValueError(f"unknown storage class {storage!r}")
    inner: object = _PRIMITIVE[m.group(1)]
    kinds = re.findall(r"List|Map", m.group(2))
    # The innermost kind is written first after the primitive: stringListList = list(list(string)).
    for i, kind in enumerate(kinds):
        outer = i == len(kinds) - 1
        if kind == "Map":
            inner = ["map", inner]
        else:
            inner = [("set" if outer and hcl_type == "set" else "list"), inner]
    return inner


@dataclass
class _Entry:
    name: str
    camel: str
    is_block: bool
    hcl_type: str
    storage: str
    struct_fn: str | None


@dataclass
class _Prop:
    optional: bool
    type_text: str
    doc: str


@dataclass
class _Computed:
    """A computed-only attribute: a getter of a primitive, or a field of a complex type."""

    name: str
    kind: str  # "getter" or "field"
    detail: str  # getter return expression, or the field's class name
    wraps_set: bool = False


@dataclass
class _Source:
    """One binding directory's parsed JavaScript and declarations."""

    classes: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    hcl_funcs: dict[str, list[_Entry]] = field(default_factory=dict)
    interfaces: dict[str, dict[str, _Prop]] = field(default_factory=dict)


def _entries(lines: list[str], start: int) -> tuple[list[_Entry], int]:
    """The `name: {value, isBlock, type, storageClassType}` entries after `const attrs = {`."""
    out = []
    i = start
    while i < len(lines):
        line = lines[i]
        if line.strip() in ("};", "}"):
            break
        m = _ENTRY_NAME.match(line)
        if m and i + 4 < len(lines) and _IS_BLOCK.match(lines[i + 2]):
            value = lines[i + 1].strip()
            camel = re.search(r"(?:this\._|struct!?\.)(\w+)", value)
            fn = re.search(r"(?:index_structs_1\.)?(\w+)ToHclTerraform", value.replace("cdktf.", "cdktf_"))
            struct_fn = None
            if fn and not fn.group(1).startswith("cdktf_"):
                struct_fn = fn.group(1)
            out.append(
                _Entry(
                    name=m.group(1),
                    camel=camel.group(1) if camel else m.group(1),
                    is_block=_IS_BLOCK.match(lines[i + 2]).group(1) == "true",
                    hcl_type=_HCL_TYPE.match(lines[i + 3]).group(1),
                    storage=_STORAGE.match(lines[i + 4]).group(1),
                    struct_fn=struct_fn,
                )
            )
            i += 6
            continue
        i += 1
    return out, i


def _parse_js(text: str, src: _Source) -> None:
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _CLASS.match(line)
        if m:
            j = i + 1
            while j < len(lines) and lines[j] != "}":
                j += 1
            src.classes[m.group(1)] = (m.group(2), lines[i + 1 : j])
            i = j + 1
            continue
        m = _FUNC_HCL.match(line)
        if m:
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("const attrs = {"):
                if lines[j] == "}":
                    break
                j += 1
            entries: list[_Entry] = []
            if j < len(lines) and lines[j].strip() == "const attrs = {":
                entries, j = _entries(lines, j + 1)
            src.hcl_funcs[m.group(1)] = entries
            while j < len(lines) and lines[j] != "}":
                j += 1
            i = j + 1
            continue
        i += 1


def _parse_dts(text: str, src: _Source) -> None:
    lines = text.split("\n")
    current: dict[str, _Prop] | None = None
    doc: list[str] = []
    for line in lines:
        m = _IFACE.match(line)
        if m:
            current = src.interfaces.setdefault(m.group(1), {})
            doc = []
            continue
        if current is None:
            continue
        if line == "}":
            current = None
            continue
        stripped = line.strip()
        if stripped.startswith("/**"):
            doc = []
            continue
        if stripped.startswith("*"):
            doc.append(stripped.lstrip("*/ ").strip())
            continue
        m = _PROP.match(line)
        if m and line.startswith("    readonly"):
            current[m.group(1)] = _Prop(optional=m.group(2) == "?", type_text=m.group(3), doc=" ".join(doc))
            doc = []


def _class_members(body: list[str]) -> tuple[list[_Computed], dict[str, tuple[str, bool]], list[_Entry]]:
    """A class's computed-only members, its complex fields (name -> class, wrapsSet) and, for a
    resource class, its synthesizeHclAttributes entries."""
    computed: list[_Computed] = []
    fields: dict[str, tuple[str, bool]] = {}
    entries: list[_Entry] = []
    for k, line in enumerate(body):
        f = _NEW_FIELD.search(line)
        if f:
            fields[f.group(3)] = (f.group(2), f.group(4) == "true")
        c = _COMMENT.match(line)
        if c and c.group(2) == "true" and c.group(3) == "false" and c.group(4) == "false":
            nxt = body[k + 1].strip()
            if nxt.startswith("get "):
                ret = _GETTER_RET.search(body[k + 2].strip())
                computed.append(_Computed(c.group(1), "getter", ret.group(1) if ret else ""))
            else:
                f2 = _NEW_FIELD.search(nxt)
                if f2:
                    computed.append(_Computed(c.group(1), "field", f2.group(2), f2.group(4) == "true"))
        if line.strip() == "synthesizeHclAttributes() {":
            j = k + 1
            while j < len(body) and body[j].strip() != "const attrs = {":
                j += 1
            entries, _ = _entries(body, j + 1)
    return computed, fields, entries


def _getter_type(expr: str) -> object:
    as_set = "Fn.tolist(" in expr
    if "getStringAttribute" in expr:
        return "string"
    if "getNumberAttribute" in expr:
        return "number"
    if "getBooleanAttribute" in expr:
        return "bool"
    if "getNumberListAttribute" in expr:
        return ["set" if as_set else "list", "number"]
    if "getListAttribute" in expr:
        return ["set" if as_set else "list", "string"]
    if "interpolationForAttribute" in expr:
        return "dynamic"
    if "getStringMapAttribute" in expr:
        return ["map", "string"]
    if "getNumberMapAttribute" in expr:
        return ["map", "number"]
    if "getBooleanMapAttribute" in expr:
        return ["map", "bool"]
    if "getAnyMapAttribute" in expr:
        return ["map", "dynamic"]
    raise ValueError(f"unknown getter {expr!r}")


class _Builder:
    def __init__(self, src: _Source):
        self.src = src

    def _struct_name(self, fn: str) -> str:
        return fn[0].upper() + fn[1:]

    def _computed_type_of_class(self, cls: str, wraps_set: bool) -> object:
        simple = {
            "cdktf.StringMap": ["map", "string"],
            "cdktf.NumberMap": ["map", "number"],
            "cdktf.BooleanMap": ["map", "bool"],
            "cdktf.AnyMap": ["map", "dynamic"],
            "cdktf.StringMapList": ["list", ["map", "string"]],
            "cdktf.NumberMapList": ["list", ["map", "number"]],
            "cdktf.BooleanMapList": ["list", ["map", "bool"]],
            "cdktf.AnyMapList": ["list", ["map", "dynamic"]],
        }
        if cls in simple:
            return simple[cls]
        for suffix, kind in (("OutputReference", None), ("List", "list"), ("Map", "map")):
            if cls.endswith(suffix):
                struct = cls[: -len(suffix)]
                obj = ["object", self._computed_object(struct)]
                if kind is None:
                    return obj
                if kind == "list":
                    return ["set" if wraps_set else "list", obj]
                return ["map", obj]
        raise ValueError(f"unknown computed class {cls!r}")

    def _computed_object(self, struct: str) -> dict[str, object]:
        """The attribute types of a computed-only struct: every member of its OutputReference."""
        ref = self.src.classes.get(struct + "OutputReference")
        if ref is None:
            return {}
        computed, _, _ = _class_members(ref[1])
        return {c.name: self._computed_type(c) for c in computed}

    def _computed_type(self, c: _Computed) -> object:
        if c.kind == "getter":
            return _getter_type(c.detail)
        return self._computed_type_of_class(c.detail, c.wraps_set)

    def block(self, entries: list[_Entry], props: dict[str, _Prop], cls: str | None) -> dict:
        """A schema block from the HCL entries, the declared properties and the class holding
        the computed-only members (the resource class, or the struct's OutputReference)."""
        attributes: dict[str, dict] = {}
        block_types: dict[str, dict] = {}
        for e in entries:
            prop = props.get(e.camel)
            optional = prop.optional if prop is not None else True
            if e.is_block:
                struct = self._struct_name(e.struct_fn) if e.struct_fn else None
                inner_entries = self.src.hcl_funcs.get(e.struct_fn, []) if e.struct_fn else []
                inner_props = self.src.interfaces.get(struct, {}) if struct else {}
                inner = self.block(inner_entries, inner_props, struct + "OutputReference" if struct else None)
                is_array = prop is not None and "[]" in prop.type_text
                is_block = prop is None or f"{e.name} block" in prop.doc
                if e.hcl_type == "struct":
                    mode = "single"
                elif e.hcl_type == "map":
                    mode = "map"
                else:
                    mode = e.hcl_type  # list or set
                if is_block:
                    bt: dict = {"nesting_mode": mode, "block": inner}
                    if mode in ("list", "set"):
                        if not optional:
                            bt["min_items"] = 1
                        if not is_array:
                            bt["max_items"] = 1
                    block_types[e.name] = bt
                else:
                    nested = {"attributes": inner.get("attributes", {}), "nesting_mode": mode}
                    if mode in ("list", "set") and not is_array:
                        nested["max_items"] = 1
                    attr = {"nested_type": nested}
                    attr.update({"required": True} if not optional else {"optional": True, "computed": True})
                    attributes[e.name] = attr
                continue
            if e.storage == "any" and prop is not None and f"{e.name} block" in prop.doc:
                # A recursive block the binding types as `any` (aws_wafv2_*'s `statement`): an
                # empty block here, so any content in it is refused.
                block_types[e.name] = {"nesting_mode": "list", "block": {}}
                continue
            attr = {"type": _cty_for_storage(e.hcl_type, e.storage)}
            attr.update({"required": True} if not optional else {"optional": True, "computed": True})
            attributes[e.name] = attr
        if cls and cls in self.src.classes:
            computed, _, _ = _class_members(self.src.classes[cls][1])
            for c in computed:
                if c.name not in attributes and c.name not in block_types:
                    attributes[c.name] = {"type": self._computed_type(c), "computed": True}
        out: dict = {}
        if attributes:
            out["attributes"] = attributes
        if block_types:
            out["block_types"] = block_types
        return out


def _load_dir(d: Path) -> _Source:
    src = _Source()
    for js in sorted(d.rglob("*.js")):
        _parse_js(js.read_text(), src)
    for dts in sorted(d.rglob("*.d.ts")):
        _parse_dts(dts.read_text(), src)
    return src


def build(package: Path) -> dict:
    """The provider schema (the `provider_schemas` entry of `terraform providers schema -json`)
    of the unpacked binding package at `package` (its `package/` directory)."""
    provider: dict | None = None
    resources: dict[str, dict] = {}
    data_sources: dict[str, dict] = {}
    for d in sorted(p for p in (package / "lib").iterdir() if p.is_dir()):
        src = _load_dir(d)
        for name, (base, body) in src.classes.items():
            if base not in ("cdktf.TerraformResource", "cdktf.TerraformDataSource", "cdktf.TerraformProvider"):
                continue
            m = next((_TF_TYPE.search(line) for line in body if _TF_TYPE.search(line)), None)
            if not m:
                continue
            _, _, entries = _class_members(body)
            block = _Builder(src).block(entries, src.interfaces.get(name + "Config", {}), name)
            schema = {"version": 0, "block": block}
            if base == "cdktf.TerraformProvider":
                provider = schema
            elif base == "cdktf.TerraformResource":
                resources[m.group(1)] = schema
            else:
                data_sources[m.group(1)] = schema
    if provider is None:
        raise ValueError(f"{package}: no provider class found")
    return {"provider": provider, "resource_schemas": resources, "data_source_schemas": data_sources}


def provider_version(package: Path) -> str:
    """The provider version the binding was generated from (its README's first heading)."""
    text = (package / "README.md").read_text()
    m = re.search(r"provider version (\d+\.\d+\.\d+)", text)
    if not m:
        raise ValueError(f"{package}/README.md names no provider version")
    return m.group(1)


def write(package: Path, source: str, out: Path) -> None:
    """Writes `{"format_version", "provider_schemas": {source: ...}}` plus the version."""
    doc = {
        "format_version": "1.0",
        "provider_version": provider_version(package),
        "provider_schemas": {source: build(package)},
    }
    out.write_text(json.dumps(doc, sort_keys=True))
