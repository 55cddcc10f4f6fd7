"""Install trained weights as shipped models: copy the safetensors into
``edgefill/models/``, export its ONNX (with sidecar) and rewrite ``manifest.json``.

    python -m edgefill_export.ship runs/lite/lite.safetensors runs/nano/nano.safetensors
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from edgefill.errors import EdgeFillError
from edgefill.fileio import atomic_write_bytes
from edgefill.models import MODELS_DIR, sha256_file
from edgefill.refill_settings import RefillSettings
from edgefill.thin import DEFAULT_NS_WEIGHT, MAX_NS_RADIUS
from edgefill.wide_mix import DEFAULT_WIDE_NS_MAX_STD, DEFAULT_WIDE_NS_WEIGHT, MAX_NS_SCALE, NS_SCALE, UNGATED_STD

from .model import MAX_FILL_PASSES
from .onnx_export import CPU_DECODER_FORM, ExportError, OnnxFromTorch
from .weights import CheckpointError, load_weights, set_inference_options

# MODELS_DIR: the package's own folder, wherever it is installed (parents[2]/edgefill/models was the
# source tree's layout: after a plain `pip install .` models went beside site-packages, never loaded)
#: Decoder form of the shipped ONNX files (FP32 and CPU INT8), which ONNX Runtime runs on CPUs:
#: 2x2 phase convolutions (quantisable, unlike a ConvTranspose, with its MAC count) and the
#: shuffle as an NHWC permutation. Measured against the ConvTranspose form on the 2-core dev
#: CPU: FP32 lite 1.10-1.15x faster at 512², 1.07-1.11x at 256² (docs/performance.md). Bundles
#: for TensorRT keep the export default (ConvTranspose, which TensorRT runs natively).
SHIPPED_DECODER_FORM = CPU_INT8_DECODER_FORM = CPU_DECODER_FORM


def write_manifest(models_dir: Path = MODELS_DIR) -> Path:
    """Write ``models_dir/manifest.json``: the sha256 of every model's files and its facts. An
    ``.onnx`` without a readable edgefill sidecar (a file of the user's in a ``--models-dir``
    folder) is left out, with a warning: it stopped the manifest's rewrite with a traceback, after
    the new model had been installed, leaving the shipped ones failing their checksums."""
    files, models = {}, {}
    for onnx_path in sorted(models_dir.glob("*.onnx")):
        name = onnx_path.stem  # "lite", or "lite.int8" for the shipped INT8 graph
        entry = {"onnx": onnx_path.name}
        try:
            sidecar = json.loads(onnx_path.with_suffix(".json").read_text())
            facts = {k: sidecar[k] for k in ("multiple", "precision", "parameters")}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"warning: {onnx_path} is left out of the manifest: no edgefill sidecar "
                  f"{onnx_path.with_suffix('.json').name} ({exc.__class__.__name__}: {exc})", file=sys.stderr)
            continue
        for p in (onnx_path, onnx_path.with_suffix(".json"), onnx_path.with_suffix(".safetensors")):
            if p.exists():
                files[p.name] = sha256_file(p)
        entry.update(facts)
        if onnx_path.with_suffix(".safetensors").exists():
            entry["weights"] = onnx_path.with_suffix(".safetensors").name
        models[name] = entry
    out = models_dir / "manifest.json"
    atomic_write_bytes(out, (json.dumps({"files": files, "models": models}, indent=2) + "\n").encode())
    return out


def ship(weights: Path, models_dir: Path = MODELS_DIR, name: str | None = None,
         fill_passes: int | None = None, refill: Mapping[str, float | None] | None = None) -> Path:
    """Install ``weights`` as ``<name>.safetensors`` + ``<name>.onnx`` (+ sidecar); ``name``
    defaults to the file's own for a file already in ``models_dir`` (re-shipping it: by the
    architecture's, ``edgefill/models/lite-surface.safetensors`` replaced lite), else to the
    architecture's (``lite``); give ``lite-surface``, say, for a fine-tuned variant.
    ``fill_passes``: set the graph's fill smoothing (``ModelConfig.fill_passes``) on the way;
    ``refill``: record the runtime's refinement settings for it (``ModelConfig.refill``, by name:
    ``thin_radius``, ``wide_ns_weight``, ``wide_ns_scale``, ``wide_ns_max_std``, ``thin_ns_weight``; 0:
    none recorded).
    None keeps the weights' own."""
    in_place = Path(weights).resolve().parent == Path(models_dir).resolve()
    name = name or (Path(weights).stem if in_place else load_weights(weights).config.name)
    dst = models_dir / f"{name}.safetensors"
    # The weights go in under a temporary name and replace the shipped ones only once their ONNX
    # export has passed its checks (NaN, parity): weights that fail them leave the shipped pair as it was.
    staged = models_dir / f".{name}.staged.safetensors"
    before = _sha256(dst)
    try:
        if fill_passes is not None or any(v is not None for v in (refill or {}).values()):
            set_inference_options(weights, staged, fill_passes, refill)
        elif weights.resolve() != dst.resolve():
            atomic_write_bytes(staged, Path(weights).read_bytes())
        else:
            staged = dst
        out = OnnxFromTorch(staged, models_dir / f"{name}.onnx", decoder_form=SHIPPED_DECODER_FORM)()
        if staged != dst:
            os.replace(staged, dst)
    finally:
        if staged != dst:
            staged.unlink(missing_ok=True)
    stale = _drop_stale_int8(out, before)
    if stale:
        print(f"removed {stale.name} (and its sidecar): it was quantised from {name}'s earlier weights; "
              "--int8 makes it from these")
    return out


