"""Corrupt, truncated and hostile model files are refused with a clear error, never loaded."""

import ast
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import edgefill
from edgefill.backends.tensorrt import TensorRTBackend, verify_engine_file
from edgefill.errors import BackendUnavailableError, ModelError
from edgefill.models import MODELS_DIR

ROOT = Path(__file__).resolve().parents[2]
N_COPIES = 200


def corrupt_copies(data: bytes, n: int, seed: int = 0):
    """Half truncated at random lengths, half with 1-8 random bytes flipped."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        b = bytearray(data)
        if i % 2 == 0:
            b = b[: int(rng.integers(0, len(b)))]
        else:
            for pos in rng.integers(0, len(b), int(rng.integers(1, 9))):
                b[pos] ^= int(rng.integers(1, 256))
        yield i, bytes(b)


def test_corrupt_onnx_copies_are_all_refused(tmp_path):
    src = MODELS_DIR / "nano.onnx"
    side = json.loads((MODELS_DIR / "nano.json").read_text())
    outcomes = {"ModelError": 0, "accepted": 0}
    for i, data in corrupt_copies(src.read_bytes(), N_COPIES):
        p = tmp_path / f"c{i}.onnx"
        p.write_bytes(data)
        (tmp_path / f"c{i}.json").write_text(json.dumps(side))
        try:
            edgefill.create_backend("onnxruntime", model=str(p)).close()
            outcomes["accepted"] += 1
        except ModelError:
            outcomes["ModelError"] += 1
    assert outcomes == {"ModelError": N_COPIES, "accepted": 0}


_PROBE = r"""
import sys, json
import edgefill
from edgefill.errors import EdgeFillError
res = {}
for path in sys.argv[1:]:
    try:
        edgefill.create_backend("onnxruntime", model=path).close()
        res[path] = "loaded"
    except EdgeFillError:
        res[path] = "refused"
print(json.dumps(res))
"""


def test_corrupt_onnx_without_checksum_never_crashes_or_hangs(tmp_path):
    """Without a sidecar there is no checksum: ONNX Runtime itself must fail cleanly, in a
    subprocess so that a crash would be seen, with a timeout so that a hang would be."""
    paths = []
    for i, data in corrupt_copies((MODELS_DIR / "nano.onnx").read_bytes(), 40, seed=1):
        p = tmp_path / f"n{i}.onnx"
        p.write_bytes(data)
        paths.append(str(p))
    proc = subprocess.run([sys.executable, "-c", _PROBE, *paths], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]  # no crash
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(res) == 40
    assert all(res[p] == "refused" for p in paths[::2]), "a truncated model was loaded"


def _fake_engine(folder: Path) -> Path:
    eng = folder / "model.engine"
    data = np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes()
    eng.write_bytes(data)
    eng.with_suffix(".json").write_text(json.dumps({
        "format": "edgefill-engine/1", "engine_sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
        "tensorrt": "10.3.0", "compute_capability": "8.7", "multiple": 64}))
    return eng


def test_corrupt_engine_copies_are_all_refused_before_tensorrt(tmp_path):
    good = _fake_engine(tmp_path)
    verify_engine_file(good)
    refused = 0
    for i, data in corrupt_copies(good.read_bytes(), N_COPIES, seed=2):
        p = tmp_path / f"e{i}.engine"
        p.write_bytes(data)
        shutil.copy(good.with_suffix(".json"), p.with_suffix(".json"))
        with pytest.raises(ModelError, match="truncated or corrupt"):
            TensorRTBackend(model=str(p))
        refused += 1
    assert refused == N_COPIES


def test_engine_without_sidecar_refused(tmp_path):
    (tmp_path / "x.engine").write_bytes(b"\0" * 100)
    with pytest.raises(ModelError, match="sidecar"):
        verify_engine_file(tmp_path / "x.engine")
    with pytest.raises(BackendUnavailableError, match="bundle or an .engine"):
        TensorRTBackend(model=str(tmp_path / "x.onnx"))


def test_symlinked_engine_cache_is_refused(tmp_path):
    from edgefill.trt.build import build_for_bundle

    pytest.importorskip("torch")
    b = tmp_path / "bundle"
    b.mkdir()
    onnx_path = b / "model.fp32.onnx"
    shutil.copy(MODELS_DIR / "nano.onnx", onnx_path)
    sha = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    (b / "bundle.json").write_text(json.dumps({
        "format": "edgefill-bundle/1", "model": "nano", "precision": "fp32", "multiple": 64,
        "artifacts": {"fp32": {"file": onnx_path.name, "sha256": sha}}, "tensorrt_profiles": [],
        "tensorrt": {"onnx": onnx_path.name, "sha256": sha, "io": "uint8", "opset": 17, "builder_precision": "fp32"}}))
    (tmp_path / "elsewhere").mkdir()
    (b / "engines").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ModelError, match="symlink"):
        build_for_bundle(b)


def test_no_unsafe_torch_load_anywhere():
    """torch.load, where used at all, must pass weights_only=True; pickles are never loaded."""
    offenders = []
    for path in list((ROOT / "export").rglob("*.py")) + list((ROOT / "edgefill").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "load" and \
                    getattr(node.func.value, "id", None) == "torch":
                kw = {k.arg: k.value for k in node.keywords}
                if not (isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True):
                    offenders.append(f"{path}:{node.lineno}")
    assert not offenders
