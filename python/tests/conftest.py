"""Shared fixtures: the repository's paths, the Rust binaries, the emulator."""

import os
import subprocess
from pathlib import Path
from typing import Dict

import pytest

ROOT = Path(__file__).resolve().parents[2]


def rust_binary(name: str) -> Path:
    """A built Rust binary of the workspace (``make test-python`` builds them)."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = target / "debug" / name
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: run 'cargo build --bin {name}' (make test-python does)")
    return path


@pytest.fixture(scope="session")
def filetrail_bin() -> Path:
    """The ``filetrail`` CLI."""
    return rust_binary("filetrail")


@pytest.fixture(scope="session")
def recorder_bin() -> Path:
    """The ``filetrail-recorder`` Lambda binary."""
    return rust_binary("filetrail-recorder")


@pytest.fixture(scope="session")
def endpoint() -> str:
    """The emulator's URL; a test that needs it fails loudly without it (it is never skipped)."""
    url = os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        raise RuntimeError("AWS_ENDPOINT_URL is not set: run under scripts/with-emulator.sh (make test-python does)")
    return url


def run_env() -> Dict[str, str]:
    """A child process environment without AWS settings (validation needs none)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def run(args, **kw) -> subprocess.CompletedProcess:
    """Run a command, capturing UTF-8 text."""
    return subprocess.run([str(a) for a in args], capture_output=True, encoding="utf-8", **kw)
