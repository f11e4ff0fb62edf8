"""Stand-in Terraform providers for offline `terraform init/validate/plan/apply`.

    python -m standin install --out DIR    # npm bindings -> schemas -> filesystem mirror
    python -m standin serve --schema S --pb P   # one provider process (Terraform runs it)
    python -m standin serve ... --reattach      # one Terraform attaches to (TF_REATTACH_PROVIDERS)

`install` leaves DIR/terraformrc, a CLI configuration (TF_CLI_CONFIG_FILE) whose only
installation method is the filesystem mirror DIR/mirror, where each provider
(registry.terraform.io/hashicorp/<name>/<version>/<os>_<arch>/terraform-provider-<name>_v<version>)
is a shell launcher that runs `serve` with this Python, and DIR/providers.json, the same
commands for tests that start the providers once and let Terraform attach (tests/infra/tfrun.py).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGES = HERE / "npm-packages.txt"


def _packages() -> list[tuple[str, str, str, str]]:
    out = []
    for line in PACKAGES.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            provider, package, version, integrity = line.split()
            out.append((provider, package, version, integrity))
    return out


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def _fetch(package: str, version: str, integrity: str, dest: Path) -> Path:
    """The package's tarball in dest, downloaded with `npm pack` unless already there; its
    sha512 must be the pinned one."""
    dest.mkdir(parents=True, exist_ok=True)
    tarball = dest / (package.lstrip("@").replace("/", "-") + f"-{version}.tgz")
    if not tarball.exists() or _integrity(tarball) != integrity:
        subprocess.run(
            ["npm", "pack", f"{package}@{version}", "--pack-destination", str(dest), "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    got = _integrity(tarball)
    if got != integrity:
        raise SystemExit(f"{tarball}: integrity {got} is not the pinned {integrity}")
    return tarball


def _platform() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[machine]
    return f"{platform.system().lower()}_{arch}"


def install(out: Path) -> None:
    from . import schema
    from .server import schema_response

    out = out.resolve()
    mirror = out / "mirror"
    if mirror.exists():
        shutil.rmtree(mirror)
    schemas = out / "schemas"
    schemas.mkdir(parents=True, exist_ok=True)
    commands = []
    for provider, package, version, integrity in _packages():
        tarball = _fetch(package, version, integrity, out / "npm")
        with tempfile.TemporaryDirectory() as tmp:
            with tarfile.open(tarball) as tf:
                members = [m for m in tf.getmembers() if m.name in ("package/README.md",) or m.name.startswith("package/lib/")]
                tf.extractall(tmp, members=members, filter="data")
            pkg = Path(tmp) / "package"
            source = f"registry.terraform.io/hashicorp/{provider}"
            tf_version = schema.provider_version(pkg)
            js = schemas / f"{provider}-{tf_version}.json"
            schema.write(pkg, source, js)
        pbfile = schemas / f"{provider}-{tf_version}.pb"
        pbfile.write_bytes(schema_response(json.loads(js.read_text())).SerializeToString())
        bindir = mirror / source / tf_version / _platform()
        bindir.mkdir(parents=True)
        launcher = bindir / f"terraform-provider-{provider}_v{tf_version}"
        launcher.write_text(
            "#!/bin/sh\n"
            f"# Stand-in for {source} {tf_version} (schema from {package}@{version}); see tests/infra/standin.\n"
            f'PYTHONPATH="{HERE.parent}" exec "{sys.executable}" -m standin serve --schema "{js}" --pb "{pbfile}"\n'
        )
        launcher.chmod(0o755)
        commands.append(
            {
                "source": source,
                "version": tf_version,
                "pythonpath": str(HERE.parent),
                "command": [sys.executable, "-m", "standin", "serve", "--schema", str(js), "--pb", str(pbfile)],
            }
        )
        print(f"stand-in {source} {tf_version}: {js.name}")
    (out / "providers.json").write_text(json.dumps(commands, indent=2) + "\n")
    (out / "terraformrc").write_text(
        "# Written by `python -m standin install`: providers come only from the stand-in mirror.\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{mirror}"\n'
        '    include = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "}\n"
        "disable_checkpoint = true\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m standin")
    sub = ap.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("install", help="build the schemas and the filesystem mirror")
    i.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("serve", help="run one provider process (Terraform does this)")
    s.add_argument("--schema", type=Path, required=True)
    s.add_argument("--pb", type=Path, required=True)
    s.add_argument("--reattach", action="store_true", help="serve commands that attach to it until stdin closes")
    args = ap.parse_args()
    if args.cmd == "install":
        install(args.out)
    else:
        from .server import serve

        serve(args.schema, args.pb, reattach=args.reattach)


if __name__ == "__main__":
    main()
