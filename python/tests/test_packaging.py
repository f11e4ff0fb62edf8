"""The package builds as a wheel and as a Lambda layer zip (the script ``make package`` runs),
the layer's layout is the one Lambda's Python runtimes load, and ``pip install ./python`` works
in a fresh virtual environment."""

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT, run

spec = importlib.util.spec_from_file_location("build_layer", ROOT / "python/tools/build_layer.py")
assert spec and spec.loader
build_layer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_layer)

CHECK = (
    "import filetrail, boto3; "
    "d = filetrail.file_moved('PUT', 'k.bin', source_bucket='hermes-incoming'); "
    "filetrail.validate(d); print(filetrail.__file__)"
)


def test_wheel_and_layer(tmp_path):
    wheel, layer = build_layer.build(tmp_path / "dist", isolation=False)
    with zipfile.ZipFile(wheel) as w:
        names = set(w.namelist())
        metadata = w.read("filetrail-0.1.0.dist-info/METADATA").decode()
    assert {"filetrail/__init__.py", "filetrail/py.typed", "filetrail/contract.py"} <= names
    assert "Requires-Python: >=3.9" in metadata
    assert [line for line in metadata.splitlines() if line.startswith("Requires-Dist")] == ["Requires-Dist: boto3>=1.26"]

    with zipfile.ZipFile(layer) as z:
        entries = z.namelist()
        assert all(n.startswith("python/") for n in entries), entries
        assert "python/filetrail/__init__.py" in entries and "python/filetrail/py.typed" in entries
        assert not any(n.startswith(("python/boto3", "python/botocore")) for n in entries), "the runtime ships boto3"
        opt = tmp_path / "opt"
        z.extractall(opt)
    # Lambda puts /opt/python on the path of its Python runtimes: the package loads from there.
    env = dict(os.environ, PYTHONPATH=str(opt / "python"))
    proc = run([sys.executable, "-c", CHECK], env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).is_relative_to(opt / "python")

    # The same sources give the same layer, byte for byte.
    again = build_layer.build(tmp_path / "again", isolation=False)[1]
    assert again.read_bytes() == layer.read_bytes()


def test_pip_install_works_in_a_fresh_venv(tmp_path):
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    install = run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(ROOT / "python")])
    assert install.returncode == 0, install.stderr
    proc = run([py, "-c", CHECK], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert str(venv) in proc.stdout
