"""Latency of nano and lite at 256x256 and 512x512 in PyTorch eager, ONNX Runtime FP32,
and OpenCV Telea / Navier-Stokes, measured side by side in one run.

Each method gets a warm-up, then the methods are timed round-robin (one call each,
repeated ``--reps`` times) so that machine noise hits them alike; medians are reported.

    python benchmarks/latency.py --json bench_out/latency.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import edgefill
from edgefill.fileio import atomic_write_bytes
from edgefill import maskgen
from edgefill.bench import check_report, first_paragraph, host_info, host_line
from edgefill.overwrites import model_inputs


def make_input(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img = np.stack([128 + 100 * np.sin(xx / 19 + c) * np.cos(yy / 27) for c in range(3)], -1)
    img = np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)
    return img, maskgen.free_form(size, size, rng, 0.2, 0.3)


def torch_runner(model: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """The model's PyTorch graph, or None without PyTorch or without shipped weights (an INT8
    model such as ``lite.int8`` has only its ONNX form, which is timed with ONNX Runtime)."""
    from edgefill.models import MODELS_DIR

    if not (MODELS_DIR / f"{model}.safetensors").is_file():
        return None
    try:
        import torch
        from edgefill_export.onnx_export import prepare
        from edgefill_export.weights import load_weights
    except ImportError:
        return None
    graph = prepare(load_weights(MODELS_DIR / f"{model}.safetensors"))

    def run(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return graph(torch.from_numpy(img[None]), torch.from_numpy(mask[None, :, :, None])).numpy()[0]

    return run


def _torch_version() -> str | None:
    torch = sys.modules.get("torch")  # imported by torch_runner when a PyTorch row was timed
    return getattr(torch, "__version__", None)


def measure(methods: dict[str, Callable], sizes: list[int], reps: int, warmup: int) -> list[dict]:
    """Per size: every method's warm-up, then ``reps`` round-robin rounds (one call of each)."""
    results = []
    for size in sizes:
        img, mask = make_input(size)
        times: dict[str, list[float]] = {k: [] for k in methods}
        for fn in methods.values():
            for _ in range(warmup):
                fn(img, mask)
        for _ in range(reps):
            for k, fn in methods.items():
                t0 = time.perf_counter()
                fn(img, mask)
                times[k].append(time.perf_counter() - t0)
        for k, ts in times.items():
            results.append({"method": k, "size": size, "median_ms": 1000 * statistics.median(ts),
                            "min_ms": 1000 * min(ts), "reps": len(ts)})
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=first_paragraph(__doc__))
    ap.add_argument("--models", default="nano,lite", help="shipped models to time in PyTorch and ONNX Runtime ('' for none)")
    ap.add_argument("--sizes", default="256,512")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--onnx", action="append", default=[], metavar="LABEL=PATH",
                    help="also time this edgefill ONNX / bundle with ONNX Runtime (repeatable), e.g. lite-int8=BUNDLE")
    ap.add_argument("--no-opencv", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    try:
        sizes = list(dict.fromkeys(int(s) for s in a.sizes.split(",")))  # a size given twice is timed once
    except ValueError:
        ap.error(f"--sizes takes comma-separated integers, got {a.sizes!r}")
    if a.reps < 1 or a.warmup < 0 or any(s < 1 for s in sizes):
        ap.error(f"--reps must be >= 1, --warmup >= 0 and --sizes >= 1 (got {a.reps}, {a.warmup}, {a.sizes})")
    if any(not spec.partition("=")[2] for spec in a.onnx):
        ap.error(f"--onnx takes LABEL=PATH, got {a.onnx}")
    labels = [spec.partition("=")[0] for spec in a.onnx]
    twice = next((label for label in labels if labels.count(label) > 1), None)
    if twice is not None:  # one row per label: the later model replaced the earlier one, unreported
        ap.error(f"--onnx label {twice!r} is given twice; give each model its own label")

    methods: dict[str, Callable] = {}
    backends = []
    try:  # a bad model, ONNX file or output is one line before the run, not a traceback (after it)
        if a.json:  # not over a model under test (--onnx PATH, a shipped model's files) or its sidecar
            models = [*filter(None, a.models.split(",")), *(spec.partition("=")[2] for spec in a.onnx)]
            check_report(a.json, model_inputs(models))
        for m in dict.fromkeys(filter(None, a.models.split(","))):  # a model given twice is timed once
            run = torch_runner(m)
            if run is not None:
                methods[f"{m} pytorch-eager"] = run
            backends.append(edgefill.create_backend("onnxruntime", model=m))
            # the model's own precision: lite.int8 is not an FP32 run
            methods[f"{m} onnxruntime-{backends[-1].model.precision}"] = backends[-1].infer
        for spec in a.onnx:
            label, _, path = spec.partition("=")
            backends.append(edgefill.create_backend("onnxruntime", model=path))
            methods[f"{label} onnxruntime"] = backends[-1].infer
        if not a.no_opencv:
            backends += [edgefill.create_backend("opencv-telea"), edgefill.create_backend("opencv-ns")]
            methods["opencv-telea"], methods["opencv-ns"] = backends[-2].infer, backends[-1].infer
        # a model's PyTorch graph takes the sizes its ONNX export takes
        multiples = sorted({b.input_info.multiple for b in backends} - {1})
        bad = [s for s in sizes if any(s % m for m in multiples)]
        if bad:
            ap.error(f"--sizes {','.join(map(str, bad))}: the models take multiples of {', '.join(map(str, multiples))}")
        results = measure(methods, sizes, a.reps, a.warmup)
    except edgefill.EdgeFillError as e:
        print(f"latency benchmark: {e}", file=sys.stderr)
        return 2
    finally:
        for b in backends:
            b.close()

    host = host_info()
    print(f"latency, median of {a.reps} round-robin reps after {a.warmup} warm-up")
    print(host_line(host))
    print(f"{'method':28s}" + "".join(f"{f'{s}x{s} ms':>14s}" for s in sizes))
    for k in methods:
        row = {r["size"]: r["median_ms"] for r in results if r["method"] == k}
        print(f"{k:28s}" + "".join(f"{row[s]:14.1f}" for s in sizes))
    if a.json:
        # the versions too: the same model times differently under another ONNX Runtime / PyTorch
        report = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "host": host,
                  "edgefill": edgefill.__version__, "torch": _torch_version(), "warmup": a.warmup, "results": results}
        atomic_write_bytes(a.json, json.dumps(report, indent=2).encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
