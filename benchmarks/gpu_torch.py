"""Generator latency in PyTorch on a GPU (FP16, CUDA graphs) and in ONNX Runtime's CUDA provider,
as percentages of the GPU's own measured peak: part 3 of the performance issue.

    python benchmarks/gpu_torch.py --json bench_out/gpu.json              # on a CUDA machine
    python benchmarks/gpu_torch.py --device cpu --dtype fp32 --size 64    # smoke run anywhere

What is timed: the fused generator (``InferenceUNet``, the exported decoder form) on a float
image + mask of ``--size``², i.e. the convolutions and the mask path, without the uint8
pre/post-processing. With CUDA graphs the whole forward is captured once and replayed, so
the figure excludes Python and launch overhead. The peak is a best-of-N ``--peak-n``-cubed
matmul in the same dtype (tensor cores for FP16), so "% of peak" compares like with like.
ONNX Runtime is timed on the shipped FP32 ONNX when the installed onnxruntime has the CUDA
provider (``onnxruntime-gpu``); otherwise that row is skipped with the reason.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from edgefill.bench import check_report, first_paragraph, host_info
from edgefill.errors import InputError
from edgefill.fileio import atomic_write_bytes
from edgefill.overwrites import model_inputs

DTYPES = {"fp16": "float16", "fp32": "float32"}


def _sync(torch, device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def matmul_peak_gflops(torch, device: str, dtype, n: int, reps: int = 10) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    _sync(torch, device)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        _sync(torch, device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def time_generator(torch, net, size: int, device: str, dtype, reps: int, graphs: bool) -> list[float]:
    """Milliseconds per forward, ``reps`` samples (CUDA-graph replays when ``graphs``)."""
    image = torch.rand(1, 3, size, size, device=device, dtype=dtype) * 2 - 1
    valid = torch.ones(1, 1, size, size, device=device)
    valid[..., size // 4: size // 2, size // 4: 3 * size // 4] = 0
    image = image * valid.to(dtype)
    with torch.inference_mode():
        for _ in range(3):
            net(image, valid)
        _sync(torch, device)
        run = lambda: net(image, valid)  # noqa: E731
        if graphs:
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(3):
                    net(image, valid)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                net(image, valid)
            run = graph.replay
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            run()
            _sync(torch, device)
            times.append(1000 * (time.perf_counter() - t0))
    return times


def time_onnxruntime_cuda(model: str, size: int, reps: int) -> list[float] | str:
    """Milliseconds per call of the shipped FP32 ONNX on the CUDA provider, or why not."""
    try:
        import onnxruntime as ort
    except ImportError:
        return "onnxruntime is not installed"
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return "onnxruntime has no CUDAExecutionProvider here (install onnxruntime-gpu)"
    from edgefill.models import MODELS_DIR

    sess = ort.InferenceSession(str(MODELS_DIR / f"{model}.onnx"), providers=["CUDAExecutionProvider"])
    if sess.get_providers()[0] != "CUDAExecutionProvider":
        return f"the session fell back to {sess.get_providers()[0]}"
    rng = np.random.default_rng(0)
    feed = {"image": rng.integers(0, 256, (1, size, size, 3), np.uint8),
            "mask": np.zeros((1, size, size, 1), np.uint8)}
    feed["mask"][:, size // 4: size // 2, size // 4: 3 * size // 4] = 255
    for _ in range(5):
        sess.run(None, feed)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append(1000 * (time.perf_counter() - t0))
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=first_paragraph(__doc__))
    ap.add_argument("--models", default="nano,lite")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--dtype", default="fp16", choices=tuple(DTYPES))
    ap.add_argument("--no-graphs", action="store_true", help="time eager forwards (always on the CPU)")
    ap.add_argument("--form", default=None, help="decoder form (default: the export default)")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--peak-n", type=int, default=8192)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    models = [m for m in a.models.split(",") if m]
    if a.reps < 1 or a.peak_n < 1 or a.size < 1 or not models:
        print("--reps, --peak-n and --size must be >= 1, and --models must name a model", file=sys.stderr)
        return 2

    try:
        import torch
        from edgefill_export.onnx_export import DECODER_FORM
        from edgefill_export.subpixel import DECODER_FORMS, InferenceUNet, executed_macs
        from edgefill_export.weights import load_weights
    except ImportError as e:
        print(f"needs PyTorch and edgefill_export (pip install 'edgefill[export]'): {e}", file=sys.stderr)
        return 2

    from edgefill.models import MODELS_DIR

    if a.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: run with --device cpu --dtype fp32 for a smoke run", file=sys.stderr)
        return 2
    # found before the GPU work, not after it (or in the middle of a model's forward)
    if a.form is not None and a.form not in DECODER_FORMS:
        print(f"unknown --form {a.form!r}; known: {', '.join(DECODER_FORMS)}", file=sys.stderr)
        return 2
    for model in models:
        if not (MODELS_DIR / f"{model}.safetensors").is_file():
            known = sorted(p.stem for p in MODELS_DIR.glob("*.safetensors"))
            print(f"no shipped weights for model {model!r}; known: {', '.join(known)}", file=sys.stderr)
            return 2
        multiple = json.loads((MODELS_DIR / f"{model}.json").read_text())["multiple"]
        if a.size % multiple:
            print(f"--size {a.size} is not a multiple of {multiple}, which model {model} needs", file=sys.stderr)
            return 2
    if a.json:
        try:  # not over a model's weights, sidecar or ONNX file (model_inputs names all three), which are read here
            check_report(a.json, model_inputs(models))
        except InputError as e:
            print(e, file=sys.stderr)
            return 2
    dtype = getattr(torch, DTYPES[a.dtype])
    graphs = a.device == "cuda" and not a.no_graphs
    peak = matmul_peak_gflops(torch, a.device, dtype, a.peak_n)
    device_name = torch.cuda.get_device_name() if a.device == "cuda" else "cpu"
    rows = []
    for model in models:
        net = load_weights(MODELS_DIR / f"{model}.safetensors").eval()
        net.fuse()
        unet = InferenceUNet(net, a.form or DECODER_FORM).eval()
        macs = executed_macs(unet, a.size, a.size)
        unet = unet.to(a.device, dtype)
        ms = statistics.median(time_generator(torch, unet, a.size, a.device, dtype, a.reps, graphs))
        gflops = 2 * macs / (ms / 1000) / 1e9
        rows.append({"model": model, "runtime": f"pytorch-{a.dtype}{'-cudagraph' if graphs else ''}", "size": a.size,
                     "p50_ms": ms, "gflops": gflops, "percent_of_peak": 100 * gflops / peak, "executed_gmac": macs / 1e9})
        if a.device == "cuda":
            ort_times = time_onnxruntime_cuda(model, a.size, a.reps)
            if isinstance(ort_times, str):
                print(f"{model}: onnxruntime-cuda skipped: {ort_times}")
            else:
                ort_ms = statistics.median(ort_times)
                side = json.loads((MODELS_DIR / f"{model}.json").read_text())
                ort_gflops = 2 * side["conv_macs_per_input_pixel"] * a.size**2 / (ort_ms / 1000) / 1e9
                rows.append({"model": model, "runtime": "onnxruntime-cuda-fp32 (uint8 I/O graph)", "size": a.size,
                             "p50_ms": ort_ms, "gflops": ort_gflops, "percent_of_peak": None})
    print(f"{device_name}: {a.dtype} matmul peak {peak:.0f} GFLOP/s (n={a.peak_n})")
    print(f"{'model':6s} {'runtime':42s} {'size':>5s} {'p50 ms':>8s} {'GFLOP/s':>9s} {'% peak':>7s}")
    for r in rows:
        pct = f"{r['percent_of_peak']:7.1f}" if r["percent_of_peak"] is not None else "      -"
        print(f"{r['model']:6s} {r['runtime']:42s} {r['size']:5d} {r['p50_ms']:8.3f} {r['gflops']:9.1f} {pct}")
    if a.json:
        report = {"device": device_name, "dtype": a.dtype, "peak_gflops": peak, "peak_n": a.peak_n, "reps": a.reps,
                  "graphs": graphs, "form": a.form or DECODER_FORM, "torch": torch.__version__,
                  "cuda": torch.version.cuda if a.device == "cuda" else None, "host": host_info(), "results": rows}
        atomic_write_bytes(a.json, (json.dumps(report, indent=2) + "\n").encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
