"""``edgefill bench``: latency, throughput, memory and efficiency of models on this machine.

For every (model, backend, precision, size) it measures, after a warm-up, the latency of one
backend call on a size x size crop (p50/p90/p99, jitter = p99 - p50, throughput), the peak
RSS, and the full-pipeline breakdown (capture, preprocess, infer, postprocess) on synthetic
frames. The configurations of one size are timed round-robin (one call of each per round), so
that their ratios hold on a noisy or throttling machine. The machine's own peak per precision
is a large GEMM (numpy/BLAS for FP32, ONNX Runtime's MatMulInteger for INT8 when the onnx
package is present), timed in the same rounds: each model's achieved GFLOP/s (2 x executed
conv MACs / p50) is reported as a percentage of the GEMM's median GFLOP/s measured side by side
with it (a best-of-5 GEMM measured once is also printed, for the record).
That peak is a CPU product: rows that ran on a GPU (TensorRT, ONNX Runtime's CUDA provider)
report their GFLOP/s but no % of peak, which would compare a GPU with the CPU.
On a Jetson it records power and temperature from ``tegrastats`` and the ``nvpmodel`` mode;
on a Raspberry Pi the ``vcgencmd`` temperature and throttling flags.

Ctrl-C stops a run between two rounds: the rows measured so far are returned (a row's ``reps``
says how many timed calls it rests on) and ``environment.interrupted`` is true.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from . import maskgen
from .backends import create_backend, uses_model
from .backends.registry import available_class
from .checks import is_whole
from .errors import BackendUnavailableError, ConfigError, ModelError
from .imageio import MAX_PIXELS
from .models import read_manifest, resolve_model

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")
#: Side of the square GEMM whose throughput is the machine's peak.
GEMM_N = 2048
#: Pause after each round's GEMMs (see :func:`measure_size`).
GEMM_SETTLE_S = 0.1


@dataclass
class BenchResult:
    """One row of the table, and one object of the JSON's ``results``. Times are milliseconds of
    one backend call (``perf_counter``, warm-up left out); ``throughput_fps`` is 1000 / the mean
    latency (one call at a time, not a batched or pipelined rate); ``gflops`` is 2 x the model's
    conv MACs / p50 (None without a model); ``percent_of_peak`` is ``gflops`` over
    ``peak_gflops``, the median of the precision's CPU GEMM timed in the same rounds (None on a
    GPU); ``peak_rss_mb`` is this process's peak RSS so far, in MiB; ``stages_ms`` are the
    pipeline's per-frame medians; ``device`` is where the backend ran ("cpu", "cuda")."""

    model: str
    backend: str
    precision: str
    size: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    jitter_ms: float
    throughput_fps: float
    gflops: float | None
    percent_of_peak: float | None
    peak_rss_mb: float
    stages_ms: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    #: GFLOP/s of the precision's GEMM timed side by side with this row (the % of peak's base)
    peak_gflops: float | None = None
    #: timed calls the row rests on (fewer than asked when the run was interrupted)
    reps: int = 0


class BenchInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`measure_size`, after at least one complete round: ``results`` holds
    the rows computed from the rounds completed before it."""

    def __init__(self, results: list[BenchResult]):
        super().__init__()
        self.results = results


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (``ru_maxrss`` is in KiB on Linux
    but in bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0


def gemm_runner(precision: str = "fp32", n: int = 2048) -> Callable[[], object] | None:
    """A prepared n x n x n matrix product in ``precision`` on the CPU (numpy/BLAS for FP32 and
    FP16, ONNX Runtime's MatMulInteger for INT8), or None when it cannot run here."""
    rng = np.random.default_rng(0)
    if precision in ("fp32", "fp16"):
        a, b = rng.random((n, n), np.float32), rng.random((n, n), np.float32)
        return lambda: a @ b
    if precision == "int8":
        try:
            import onnxruntime as ort
            from onnx import TensorProto, helper
        except ImportError:
            return None
        g = helper.make_graph([helper.make_node("MatMulInteger", ["a", "b"], ["c"])], "g",
                              [helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n]),
                               helper.make_tensor_value_info("b", TensorProto.INT8, [n, n])],
                              [helper.make_tensor_value_info("c", TensorProto.INT32, [n, n])])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
        so = ort.SessionOptions()
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as the backend: no stolen cores
        sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
        feed = {"a": rng.integers(0, 255, (n, n), dtype=np.uint8), "b": rng.integers(-127, 127, (n, n), dtype=np.int8)}
        return lambda: sess.run(None, feed)
    return None


