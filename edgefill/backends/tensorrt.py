"""TensorRT backend (TensorRT 8.2 - 10.x with pycuda), for Jetson boards and NVIDIA GPUs.

``model`` is an export bundle folder (``edgefill export --profile BOARD``) or an
``.engine`` file with its JSON sidecar. From a bundle, the engine for this device is
taken from ``BUNDLE/engines/`` when its cache key matches, otherwise built once.
An engine file whose sidecar names another TensorRT version or GPU is rebuilt from the
bundle's ONNX when the bundle is there, and refused with a clear message otherwise (in
``auto`` mode the next backend is used).

Per optimisation profile (shape bucket) there is one execution context, with page-locked
host buffers and device buffers sized for the bucket; inference copies in and out
asynchronously on one CUDA stream. A crop smaller than its profile's minimum shape (a
static DLA profile, or a crop below the smallest bucket) is padded up to it and the
output cropped back. Version differences live in :mod:`edgefill.trt.compat`.

CUDA context: the backend uses the GPU's *primary* context (the one TensorRT's runtime API
uses too) and makes it current around every call into CUDA, so ``infer`` works from any
thread: :class:`~edgefill.Pipeline` runs inference on its own thread, where
``pycuda.autoinit`` (current only in the importing thread) fails with "invalid device
context". The primary context is retained once per process and never detached: the CUDA
runtime that TensorRT uses holds it for the life of the process anyway, and pycuda's
``detach()`` of a primary context releases it without popping it (it stayed current on the
thread that closed the backend, under the application's own context) or, from another thread
(a Pipeline's), releases nothing (pycuda's src/cpp/cuda.hpp).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import BackendUnavailableError, EngineBuildError, InferenceError, ModelError, ShapeError
from ..refill_settings import recorded_settings
from ..roi import pad_pair
from ..trt import compat
from .base import Availability, Backend, InputInfo
from .registry import register_backend

log = logging.getLogger(__name__)


_PRIMARY: list = []  # [(pycuda.driver, its retained primary context)]: one retain per process
_PRIMARY_LOCK = threading.Lock()


def _import_pycuda():
    """pycuda's driver module and the device's primary context (retained once per process, not
    made current; see the module's docstring)."""
    try:
        import pycuda.driver as cuda
    except ImportError as exc:
        raise BackendUnavailableError("tensorrt", f"pycuda cannot be imported ({exc})", "trt") from exc
    with _PRIMARY_LOCK:
        if _PRIMARY and _PRIMARY[0][0] is cuda:
            return _PRIMARY[0]
        try:
            cuda.init()
            context = cuda.Device(0).retain_primary_context()
        except Exception as exc:  # pycuda raises its own LogicError/RuntimeError when there is no GPU
            raise BackendUnavailableError("tensorrt", f"no usable CUDA device ({exc})") from exc
        _PRIMARY[:] = [(cuda, context)]
        return cuda, context


@dataclass
class _Slot:
    """One optimisation profile: its index, shape range (H, W), context and buffers."""

    index: int
    min_hw: tuple
    max_hw: tuple
    context: object
    host: dict
    device: dict

    def takes(self, h: int, w: int) -> bool:
        return self.max_hw[0] >= h and self.max_hw[1] >= w


@register_backend("tensorrt", priority=100)
class TensorRTBackend(Backend):
    name = "tensorrt"
    uses_model = True
    extra = "trt"

    def __init__(self, model: str | Path = "", profile: object = None, rebuild: bool = True, **unused: object):
        super().__init__()
        path = Path(str(model))
        fit = self.accepts_model(model)
        if not fit:
            raise BackendUnavailableError("tensorrt", fit.reason)
        if path.suffix == ".engine":
            verify_engine_file(path)  # before TensorRT sees a single byte of it
        self.trt = compat.import_trt()
        self.cuda, self.cuda_context = _import_pycuda()
        self.slots: list[_Slot] = []
        try:
            with self._current(loading=True):
                self._load(path, profile, rebuild)
        except BaseException:
            # a load that fails part-way (an execution context out of memory, a refused DLA core)
            # frees what it allocated (the primary context stays, as always): `auto` goes on to the
            # next backend in this process, which needs that memory (shared with the CPU on a Jetson)
            self.close()
            raise

    @contextlib.contextmanager
    def _current(self, loading: bool = False) -> Iterator[None]:
        """The primary context made current on the calling thread for the block; CUDA errors
        in it become :class:`InferenceError`, or while ``loading`` (no device or page-locked
        memory left for the buffers) :class:`BackendUnavailableError`, which ``auto`` answers
        with the next backend as it does an execution context that does not fit."""
        self.cuda_context.push()
        try:
            yield
        except self.cuda.Error as exc:
            if loading:
                raise BackendUnavailableError("tensorrt", f"CUDA error while loading the engine: {exc}") from exc
            raise InferenceError(f"CUDA error in the TensorRT backend: {exc}") from exc
        finally:
            self.cuda.Context.pop()

    def _load(self, path: Path, profile: object, rebuild: bool) -> None:
        from ..trt.build import build_for_bundle, device_facts, stale_facts

        cuda, trt = self.cuda, self.trt
        if path.is_dir():
            engine_path = _built(build_for_bundle, path, profile)
        else:
            engine_path = path
            side = _read_sidecar(engine_path)
            facts = device_facts()
            stale = stale_facts(side, facts)
            if stale:
                msg = (f"{engine_path} was built for " + ", ".join(f"{k} {side.get(k)}" for k in stale)
                       + "; this device has " + ", ".join(f"{k} {facts[k]}" for k in stale))
                bundle = engine_path.parent.parent
                if rebuild and (bundle / "bundle.json").is_file():
                    log.warning("%s; rebuilding from %s", msg, bundle)
                    engine_path = _built(build_for_bundle, bundle, profile)
                else:
                    raise BackendUnavailableError("tensorrt", msg + "; rebuild it with edgefill build-engine")
        self.engine_path = engine_path
        self.sidecar = verify_engine_file(engine_path)
        runtime = trt.Runtime(compat.logger(trt))
        built = self.sidecar.get("config") or {}
        if built.get("use_dla"):
            # The DLA core an engine runs on is the runtime's (IRuntime::setDLACore, default -1),
            # not the one it was built for: without this every engine runs on DLA core 0.
            core = int(built.get("dla_core", 0))
            if not 0 <= core < runtime.num_DLA_cores:
                raise BackendUnavailableError("tensorrt", f"{engine_path} runs on DLA core {core}, but this device has "
                                              f"{runtime.num_DLA_cores} DLA cores")
            runtime.DLA_core = core
        self.engine = runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if self.engine is None:
            raise ModelError(f"TensorRT could not deserialize {engine_path} (corrupt, or built by another version)")
        self.stream = cuda.Stream()
        self.tensors = compat.io_tensors(trt, self.engine)
        names = {n for n, _, _ in self.tensors}
        if names != {"image", "mask", "output"}:
            raise ModelError(f"{engine_path} is not an edgefill engine (tensors {sorted(names)})")
        self.dtypes = _io_dtypes(trt, self.tensors, engine_path)
        for k in range(self.engine.num_optimization_profiles):
            lo, _, hi = compat.profile_shapes(trt, self.engine, "image", k)
            ctx = self.engine.create_execution_context()
            if ctx is None:  # TensorRT logs the reason (usually OutOfMemory) and returns None
                raise BackendUnavailableError(
                    "tensorrt", f"TensorRT could not create an execution context for profile {k} of {engine_path} "
                    "(out of GPU memory? see TensorRT's log above; lower the workspace or the buckets)")
            if not ctx.set_optimization_profile_async(k, self.stream.handle):
                raise ModelError(f"TensorRT refused optimisation profile {k} of {engine_path}")
            host, dev = {}, {}
            self.slots.append(_Slot(k, (lo[1], lo[2]), (hi[1], hi[2]), ctx, host, dev))  # close() frees it
            for name, ch in (("image", 3), ("mask", 1), ("output", 3)):
                host[name] = cuda.pagelocked_empty(hi[1] * hi[2] * ch, self.dtypes[name])
                dev[name] = cuda.mem_alloc(host[name].nbytes)
        self.stream.synchronize()
        self.slots.sort(key=lambda s: s.max_hw[0] * s.max_hw[1])
        self.multiple = int(self.sidecar.get("multiple", 64))
        self.refill = recorded_settings(self.sidecar, engine_path.with_suffix(".json"))
        log.info("tensorrt: %s, %d profiles, TensorRT %s", engine_path.name, len(self.slots), trt.__version__)

    @classmethod
    def accepts_model(cls, model: object) -> Availability:
        """An ``.engine`` file, or an export bundle with a TensorRT part. A shipped model name is
        the shipped ONNX on every backend, never a folder of that name (a ``./lite`` bundle
        ran here while ONNX Runtime, after a failed build, ran the shipped lite); a bundle
        exported without a TensorRT profile (x86-cpu, rpi5, none) is ONNX Runtime's to run."""
        from ..models import read_manifest

        spec = str(model)
        path = Path(spec)
        shipped = spec in read_manifest().get("models", {})
        if path.suffix == ".engine" and not shipped:
            return Availability(True)
        if path.is_dir() and (path / "bundle.json").is_file() and not shipped:
            try:
                has_trt = bool(json.loads((path / "bundle.json").read_text(encoding="utf-8")).get("tensorrt"))
            except (OSError, UnicodeDecodeError, ValueError, AttributeError):
                return Availability(True)  # a damaged bundle: loading it says what is wrong
            if has_trt:
                return Availability(True)
            return Availability(False, f"{spec} was exported without a TensorRT profile, so it has no TensorRT "
                                       "graph (ONNX Runtime runs it; edgefill export --profile BOARD makes one)")
        return Availability(False, f"needs an export bundle or an .engine file, not {model!r} "
                                   "(make one with: edgefill export --profile BOARD -o BUNDLE)")

    @classmethod
    def is_available(cls) -> Availability:
        for mod, extra in (("tensorrt", "comes with JetPack"), ("pycuda", "pip install edgefill[trt]")):
            if importlib.util.find_spec(mod) is None:
                return Availability(False, f"{mod} is not installed ({extra})")
        return Availability(True)

    @property
    def input_info(self) -> InputInfo:
        return InputInfo(multiple=self.multiple, precision=str(self.sidecar.get("config", {}).get("precision", "?")),
                         device="cuda", buckets=tuple(sorted({max(s.max_hw) for s in self.slots})),
                         max_size=max(max(s.max_hw) for s in self.slots))

    def _infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        h, w = mask.shape
        slot = next((s for s in self.slots if s.takes(h, w)), None)
        if slot is None:
            largest = self.slots[-1].max_hw
            raise ShapeError(f"the crop (this engine takes at most {largest[1]}x{largest[0]})", (h, w), largest)
        ph, pw = max(h, slot.min_hw[0]), max(w, slot.min_hw[1])
        if (ph, pw) != (h, w):  # below the profile's minimum: pad as the ROI planner does
            image, mask = pad_pair(image, mask, ph, pw)
        with self._current():
            out = self._run(slot, image, mask)
        return out[:h, :w].copy() if out.dtype == np.uint8 else np.clip(out[:h, :w], 0, 255).astype(np.uint8)

    def _run(self, slot: _Slot, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        h, w = mask.shape
        cuda, trt, host, dev = self.cuda, self.trt, slot.host, slot.device
        img_view = host["image"][: h * w * 3].reshape(1, h, w, 3)
        msk_view = host["mask"][: h * w].reshape(1, h, w, 1)
        np.copyto(img_view, image[None], casting="unsafe")
        np.copyto(msk_view, mask[None, :, :, None], casting="unsafe")
        for name, shape in (("image", (1, h, w, 3)), ("mask", (1, h, w, 1))):
            if not compat.set_input_shape(trt, self.engine, slot.context, name, shape, slot.index):
                raise ShapeError(f"the crop (TensorRT refused the {name} shape for profile {slot.index})",
                                 (h, w), slot.max_hw)
        cuda.memcpy_htod_async(dev["image"], img_view, self.stream)
        cuda.memcpy_htod_async(dev["mask"], msk_view, self.stream)
        compat.execute(trt, self.engine, slot.context, {n: int(d) for n, d in dev.items()}, slot.index,
                       self.stream.handle)
        out_view = host["output"][: h * w * 3].reshape(1, h, w, 3)
        cuda.memcpy_dtoh_async(out_view, dev["output"], self.stream)
        self.stream.synchronize()
        return out_view[0]

    def close(self) -> None:
        with self._infer_lock:  # an inference in flight on another thread finishes before its buffers go
            super().close()
            slots, self.slots = getattr(self, "slots", []), []
            context, self.cuda_context = getattr(self, "cuda_context", None), None
            if context is None:
                return
            context.push()
            try:  # TensorRT's objects go before the context they live in
                for slot in slots:
                    slot.context = None
                    for d in slot.device.values():
                        d.free()
                    # freed here, in the context (pycuda frees page-locked memory and destroys a
                    # stream only in a live one), not whenever the garbage collector gets to them
                    for h in slot.host.values():
                        h.base.free()
                self.engine = self.stream = None
            finally:
                self.cuda.Context.pop()
            # the primary context itself is kept: see the module's docstring


_TAKES = (np.dtype(np.uint8), np.dtype(np.float16), np.dtype(np.float32))


def _built(build, bundle: Path, profile: object) -> Path:
    """The engine ``build(bundle, profile)`` builds, a build that fails on this device (the ONNX
    does not parse, no fast INT8 on this GPU, out of memory, a TensorRT that edgefill does not
    build with: :class:`EngineBuildError`) being a :class:`BackendUnavailableError`: ``auto``
    goes on to ONNX Runtime, which runs the bundle's ONNX, where the error ended the walk. A
    damaged or misconfigured bundle (a sha256 mismatch, no TensorRT profile) is still its own
    error: ONNX Runtime is not tried behind it."""
    try:
        return build(bundle, profile)
    except EngineBuildError as exc:
        raise BackendUnavailableError("tensorrt", f"no engine could be built from {bundle}: {exc}") from exc


def _io_dtypes(trt, tensors, engine_path: Path) -> dict:
    """The host dtype of each I/O tensor. An edgefill graph has uint8 pixels (or float ones, from
    an older export); any other type (an int64 or int32 image, say) is a foreign engine that the
    unsafe copy into its buffers would feed garbage, so it is refused here by name."""
    dtypes = {}
    for name, _, trt_dtype in tensors:
        try:
            dtype = np.dtype(compat.numpy_dtype(trt, trt_dtype))
        except TypeError:
            dtype = None
        if dtype is None or dtype not in _TAKES:
            raise ModelError(f"{engine_path} is not an edgefill engine: its {name!r} tensor is {trt_dtype}, "
                             "not uint8, float16 or float32")
        dtypes[name] = dtype
    return dtypes


def verify_engine_file(engine_path: Path) -> dict:
    """Check an engine against the sha256 and size in its sidecar; return the sidecar.
    A truncated or corrupted engine (a power cut mid-copy, a bad SD card) is refused here,
    before it is handed to TensorRT's deserializer."""
    from ..models import file_sha256

    if not engine_path.is_file():  # before the sidecar: "has no readable sidecar" hid a wrong path
        raise ModelError(f"engine {engine_path} does not exist")
    side = _read_sidecar(engine_path)
    if engine_path.stat().st_size != side.get("bytes") or file_sha256(engine_path) != side.get("engine_sha256"):
        raise ModelError(f"{engine_path} does not match the size/sha256 in its sidecar (truncated or corrupt); "
                         "rebuild it with edgefill build-engine")
    return side


def _read_sidecar(engine_path: Path) -> dict:
    side = engine_path.with_suffix(".json")
    try:
        data = json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{engine_path} has no readable sidecar {side.name}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != "edgefill-engine/1":
        raise ModelError(f"{side} is not an edgefill engine sidecar")
    multiple = data.get("multiple", 64)
    if not isinstance(multiple, int) or isinstance(multiple, bool) or multiple < 1:
        raise ModelError(f"{side}: 'multiple' must be a whole number >= 1, not {multiple!r}")
    return data
