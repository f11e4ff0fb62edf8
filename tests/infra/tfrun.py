"""Runs the real `terraform` binary against the stand-in providers (tests/infra/standin).

`make lint-infra` installs the stand-ins into .venv-infra/standin (FILETRAIL_TF_STANDIN
overrides); every run happens in a scratch copy of infra/, so no lock file, .terraform
directory or state is ever written into the repository.

Terraform starts a provider process for nearly every step of a command (6 per plan), and a
Python stand-in spends ~0.2 s of CPU starting: half of a plan's CPU. So a test session starts
each stand-in once (`Providers`) and Terraform attaches to it (TF_REATTACH_PROVIDERS); `init`
never attaches (it installs the providers from the filesystem mirror, lock file included), and
a run may choose not to (`attach=False`: Terraform starts the mirror's launchers itself).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
STANDIN = Path(os.environ.get("FILETRAIL_TF_STANDIN", REPO / ".venv-infra" / "standin"))
MIN_TERRAFORM = (1, 6, 0)
LAMBDA_BINS = ("filetrail-recorder", "filetrail-sorter", "filetrail-processor", "filetrail-auditor")

# The inputs sink = "influxdb" needs (made-up ids of the caller's VPC), as in the example's
# terraform.tfvars.example.
INFLUXDB_VARS = {
    "sink": "influxdb",
    "recorder_enabled": False,
    "influxdb_vpc_id": "vpc-0123456789abcdef0",
    "influxdb_subnet_ids": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
    "influxdb_client_security_group_ids": ["sg-0123456789abcdef0"],
    "create_vpc_endpoints": True,
    "auditor_influxdb_token_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:filetrail/auditor-influxdb-token-AbCdEf",
}


class TerraformError(AssertionError):
    """A terraform command failed; the message carries its output."""


@dataclass
class Result:
    rc: int
    out: str


class Providers:
    """The stand-in providers as long-lived processes Terraform attaches to (`serve
    --reattach`, the commands `python -m standin install` wrote to providers.json). They hold one
    provider configuration at a time (the last ConfigureProvider), so commands attached to them
    run one after another, and infra/ has one `aws` provider configuration."""

    def __init__(self, log_dir: Path):
        self.procs: list[subprocess.Popen] = []
        reattach = {}
        try:
            for p in json.loads((STANDIN / "providers.json").read_text()):
                log = (log_dir / (p["source"].rsplit("/", 1)[-1] + ".log")).open("w")
                proc = subprocess.Popen(
                    [*p["command"], "--reattach"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    env={**os.environ, "PYTHONPATH": p["pythonpath"]},
                )
                self.procs.append(proc)
                line = proc.stdout.readline()
                if not line:
                    raise TerraformError(f"stand-in {p['source']} did not start; see {log.name}")
                reattach[p["source"]] = {
                    "Protocol": "grpc",
                    "ProtocolVersion": 6,
                    "Pid": proc.pid,
                    "Test": True,
                    "Addr": json.loads(line),
                }
        except BaseException:
            self.close()
            raise
        self.reattach = json.dumps(reattach)

    def close(self) -> None:
        for proc in self.procs:
            if proc.stdin:
                proc.stdin.close()  # the stand-in serves until its stdin closes
            proc.wait(timeout=30)


_attached: Providers | None = None


@contextmanager
def attached(log_dir: Path):
    """Terraform runs inside attach to stand-ins started once (see the module)."""
    global _attached
    providers = Providers(log_dir)
    _attached = providers
    try:
        yield providers
    finally:
        _attached = None
        providers.close()


def terraform_env(attach: bool = True) -> dict[str, str]:
    rc = STANDIN / "terraformrc"
    if not rc.exists():
        raise TerraformError(f"no stand-in providers at {STANDIN}: run `make lint-infra` (it installs them)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.update(TF_CLI_CONFIG_FILE=str(rc), TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1")
    if attach and _attached is not None:
        env["TF_REATTACH_PROVIDERS"] = _attached.reattach
    return env


def terraform_version() -> tuple[int, int, int]:
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull}
    out = subprocess.run(["terraform", "version", "-json"], capture_output=True, text=True, check=True, env=env).stdout
    return tuple(int(x) for x in re.match(r"(\d+)\.(\d+)\.(\d+)", json.loads(out)["terraform_version"]).groups())


def make_zips(dest: Path) -> Path:
    """Stand-in Lambda zips where `make package` would leave the real ones (never built here)."""
    for b in LAMBDA_BINS:
        d = dest / b
        d.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(d / "bootstrap.zip", "w") as z:
            z.writestr("bootstrap", f"#!/bin/sh\n# stand-in for {b}\n")
    return dest


# Repository entries a scratch copy never links to (build output, virtualenvs, git).
_NOT_LINKED = {"infra", ".git", "target", ".tools", ".emulator"}


def copy_infra(dest: Path) -> Path:
    """A scratch copy of infra/ at `dest` (named infra), beside links to the repository's other
    top-level entries, so a file the configuration reads outside infra/ by a relative path
    (e.g. a pattern file shared with the Rust tests) resolves as in the repository."""
    shutil.copytree(INFRA, dest, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl"))
    for entry in REPO.iterdir():
        if entry.name not in _NOT_LINKED and not entry.name.startswith(".venv"):
            link = dest.parent / entry.name
            if not link.exists():
                link.symlink_to(entry)
    return dest


class Workdir:
    """One Terraform working directory (a module or the example) inside a copy of infra/."""

    def __init__(self, root: Path, rel: str):
        self.root = root
        self.dir = root / rel
        self.rel = rel

    def run(self, *args: str, check: bool = True, attach: bool = True) -> Result:
        env = terraform_env(attach)
        p = subprocess.run(["terraform", *args, "-no-color"], cwd=self.dir, env=env, capture_output=True, text=True)
        res = Result(p.returncode, p.stdout + p.stderr)
        if check and p.returncode != 0:
            raise TerraformError(f"terraform {' '.join(args)} in {self.rel} failed ({p.returncode}):\n{res.out}")
        return res

    def init(self) -> Result:
        """Installs the providers from the mirror (never attached, so the lock file is written)."""
        return self.run("init", "-backend=false" if self.rel.startswith("modules/") else "-input=false", "-input=false", attach=False)

    def validate(self, check: bool = True, attach: bool = True) -> Result:
        return self.run("validate", check=check, attach=attach)

    def _var_args(self, variables: dict) -> list[str]:
        return [f"-var={k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in variables.items()]

    def plan(self, variables: dict, out: str = "tfplan", check: bool = True, exitcode: bool = False) -> Result:
        args = ["plan", "-input=false", f"-out={out}", *self._var_args(variables)]
        if exitcode:
            args.append("-detailed-exitcode")
        return self.run(*args, check=check)

    def show(self, plan: str = "tfplan") -> dict:
        return json.loads(self.run("show", "-json", plan).out)

    def state(self) -> dict:
        return json.loads((self.dir / "terraform.tfstate").read_text())


def changes(plan: dict) -> list[tuple[str, tuple[str, ...], str | None]]:
    """(address, actions, previous address) of every managed resource change of a plan (data
    sources read at apply time are left out)."""
    return [
        (c["address"], tuple(c["change"]["actions"]), c.get("previous_address"))
        for c in plan.get("resource_changes", [])
        if c["mode"] == "managed"
    ]


def state_resource(state: dict, module: str | None, mode: str, type_: str, name: str) -> list[dict]:
    """The instances' attributes of one resource in a state file."""
    for r in state["resources"]:
        if r.get("module") == module and r["mode"] == mode and r["type"] == type_ and r["name"] == name:
            return [i["attributes"] for i in r["instances"]]
    raise KeyError(f"{module}.{mode}.{type_}.{name} not in state")
