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


# --- the real terraform binary on stand-in providers (tfrun.py) -------------------------------


@pytest.fixture(scope="session")
def tf_zips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Stand-in bootstrap.zip files, passed to the example as lambda_zip_dir."""
    from tfrun import make_zips

    return make_zips(tmp_path_factory.mktemp("lambda"))


@pytest.fixture(scope="session")
def tf_providers(tmp_path_factory: pytest.TempPathFactory):
    """The stand-in providers, started once; every terraform run but `init` (and those that
    ask not to) attaches to them (tfrun.attached)."""
    from tfrun import attached

    with attached(tmp_path_factory.mktemp("standin-logs")) as providers:
        yield providers


@pytest.fixture(scope="session")
def applied(tmp_path_factory: pytest.TempPathFactory, tf_zips: Path, tf_providers):
    """The example applied on the stand-in providers, once per sink: {sink: (Workdir, vars)}."""
    from tfrun import INFLUXDB_VARS, MIN_TERRAFORM, TerraformError, Workdir, copy_infra, terraform_version

    if terraform_version() < MIN_TERRAFORM:
        raise TerraformError(f"terraform {terraform_version()} is older than {MIN_TERRAFORM}")
    out = {}
    for sink, extra in (("timestream", {}), ("influxdb", INFLUXDB_VARS)):
        wd = Workdir(copy_infra(tmp_path_factory.mktemp(f"apply-{sink}") / "infra"), "examples/complete")
        variables = {"lambda_zip_dir": str(tf_zips), **extra}
        wd.init()
        wd.plan(variables, out="first.tfplan")
        wd.run("apply", "-input=false", "first.tfplan")
        out[sink] = (wd, variables)
    return out