def ship_int8(name: str, calib_dir: Path | None = None, val_dir: Path | None = None,
              models_dir: Path = MODELS_DIR) -> Path:
    """Calibrate, gate and install ``<name>.int8.onnx`` (QDQ) beside the shipped FP32 model."""
    import tempfile

    from .bundle import ExportRequest, export_bundle

    with tempfile.TemporaryDirectory() as tmp:
        out = export_bundle(ExportRequest(model=name, out_dir=Path(tmp) / "b", precision="int8", calib_dir=calib_dir,
                                          val_dir=val_dir, int8_target="cpu", decoder_form=CPU_INT8_DECODER_FORM))
        bundle = json.loads((out / "bundle.json").read_text())
        art = bundle["artifacts"]["int8"]
        dst = models_dir / f"{name}.int8.onnx"
        atomic_write_bytes(dst, (out / art["file"]).read_bytes())
        source_graph = json.loads((out / "model.fp32.json").read_text())
    side = json.loads((models_dir / f"{name}.json").read_text())
    side.update({"precision": "int8", "sha256": art["sha256"], "validation": art["validation"],
                 "calib_percentile": art.get("calib_percentile"),
                 "calibration_sha256": bundle["calibration"]["images_sha256"],  # the image set's digest
                 "int8_target": "cpu", "decoder_form": source_graph["decoder_form"],
                 "conv_macs_per_input_pixel": source_graph["conv_macs_per_input_pixel"],
                 "made_by": "python -m edgefill_export.ship --int8 (QuantizeOnnx target=cpu: ONNX Runtime u8s8)"})
    side.pop("parity", None)
    atomic_write_bytes(dst.with_suffix(".json"), (json.dumps(side, indent=2) + "\n").encode())
    return dst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", nargs="*", type=Path, help="trained .safetensors files (none: re-export the shipped ones)")
    ap.add_argument("--int8", action="store_true", help="also calibrate and ship <name>.int8.onnx (needs make data)")
    ap.add_argument("--name", default=None, help="shipped name for a single weights file (e.g. lite-surface)")
    ap.add_argument("--models-dir", type=Path, default=MODELS_DIR,
                    help="install into this folder instead of edgefill/models, e.g. to compare trained weights with the "
                         "shipped ones before shipping them: edgefill bench quality --models lite,DIR/NAME.onnx "
                         "(FP32 only: --int8 calibrates a shipped model)")
    ap.add_argument("--calib", type=Path, default=None,
                    help="folder of INT8 calibration images (default: the fetched training photos; the first 32 by name)")
    ap.add_argument("--val", type=Path, default=None,
                    help="folder of images for the INT8 accuracy gate (default: the fetched eval photos)")
    ap.add_argument("--fill-passes", type=int, default=None,
                    help="set the graph's fill smoothing: 3x3 mean-filter passes over the hole (0: none; "
                         "default: keep the weights' own)")
    ap.add_argument("--thin-radius", type=float, default=None,
                    help=f"record the OpenCV NS radius (1-{MAX_NS_RADIUS:g}; 0: none) the runtime's thin-hole refill "
                         "uses with this model (default: keep the weights' own)")
    ap.add_argument("--thin-ns-weight", type=float, default=None,
                    help=f"record the share of NS (0-1; 0: none, the runtime's {DEFAULT_NS_WEIGHT:g}) in the thin pixels "
                         "of the runtime's thin-hole refill with this model, the rest its own fill (default: keep the "
                         "weights' own)")
    ap.add_argument("--wide-ns-weight", type=float, default=None,
                    help=f"record the share (0-1; 0: none, the runtime's {DEFAULT_WIDE_NS_WEIGHT:g}) of the runtime's "
                         "wide NS mix with this model (edgefill.wide_mix; default: keep the weights' own)")
    ap.add_argument("--wide-ns-scale", type=int, default=None,
                    help=f"record that mix's resolution divisor (1-{MAX_NS_SCALE}; 0: none, the runtime's "
                         f"{NS_SCALE}; default: keep the weights' own)")
    ap.add_argument("--wide-ns-max-std", type=float, default=None,
                    help=f"record that mix's gate (the ring std where its share reaches none, up to {UNGATED_STD:g}: "
                         f"every hole; 0: none, the runtime's {DEFAULT_WIDE_NS_MAX_STD:g}; default: keep the weights' own)")
    a = ap.parse_args(argv)
    if a.fill_passes is not None and not 0 <= a.fill_passes <= MAX_FILL_PASSES:
        ap.error(f"--fill-passes must be 0 (none) to {MAX_FILL_PASSES}")
    refill = {k: getattr(a, k) for k in RefillSettings.keys()}
    try:  # 0 means "none recorded"; anything else must be a valid setting
        RefillSettings(**{k: v for k, v in refill.items() if v})
    except ValueError as exc:
        ap.error(f"{exc} (0: none recorded)")
    if a.name and len(a.weights) != 1:
        ap.error("--name needs exactly one weights file")
    custom_dir = a.models_dir.resolve() != MODELS_DIR.resolve()
    if custom_dir and a.int8:
        ap.error("--int8 ships into edgefill/models only (it calibrates the shipped model of that name)")
    if custom_dir and not a.weights:
        ap.error("--models-dir needs the weights files to install there")
    if a.models_dir.exists() and not a.models_dir.is_dir():
        ap.error(f"--models-dir {a.models_dir} is not a folder")
    if (a.calib or a.val) and not a.int8:
        ap.error("--calib and --val only apply with --int8")
    for folder in (a.calib, a.val):
        if folder is not None and not folder.is_dir():
            ap.error(f"{folder} is not a folder")
    for w in a.weights:
        if not w.is_file():
            ap.error(f"{w}: no such weights file")
    a.weights = a.weights or sorted(p for p in a.models_dir.glob("*.safetensors") if not p.name.startswith("."))
    if not a.weights:  # "re-export the shipped ones" with none there wrote an empty manifest, exit 0
        print(f"error: no weights given and no *.safetensors in {a.models_dir} to re-export", file=sys.stderr)
        return 2
    try:
        a.models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"error: cannot make --models-dir {a.models_dir}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    code = 2
    try:
        code = _ship_all(a, refill)
    finally:
        # Whatever was installed before an error (or Ctrl-C) is in the manifest: the models
        # installed before it failed their checksums, so nothing shipped could be loaded. (Its own
        # failure is said, not raised over the error or Ctrl-C in flight.)
        try:
            print(write_manifest(a.models_dir))
        except OSError as exc:
            print(f"error: cannot rewrite {a.models_dir / 'manifest.json'}: {exc.strerror or exc}", file=sys.stderr)
            code = 2
    return code