def gemm_peak_gflops(precision: str = "fp32", n: int = 2048, reps: int = 5) -> float | None:
    """Best-of-``reps`` GFLOP/s of an n x n x n matrix product in ``precision`` on the CPU."""
    run = gemm_runner(precision, n)
    if run is None:
        return None
    run()
    return 2 * n**3 / min(_timed(run) for _ in range(reps)) / 1e9


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def model_for(model: str, precision: str) -> str:
    """The file for a shipped model name at a precision (``lite`` + ``int8`` -> lite.int8.onnx;
    ``lite.int8`` + ``int8`` is that graph already)."""
    models = read_manifest().get("models", {})
    if precision == "fp32" or model not in models or model.endswith(f".{precision}"):
        return model
    name = f"{model}.{precision}"
    if name not in models:
        raise ModelError(f"no shipped {precision} version of {model!r}; export one with edgefill export --precision {precision}")
    return name


def conv_macs(model_spec: str, size: int) -> float | None:
    try:
        side = resolve_model(model_spec).sidecar
    except ModelError:
        return None
    per_px = side.get("conv_macs_per_input_pixel")
    return per_px * size * size if per_px else None


def synthetic(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return img, maskgen.free_form(size, size, rng, 0.2, 0.3)


def textured_scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth colour pattern (products of sines) with blurred noise: a stand-in for a camera
    frame in benchmarks that need image structure (flicker, the thin-hole refill), not noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([128 + 80 * np.sin(xx / 97 + c) * np.cos(yy / 71 - c) for c in range(3)], -1)
    tex = cv2.GaussianBlur(rng.normal(0, 25, (height, width, 3)).astype(np.float32), (0, 0), 2)
    return np.clip(base + tex, 0, 255).astype(np.uint8)


def measure_size(configs: list[tuple[str, str, str]], size: int, warmup: int, reps: int,
                 gemm_n: int = GEMM_N, check_sizes: list[int] | None = None,
                 profile: object = None) -> list[BenchResult]:
    """Time every (model, backend, precision) of ``configs`` on one size x size crop.

    All backends are opened and warmed up first; then the repetitions go round-robin, one call of
    each configuration per round, so that a noisy or throttling machine slows them alike and
    their ratios stay meaningful (a configuration timed a minute after another may see a
    different machine). The GEMM of each precision takes part in the rounds too: the peak a
    row's GFLOP/s is divided by is that GEMM's median, measured side by side with it.

    Once the backends are open, every size of ``check_sizes`` (default: ``size``) is checked
    against what each takes (its multiple, its largest side), so that a bad later size fails
    before anything is timed rather than after the earlier sizes were measured. A row reports
    the backend that actually ran (``auto`` resolved): a model's FLOPs are not credited to the
    OpenCV fallback. Ctrl-C after a complete round raises :class:`BenchInterrupted` with the
    rows of the completed rounds."""
    img, mask = synthetic(size)
    gemms: dict[str, Callable[[], object]] = {}
    gemm_times: dict[str, list[float]] = {}
    opened: list[tuple[str, str, str, str | None, object]] = []
    times: list[list[float]] = []
    devices: list[str] = []
    interrupted = False
    try:
        for model, backend, precision in configs:
            spec = model_for(model, precision) if uses_model(backend) else None
            be = create_backend(backend, model=spec, **_engine_options(backend, profile)) if spec \
                else create_backend(backend)
            if backend == "auto":  # report what ran; a classical fallback has no model or FLOPs
                backend = getattr(be, "name", "") or backend
                spec = spec if getattr(be, "uses_model", True) else None
            if spec:
                # a file or bundle runs its own precision, whatever --precision says: label the
                # row (and pick its GEMM peak) by what ran
                ran = be.input_info.precision
                if ran != precision and ran in PRECISIONS:
                    log.warning("%s runs in %s: its row says %s, not %s", model, ran, ran, precision)
                    precision = ran
            opened.append((model, backend, precision, spec, be))
        # The peaks are CPU GEMMs, for the precisions of CPU rows with a model only: timed for GPU
        # rows too, they took most of a round (and heated the SoC a Jetson's GPU shares), and were
        # thrown away. INT8 (ONNX Runtime, no spinning) first, the BLAS products last, before the pause.
        order = sorted({precision for _m, _b, precision, spec, be in opened
                        if spec and precision in PRECISIONS and be.input_info.device == "cpu"},
                       key=lambda p: (p != "int8", p))
        gemms = {p: run for p, run in ((p, gemm_runner(p, gemm_n)) for p in order) if run is not None}
        gemm_times = {p: [] for p in gemms}
        for _model, backend, _precision, spec, be in opened:
            _check_sizes(be, backend, spec, check_sizes or [size])
        for *_, be in opened:
            for _ in range(warmup):
                be.infer(img, mask)
        for run in gemms.values():
            run()
        times = [[] for _ in opened]
        for _ in range(reps):
            try:  # a round counts only when complete: every configuration and GEMM timed in it
                row = []
                for *_, be in opened:
                    t0 = time.perf_counter()
                    be.infer(img, mask)
                    row.append(time.perf_counter() - t0)
                gemm_row = {p: _timed(run) for p, run in gemms.items()}
                if gemms:
                    # BLAS worker threads busy-wait for up to ~0.1 s after a product: without the
                    # pause they take the cores from the next round's first model (measured: +65%).
                    time.sleep(GEMM_SETTLE_S)
            except KeyboardInterrupt:
                interrupted = True
                break
            for t, dt in zip(times, row):
                t.append(dt)
            for p, dt in gemm_row.items():
                gemm_times[p].append(dt)
    finally:
        for *_, be in opened:
            devices.append(be.input_info.device)
            be.close()
    if interrupted and not (times and times[0]):
        raise KeyboardInterrupt
    results = []
    for (model, backend, precision, spec, _), t, device in zip(opened, times, devices):
        ms = np.array(t) * 1000
        p50, p90, p99 = (float(x) for x in np.percentile(ms, [50, 90, 99]))
        macs = conv_macs(spec, size) if spec else None
        gflops = 2 * macs / (p50 / 1000) / 1e9 if macs else None
        # the peak is a CPU GEMM: a GPU row's share of it would be meaningless
        peak = 2 * gemm_n**3 / statistics.median(gemm_times[precision]) / 1e9 \
            if gemm_times.get(precision) and device == "cpu" else None
        stages = {}
        if not interrupted:
            try:
                stages = pipeline_stages(spec, backend, size, profile=profile)
            except KeyboardInterrupt:
                interrupted = True
        results.append(BenchResult(model if spec else "-", backend, precision if spec else "-", size, p50, p90, p99,
                                   p99 - p50, 1000 / statistics.mean(ms), gflops,
                                   100 * gflops / peak if gflops and peak else None, peak_rss_mb(), stages, device,
                                   peak if gflops else None, len(t)))
    if interrupted:
        raise BenchInterrupted(results)
    return results


def _check_sizes(be, backend: str, spec: str | None, sizes: list[int]) -> None:
    """Refuse a crop size the opened backend cannot take, naming the sizes it can."""
    info = be.input_info
    what = f"backend {backend!r}" + (f" with model {spec!r}" if spec else "")
    for s in sizes:
        if info.max_size is not None and s > info.max_size:
            raise ConfigError(f"size {s} is above {info.max_size}, the largest crop {what} takes")
        if s % info.multiple:
            lo, hi = s // info.multiple * info.multiple, -(-s // info.multiple) * info.multiple
            raise ConfigError(f"size {s} is not a multiple of {info.multiple}, as {what} needs "
                              f"(try {' or '.join(str(x) for x in (lo, hi) if x > 0)})")


def _engine_options(backend: str, profile: object) -> dict:
    """``profile=`` for a backend that builds engines with it (TensorRT, or ``auto``, which may
    pick it): the engine key and settings ``run --profile`` and ``build-engine --profile`` use."""
    return {"profile": profile} if profile is not None and backend in ("tensorrt", "auto") else {}


def pipeline_stages(spec: str | None, backend: str, size: int, frames: int = 12,
                    profile: object = None) -> dict[str, float]:
    """Median per-frame milliseconds of each pipeline stage on synthetic size x size frames
    (after one warm-up call of the inpainter). The whole frame is one size x size crop, as in the
    row's own timing: with the default buckets a 128 frame ran in a 256 crop, and a 640 frame in
    four tiles of up to 512, so the row's "infer" stage was another crop's time than its p50."""
    from .capture import CaptureOptions, FrameSource
    from .inpainter import Inpainter
    from .pipeline import Pipeline
    from .roi import RoiConfig
    from .sinks import CallbackSink

    img, mask = synthetic(size)  # the row's own frame and hole (a hole of another size: another Telea time)
    timings: list = []

    class Timed(Inpainter):
        """Records each call's timing in the inference thread, as the call ends: read from the
        sink thread, ``last_timing`` may already be a later frame's."""

        def inpaint(self, *args, **kwargs):
            out = super().inpaint(*args, **kwargs)
            timings.append(self.last_timing)
            return out

    class Frames(FrameSource):
        def open(self):
            self.i = 0

        def read(self):
            self.i += 1
            return img.copy() if self.i <= frames else None

    one_crop = RoiConfig(buckets=(size,), margin=0)  # the frame is the crop: no context to add around it
    inp = Timed(model=spec, backend=backend, roi_config=one_crop, **_engine_options(backend, profile)) if spec \
        else Timed(backend=backend, roi_config=one_crop)
    try:
        inp.inpaint(img, mask)  # warm-up, left out
        timings.clear()
        pipe = Pipeline(Frames("memory://bench", CaptureOptions()), mask, [CallbackSink(lambda r: None)],
                        inpainter=inp, stabilize=False)
        stats = pipe.run()
    finally:  # Ctrl-C or a failure: the backend (a TensorRT context, say) is released all the same
        inp.close()
    med = lambda xs: 1000 * float(np.median(xs)) if xs else 0.0  # noqa: E731
    return {"capture": stats.stages["capture"]["p50_ms"], "preprocess": med([t.pre for t in timings]),
            "infer": med([t.infer for t in timings]), "postprocess": med([t.post for t in timings]),
            "sink": stats.stages["sink"]["p50_ms"]}


class Telemetry:
    """Power / temperature from tegrastats (Jetson) or vcgencmd (Raspberry Pi) during a run."""

    def __init__(self):
        self.samples: list[str] = []
        self.proc = None
        self.kind = "tegrastats" if shutil.which("tegrastats") else "vcgencmd" if shutil.which("vcgencmd") else None
        self._stop = threading.Event()
        self._thread = None

    def start(self) -> None:
        if self.kind == "tegrastats":
            self.proc = subprocess.Popen(["tegrastats", "--interval", "500"], stdout=subprocess.PIPE, text=True)
            self._thread = threading.Thread(target=lambda: self.samples.extend(iter(self.proc.stdout.readline, "")),
                                            daemon=True)
            self._thread.start()
        elif self.kind == "vcgencmd":
            def poll():
                while not self._stop.wait(0.5):
                    out = subprocess.run(["vcgencmd", "measure_temp"], capture_output=True, text=True).stdout
                    thr = subprocess.run(["vcgencmd", "get_throttled"], capture_output=True, text=True).stdout
                    self.samples.append(out.strip() + " " + thr.strip())
            self._thread = threading.Thread(target=poll, daemon=True)
            self._thread.start()

    def stop(self) -> dict:
        self._stop.set()
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=2)
        return summarize_telemetry(self.kind, self.samples)


