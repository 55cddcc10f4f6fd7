"""The wheel users install holds every module and data file of the source tree.

Tests run against an editable install, which finds modules by path, so a package left
out of ``[tool.setuptools] packages`` passes every other test and is still missing from
``pip install edgefill`` (``edgefill.trt`` was, until this test: the TensorRT backend
could not import from a wheel).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Source folder -> its path inside the wheel (pyproject's package-dir).
TREES = {
    "edgefill": "edgefill",
    "firmware_configs": "edgefill/firmware_configs",
    "export/edgefill_export": "edgefill_export",
}
SHIPPED_SUFFIXES = {".py", ".onnx", ".json", ".safetensors", ".yaml", ".csv"}


def _expected_files() -> set[str]:
    expected = set()
    for src, dst in TREES.items():
        for path in (ROOT / src).rglob("*"):
            if path.is_file() and path.suffix in SHIPPED_SUFFIXES and "__pycache__" not in path.parts:
                expected.add(f"{dst}/{path.relative_to(ROOT / src).as_posix()}")
    return expected


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> set[str]:
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is not installed in this environment, so the wheel cannot be built offline")
    # Build from a copy: setuptools writes build/ into the source folder, and a stale
    # build/lib there would put files into the wheel that the package list leaves out.
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    for tree in TREES:
        shutil.copytree(ROOT / tree, src / tree, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = out.glob("edgefill-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_wheel_holds_every_module_and_data_file(wheel_names):
    expected = _expected_files()
    assert "edgefill/trt/compat.py" in expected  # the tree walk itself works
    missing = sorted(expected - wheel_names)
    assert not missing, f"left out of the wheel (add the package to pyproject's packages): {missing}"


def test_wheel_carries_the_licence(wheel_names):
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in wheel_names)


def test_wheel_ships_the_default_models(wheel_names):
    for name in ("lite", "nano", "lite-surface"):
        for suffix in (".onnx", ".json", ".safetensors", ".int8.onnx", ".int8.json"):
            assert f"edgefill/models/{name}{suffix}" in wheel_names