def _ship_all(a: argparse.Namespace, refill: Mapping[str, float | None]) -> int:
    """Ship each weights file of ``a`` (and its INT8 graph with ``--int8``); 2 after an error."""
    for w in a.weights:
        try:
            out = ship(w, models_dir=a.models_dir, name=a.name, fill_passes=a.fill_passes, refill=refill)
        except (CheckpointError, ExportError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        side = json.loads(out.with_suffix(".json").read_text())
        print(f"{out}: {side['parameters']} parameters, ONNX vs PyTorch max |diff| {side['parity']['max_abs_diff_uint8']}")
        if a.int8:
            try:
                q = ship_int8(out.stem, calib_dir=a.calib, val_dir=a.val, models_dir=a.models_dir)
            except EdgeFillError as exc:  # the calibration images, the accuracy gate
                print(f"error: {out.stem}.int8 was not shipped: {exc}", file=sys.stderr)
                return 2
            v = json.loads(q.with_suffix(".json").read_text())["validation"]  # delta_db: fp32 minus INT8, a loss
            print(f"{q}: INT8 hole PSNR {v['hole_psnr_db']:.2f} dB, {0.0 - v['delta_db']:+.3f} dB vs fp32 (gate {v['gate_db']})")
    return 0


def _drop_stale_int8(fp32: Path, weights_before: str | None) -> Path | None:
    """Remove the INT8 graph (and sidecar) beside the FP32 model ``fp32`` just shipped when the
    model's weights file changed (its sha256 was ``weights_before``; None: there was none), and
    return its path: it was quantised from the earlier weights (or settings, which the weights
    file records), and left there, ``NAME.int8`` ran them under the new model's name. None
    when there is none or the weights are the same (a re-export)."""
    int8 = fp32.with_name(fp32.stem + ".int8.onnx")
    weights = fp32.with_suffix(".safetensors")
    if not int8.exists() or (weights_before is not None and _sha256(weights) == weights_before):
        return None
    int8.unlink()
    int8.with_suffix(".json").unlink(missing_ok=True)
    return int8


def _sha256(path: Path) -> str | None:
    """The sha256 of the file ``path`` (:func:`edgefill.models.sha256_file`); None when there is none."""
    return sha256_file(path) if path.is_file() else None


if __name__ == "__main__":
    raise SystemExit(main())
