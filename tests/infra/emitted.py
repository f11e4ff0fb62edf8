"""What the Lambda binaries emit as CloudWatch metrics (infra/emf-metrics.json, kept equal to
the code by a Rust test in filetrail-recorder and filetrail-stages), and the names Terraform
gives the functions, so the alarms and the dashboard can be checked against both.

The dimension value is the deployed function's name when the manifest says it comes from
AWS_LAMBDA_FUNCTION_NAME (Lambda sets it to the function's name:
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html), or a constant a
function entry names (`dimension_value`, what the code did before issue 12). Names are compared
under several name prefixes: a constant that happens to equal the default prefix's name is
still wrong for every other deployment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tfmodel import Expr, Infra, Module, Scenario, Undecidable

MANIFEST = "emf-metrics.json"

# The modules' default, and the README's example.
SAMPLE_NAME_PREFIXES = ("filetrail", "filetrail-dev")


def load(infra_root: Path) -> dict:
    return json.loads((infra_root / MANIFEST).read_text())


def render(sc: Scenario, value: Any, depth: int = 0) -> str | None:
    """A string value with its `${...}` parts evaluated; None when it cannot be decided."""
    if depth > 8:
        return None
    try:
        if isinstance(value, Expr):
            value = sc.value(value)
            if isinstance(value, Expr):
                return None
        if not isinstance(value, str):
            return None
        out = []
        last = 0
        for m in re.finditer(r"\$\{([^}]+)\}", value):
            part = render(sc, Expr(m.group(1).strip()), depth + 1)
            if part is None:
                return None
            out.append(value[last : m.start()])
            out.append(part)
            last = m.end()
        out.append(value[last:])
        return "".join(out)
    except Undecidable:
        return None


def function_modules(infra: Infra) -> dict[str, Module]:
    """Terraform's Lambda functions by resource name (the manifest's keys), with their module."""
    return {name: mod for mod, name, _ in infra.all_resources("aws_lambda_function")}


def deployed_name(infra: Infra, function: str, prefix: str) -> str | None:
    """The Terraform function_name of `function` with var.name_prefix = prefix."""
    mod = function_modules(infra).get(function)
    if mod is None:
        return None
    fn = mod.resource("aws_lambda_function", function) or {}
    return render(Scenario(mod, name_prefix=prefix), fn.get("function_name"))


def emitted_dimension(manifest: dict, function: str, deployed: str | None) -> str | None:
    """The value the code emits in the dimension, for a function deployed as `deployed`."""
    entry = manifest["functions"].get(function, {})
    if "dimension_value" in entry:
        return entry["dimension_value"]
    if manifest.get("dimension_value_from") == "AWS_LAMBDA_FUNCTION_NAME":
        return deployed
    return None
