#!/usr/bin/env python3
"""No function in crates/*/src is longer than LIMIT lines unless a comment says why.

`make lint` runs it. A function's length is the lines from its `fn` line to its closing brace.
A longer one passes only when one of the comment lines right above it (among its doc comment and
attributes) starts with `// Long:` and says why.

    python3 scripts/fn_length.py            # check, exit 1 on a finding
    python3 scripts/fn_length.py --report   # the 15 longest functions
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

LIMIT = 80
ROOT = Path(__file__).resolve().parent.parent
FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def strip(line: str) -> str:
    """The line without string/char literals and `//` comments, for brace counting."""
    out, i, n = [], 0, len(line)
    while i < n:
        c = line[i]
        if c == "/" and line.startswith("//", i):
            break
        if c == '"':
            i += 1
            while i < n and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
            i += 1
            continue
        if c == "'" and re.match(r"'(\\.|[^\\'])'", line[i:]):
            i += len(re.match(r"'(\\.|[^\\'])'", line[i:]).group(0))
            continue
        out.append(c)
        i += 1
    return "".join(out)


def functions(path: Path):
    """(name, first line, length, justified) of every function with a body in `path`."""
    lines = path.read_text().splitlines()
    raw_strings = False
    for i, line in enumerate(lines):
        if 'r#"' in line:
            raw_strings = raw_strings or line.count('r#"') > line.count('"#')
        m = FN.match(line)
        if not m or raw_strings:
            continue
        depth, opened, end = 0, False, None
        for j in range(i, len(lines)):
            s = strip(lines[j])
            if not opened and ";" in s and "{" not in s:
                break  # a declaration without a body
            for ch in s:
                if ch == "{":
                    depth += 1
                    opened = True
                elif ch == "}":
                    depth -= 1
            if opened and depth == 0:
                end = j
                break
        if end is None:
            continue
        above = []
        k = i - 1
        while k >= 0 and lines[k].strip().startswith(("//", "#[")):
            above.append(lines[k].strip())
            k -= 1
        justified = any(a.startswith("// Long:") for a in above)
        yield m.group(6), i + 1, end - i + 1, justified


def main() -> int:
    found = []
    for path in sorted(ROOT.glob("crates/*/src/**/*.rs")):
        for name, line, length, justified in functions(path):
            found.append((length, f"{path.relative_to(ROOT)}:{line}", name, justified))
    if "--report" in sys.argv:
        for length, where, name, justified in sorted(found, reverse=True)[:15]:
            print(f"{length:4}  {where}  {name}{'  (justified)' if justified else ''}")
        return 0
    long = [f for f in found if f[0] > LIMIT and not f[3]]
    for length, where, name, _ in sorted(long, reverse=True):
        print(f"{where}: fn {name} is {length} lines (limit {LIMIT}); split it, or say why in a `// Long:` comment above it")
    print(f"function length: {len(found)} functions, {len(long)} over {LIMIT} lines without a reason")
    return 1 if long else 0


if __name__ == "__main__":
    sys.exit(main())
