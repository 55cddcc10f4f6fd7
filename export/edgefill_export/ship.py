"""Install trained weights as shipped models: copy the safetensors into
``edgefill/models/``, export its ONNX (with sidecar) and rewrite ``manifest.json``.

    python -m edgefill_export.ship runs/lite/lite.safetensors runs/nano/nano.safetensors
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

from edgefill.fileio import atomic_write_bytes

from .onnx_export import OnnxFromTorch
from .weights import load_weights

MODELS_DIR = Path(__file__).resolve().parents[2] / "edgefill" / "models"


def write_manifest(models_dir: Path = MODELS_DIR) -> Path:
    files, models = {}, {}
    for onnx_path in sorted(models_dir.glob("*.onnx")):
        name = onnx_path.stem
        entry = {"onnx": onnx_path.name}
        for p in (onnx_path, onnx_path.with_suffix(".json"), onnx_path.with_suffix(".safetensors")):
            if p.exists():
                files[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
        sidecar = json.loads(onnx_path.with_suffix(".json").read_text())
        entry.update({"multiple": sidecar["multiple"], "precision": sidecar["precision"], "parameters": sidecar["parameters"]})
        if onnx_path.with_suffix(".safetensors").exists():
            entry["weights"] = onnx_path.with_suffix(".safetensors").name
        models[name] = entry
    out = models_dir / "manifest.json"
    atomic_write_bytes(out, (json.dumps({"files": files, "models": models}, indent=2) + "\n").encode())
    return out


def ship(weights: Path, models_dir: Path = MODELS_DIR) -> Path:
    name = load_weights(weights).config.name
    dst = models_dir / f"{name}.safetensors"
    if weights.resolve() != dst.resolve():
        shutil.copyfile(weights, dst)
    return OnnxFromTorch(dst, models_dir / f"{name}.onnx")()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", nargs="*", type=Path, help="trained .safetensors files (none: re-export the shipped ones)")
    a = ap.parse_args(argv)
    for w in a.weights or sorted(MODELS_DIR.glob("*.safetensors")):
        out = ship(w)
        side = json.loads(out.with_suffix(".json").read_text())
        print(f"{out}: {side['parameters']} parameters, ONNX vs PyTorch max |diff| {side['parity']['max_abs_diff_uint8']}")
    print(write_manifest())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
