"""Build the filetrail wheel and the Lambda layer zip made from it.

Usage: python build_layer.py OUT_DIR [--no-build-isolation]

OUT_DIR receives ``filetrail-<version>-py3-none-any.whl`` and ``filetrail-python-layer.zip``.
The layer holds the package under the top-level ``python/`` folder, which Lambda puts on the
Python path of every Python runtime (/opt/python):
https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html#packaging-layers-paths
and https://docs.aws.amazon.com/lambda/latest/dg/python-layers.html. boto3 is not in it: the
Lambda Python runtimes ship it. Entries are sorted and dated 1980-01-01, so the same sources
give the same zip.
"""

import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
LAYER_NAME = "filetrail-python-layer.zip"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def build(out: Path, isolation: bool = True) -> "tuple[Path, Path]":
    """Build the wheel and the layer into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("filetrail-*.whl"):
        old.unlink()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    wheel_args = ["wheel", "--no-deps", "--wheel-dir", str(out), str(PACKAGE)]
    subprocess.run(pip + wheel_args + ([] if isolation else ["--no-build-isolation"]), check=True)
    (wheel,) = out.glob("filetrail-*.whl")
    layer = out / LAYER_NAME
    # A pure-Python wheel installs by unpacking it into site-packages; the layer's python/ is one.
    with zipfile.ZipFile(wheel) as w, zipfile.ZipFile(layer, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(n for n in w.namelist() if not n.endswith("/")):
            info = zipfile.ZipInfo(f"python/{name}", FIXED_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, w.read(name))
    return wheel, layer


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    wheel, layer = build(Path(sys.argv[1]), isolation="--no-build-isolation" not in sys.argv[2:])
    print(f"{wheel}\n{layer}")