def _power_mode() -> str | None:
    """The Jetson's power mode as ``nvpmodel -q`` names it (``MAXN``, ``15W``): its "NV Power
    Mode:" line (the first line, which was recorded, is "NV Fan Mode:quiet" on Xavier and Orin)."""
    if not shutil.which("nvpmodel"):
        return None
    try:
        out = subprocess.run(["nvpmodel", "-q"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"NV Power Mode:\s*(.+)", out)
    return m.group(1).strip() if m else None


def summarize_telemetry(kind: str | None, lines: list[str]) -> dict:
    if kind == "tegrastats":
        # "VDD_IN 6120mW/6120mW" (JetPack 5+), "VDD_IN 5297/5297" (JetPack 4: TX2, Xavier),
        # "POM_5V_IN 2100/2100" (Nano); the GPU temperature is "GPU@" before JetPack 6, "gpu@" in it
        power, power_source = _board_power(lines)
        gpu_t = [float(m) for ln in lines for m in re.findall(r"\bGPU@([\d.]+)C", ln, re.IGNORECASE)]
        mode = _power_mode()
        return {"source": "tegrastats", "samples": len(lines), "power_mw_mean": float(np.mean(power)) if power else None,
                "power_mw_max": max(power) if power else None, "power_source": power_source,
                "gpu_temp_c_max": max(gpu_t) if gpu_t else None, "nvpmodel": mode}
    if kind == "vcgencmd":
        temps = [float(m) for ln in lines for m in re.findall(r"temp=([\d.]+)", ln)]
        throttled = [m for ln in lines for m in re.findall(r"throttled=(0x[0-9a-fA-F]+)", ln)]
        return {"source": "vcgencmd", "samples": len(lines), "temp_c_max": max(temps) if temps else None,
                "throttled": sorted(set(throttled))}
    return {"source": None}


#: a tegrastats power rail: "NAME current/average", in mW ("VDD_GPU_SOC 2390mW/2390mW", JetPack 5+)
#: or bare numbers ("GPU 0/0", JetPack 4); not RAM or SWAP ("RAM 2403/30536MB")
_RAIL = re.compile(r"\b([A-Z][A-Z0-9_]*) (\d+)(?:mW)?/(\d+)(?:mW)?(?=\s|$)")


def _board_power(lines: list[str]) -> tuple[list[int], str | None]:
    """Per tegrastats line, the board's input power in mW, and where it comes from: the input
    rail where the board reports one (VDD_IN, JetPack 5+ and the Xavier NX; POM_5V_IN, Nano),
    else the sum of every rail (AGX Orin: VDD_GPU_SOC, VDD_CPU_CV, VIN_SYS_5V0, ...; AGX Xavier:
    GPU, CPU, SOC, CV, VDDRQ, SYS5V), which reported no power at all before."""
    for rail in ("VDD_IN", "POM_5V_IN"):
        power = [int(cur) for ln in lines for name, cur, _ in _RAIL.findall(ln) if name == rail]
        if power:
            return power, rail
    sums = [sum(int(cur) for _, cur, _ in rails) for rails in (_RAIL.findall(ln) for ln in lines) if rails]
    return sums, ("sum of rails" if sums else None)


def _listed(value: object, what: str, item: Callable[[object], bool], kind: str) -> list:
    """``value`` as a list: one item on its own (``"nano"``, ``256``, a ``Path``) is a list of one (a
    str was taken letter by letter: "unknown model 'n'"); ConfigError for an item that is not ``kind``."""
    values = [value] if isinstance(value, (str, os.PathLike)) or item(value) else value
    try:
        values = list(values)
    except TypeError:
        raise ConfigError(f"{what} must be a list of {kind}, got {value!r}") from None
    bad = [v for v in values if not item(v)]
    if bad:
        raise ConfigError(f"{what} must be {kind}, got {bad[0]!r}")
    # numpy integers as ints: they passed is_whole, and to_json failed on them after the whole run
    return [os.fspath(v) if isinstance(v, os.PathLike) else int(v) if isinstance(v, np.integer) else v for v in values]


def run_bench(models: list[str], backends: list[str], precisions: list[str], sizes: list[int], warmup: int = 5,
              reps: int = 30, profile: object = None) -> tuple[list[BenchResult], dict]:
    """Measure every (model, backend, precision) at every crop size (see the module's docstring);
    returns the rows (a :class:`BenchResult` each) and the environment, which :func:`table`,
    :func:`to_json` and :func:`plot` take. Each of ``models``, ``backends``, ``precisions`` and
    ``sizes`` is a list, or one item (``"nano"``, ``256``); classical backends ignore the models
    and precisions. Bad arguments, and arguments that leave nothing to measure, are a
    :class:`ConfigError` before anything is loaded. ``profile`` (a :class:`DeviceProfile`) goes to
    the TensorRT backend, which builds (or finds) the engine ``build-engine --profile`` builds."""
    is_name = lambda v: isinstance(v, str) and bool(v)  # noqa: E731
    models = _listed(models, "models", lambda v: is_name(v) or isinstance(v, os.PathLike), "model names or paths")
    backends = _listed(backends, "backends", is_name, "backend names")
    precisions = _listed(precisions, "precisions", is_name, f"precisions ({', '.join(PRECISIONS)})")
    sizes = _listed(sizes, "sizes", is_whole, "whole numbers of pixels")
    if not (backends and sizes):
        raise ConfigError(f"nothing to measure: give at least one backend and one size (got backends {backends}, "
                          f"sizes {sizes})")
    for p in precisions:
        if p not in PRECISIONS:
            raise ConfigError(f"unknown precision {p!r}")
    if not (is_whole(reps) and is_whole(warmup)):
        raise ConfigError(f"reps and warm-up must be whole numbers, got reps {reps!r}, warm-up {warmup!r}")
    reps, warmup = int(reps), int(warmup)  # numpy integers pass is_whole; JSON takes ints
    if reps < 1 or warmup < 0 or any(s < 1 for s in sizes):
        raise ConfigError(f"reps must be >= 1, warm-up >= 0 and sizes >= 1 (got reps {reps}, warm-up {warmup}, "
                          f"sizes {sizes})")
    side = int(MAX_PIXELS**0.5)
    if any(s > side for s in sizes):  # a 100000 crop would ask for 30 GB before the first call
        raise ConfigError(f"sizes must be <= {side} (a {side}x{side} crop is the {MAX_PIXELS}-pixel limit of the "
                          f"frames edgefill reads); got {max(sizes)}")
    # a size, model, backend or precision given twice is measured (and reported) once: twice gave
    # identical rows, timed again and again
    sizes, models, backends, precisions = (list(dict.fromkeys(v)) for v in (sizes, models, backends, precisions))
    configs = []
    graphs: set[tuple[str, str]] = set()
    for backend in backends:  # an unknown or unavailable backend fails here, not after the GEMMs
        cls = available_class(backend) if backend != "auto" else None
        learned = uses_model(backend)
        for model in (models if learned else ["-"]):
            for precision in (precisions if learned else ["-"]):
                if learned:
                    spec = model_for(model, precision)
                    if (spec, backend) in graphs:  # nano.int8 (or a bundle) at fp32 and int8: one graph, timed twice
                        continue
                    graphs.add((spec, backend))
                    if cls is not None:  # tensorrt given a shipped name (bench --profile orin-nano); installed:
                        fit = cls.accepts_model(spec)  # no "(install edgefill[trt])" hint
                        if not fit:
                            raise BackendUnavailableError(backend, fit.reason)
                configs.append((model, backend, precision))
    if not configs:  # run_bench(models=[], ...): an empty table, as if measured
        raise ConfigError(f"nothing to measure: {', '.join(backends)} need{'s' if len(backends) == 1 else ''} at least "
                          f"one model and one precision (got models {models}, precisions {precisions})")
    peaks = {p: gemm_peak_gflops(p) for p in precisions}  # best of 5, for the record
    tele = Telemetry()
    tele.start()
    by_size: dict[int, list[BenchResult]] = {}
    interrupted = False
    try:
        for size in sizes:  # each checks all the sizes against its opened backends, before timing
            by_size[size] = measure_size(configs, size, warmup, reps, check_sizes=sizes, profile=profile)
    except BenchInterrupted as exc:  # Ctrl-C: keep what was measured
        by_size[size] = exc.results
        interrupted = True
    except KeyboardInterrupt:
        if not by_size:
            raise
        interrupted = True
    finally:
        telemetry = tele.stop()
    results = [by_size[size][i] for i in range(len(configs)) for size in sizes if size in by_size]
    return results, {"gemm_peak_gflops": peaks, "telemetry": telemetry, "warmup": warmup, "reps": reps,
                     "interrupted": interrupted, "host": host_info()}


def host_info() -> dict:
    """The machine and software the figures were measured on, for the JSON report."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    versions = {"numpy": np.__version__, "opencv": cv2.__version__}
    try:
        import onnxruntime

        versions["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    cpu = platform.processor() or platform.machine()
    try:  # Linux: the CPU's own name (on ARM boards often a generic one: the board's name says more)
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.lower().startswith(("model name", "hardware")))
    except (OSError, StopIteration):
        pass
    try:  # a Jetson's or a Raspberry Pi's board name
        board = Path("/proc/device-tree/model").read_text().strip("\0\n ") or None
    except OSError:
        board = None
    return {"platform": platform.platform(), "cpu": cpu, "board": board, "cpus": os.cpu_count(),
            "cpus_usable": usable, "python": platform.python_version(), **versions}


def check_report(path: Path, inputs: list[tuple[Path, str]] = ()) -> None:
    """A benchmark's ``--json PATH``, checked before the run: writable, and none of the files the
    run reads (``inputs``: :func:`edgefill.overwrites.model_inputs`, an image, a photo pack),
    which a report written over them replaced. An :class:`~edgefill.errors.InputError` otherwise."""
    from .overwrites import refuse_overwrites
    from .sinks.files import check_can_write

    refuse_overwrites(inputs, [(path, "--json")])
    check_can_write(path, "the JSON report")


def first_paragraph(doc: str | None) -> str:
    """A module docstring's first paragraph as one line: a benchmark's ``--help`` description
    (the first line alone stopped mid-sentence)."""
    return " ".join((doc or "").split("\n\n")[0].split())


def host_line(host: dict) -> str:
    """The machine of :func:`host_info` in one line, as every benchmark prints it."""
    return f"host: {host['board'] or host['platform']}, {host['cpu']}, {host['cpus_usable']} of {host['cpus']} CPUs usable"


def table(results: list[BenchResult], env: dict) -> str:
    mw = max([7, *(len(r.model) for r in results)])  # lite-surface.int8 or a path: the columns stay aligned
    bw = max([13, *(len(r.backend) for r in results)])
    head = (f"{'model':{mw}s} {'backend':{bw}s} {'prec':5s} {'size':>5s} {'p50 ms':>8s} {'p90 ms':>8s} {'p99 ms':>8s} "
            f"{'jitter':>7s} {'fps':>7s} {'GFLOP/s':>8s} {'% peak':>7s} {'RSS MB':>7s}  stages p50 ms (cap/pre/inf/post)")
    rows = [head, "-" * len(head)]
    for r in results:
        st = r.stages_ms
        rows.append(f"{r.model:{mw}s} {r.backend:{bw}s} {r.precision:5s} {r.size:5d} {r.p50_ms:8.1f} {r.p90_ms:8.1f} "
                    f"{r.p99_ms:8.1f} {r.jitter_ms:7.1f} {r.throughput_fps:7.1f} "
                    f"{(f'{r.gflops:8.1f}' if r.gflops else '       -')} "
                    f"{(f'{r.percent_of_peak:7.1f}' if r.percent_of_peak else '      -')} {r.peak_rss_mb:7.0f}  "
                    + (f"{st.get('capture', 0):.1f}/{st.get('preprocess', 0):.1f}/{st.get('infer', 0):.1f}/"
                       f"{st.get('postprocess', 0):.1f}" if st else "-  (not measured)"))
    # numpy has no fast FP16 product: an fp16 row's peak is the FP32 GEMM (gemm_runner), and says so
    # an INT8 GEMM needs the onnx package (edgefill[export]), which a board seldom has: said, not "-" alone
    peaks = ", ".join(f"{k}{' (an FP32 GEMM)' if k == 'fp16' else ''} {v:.0f} GFLOP/s" if v else
                      f"{k} n/a{' (needs the onnx and onnxruntime packages)' if k == 'int8' else ''}"
                      for k, v in env["gemm_peak_gflops"].items())
    side = ", ".join(sorted({f"{r.precision} {r.size}: {r.peak_gflops:.0f}" for r in results if r.peak_gflops}))
    rows.append(f"machine GEMM peak (best of 5, once): {peaks or 'n/a'}; % peak uses the GEMM's median timed "
                f"side by side: {side or 'n/a'}; telemetry: {env['telemetry'].get('source') or 'none'}")
    host = env.get("host")
    if host:
        rows.append(f"{host_line(host)}; {env['reps']} timed calls after {env['warmup']} warm-up; RSS MB: "
                    "the process's peak so far (a size's configurations are loaded together), not one row's own")
    if env.get("interrupted"):
        lo, hi = min(r.reps for r in results), max(r.reps for r in results)
        rows.append(f"INTERRUPTED (Ctrl-C): the rows above rest on {lo if lo == hi else f'{lo}-{hi}'} timed calls "
                    f"each ({env['reps']} asked); sizes not reached are missing, and the interrupted size's "
                    "stages were not measured")
    return "\n".join(rows)


def plot(results: list[BenchResult], path: Path) -> None:
    """Latency (p50) against size, one line per (model, backend, precision)."""
    from .imageio import write_image
    from .plot import line_chart

    series: dict[str, dict[str, float]] = {}
    for r in results:
        series.setdefault(f"{r.model} {r.backend} {r.precision}", {})[str(r.size)] = r.p50_ms
    sizes = [str(s) for s in sorted({r.size for r in results})]
    write_image(path, line_chart(series, sizes, "p50 latency (ms) vs crop size (px)"))


def to_json(results: list[BenchResult], env: dict) -> str:
    return json.dumps({"environment": env, "results": [asdict(r) for r in results]}, indent=2)

