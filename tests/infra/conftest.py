"""Shared fixtures for the static infrastructure checks (run by `make lint-infra`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tfmodel import Infra

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"


@pytest.fixture(scope="session")
def infra() -> Infra:
    return Infra.load(INFRA)


@pytest.fixture
def infra_copy(tmp_path: Path) -> Path:
    """A scratch copy of infra/ that a test may break."""
    dest = tmp_path / "infra"
    shutil.copytree(INFRA, dest, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl"))
    return dest
