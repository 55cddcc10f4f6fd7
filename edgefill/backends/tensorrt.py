"""TensorRT backend (TensorRT 8.2 - 10.x with pycuda), for Jetson boards and NVIDIA GPUs.

``model`` is an export bundle folder (``edgefill export --profile BOARD``) or an
``.engine`` file with its JSON sidecar. From a bundle, the engine for this device is
taken from ``BUNDLE/engines/`` when its cache key matches, otherwise built once.
An engine file whose sidecar names another TensorRT version or GPU is rebuilt from the
bundle's ONNX when the bundle is there, and refused with a clear message otherwise (in
``auto`` mode the next backend is used).

Per optimisation profile (shape bucket) there is one execution context, with page-locked
host buffers and device buffers sized for the bucket; inference copies in and out
asynchronously on one CUDA stream. Version differences live in :mod:`edgefill.trt.compat`.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import numpy as np

from ..errors import BackendUnavailableError, ModelError, ShapeError
from ..refill_settings import recorded_settings
from ..trt import compat
from .base import Availability, Backend, InputInfo
from .registry import register_backend

log = logging.getLogger(__name__)


def _import_pycuda():
    try:
        import pycuda.driver as cuda

        try:
            import pycuda.autoprimaryctx  # noqa: F401  (shares the primary context with other CUDA users)
        except ImportError:
            import pycuda.autoinit  # noqa: F401
    except ImportError as exc:
        raise BackendUnavailableError("tensorrt", f"pycuda cannot be imported ({exc})", "trt") from exc
    except Exception as exc:  # pycuda raises its own LogicError/RuntimeError when there is no GPU
        raise BackendUnavailableError("tensorrt", f"no usable CUDA device ({exc})", "trt") from exc
    return cuda


@register_backend("tensorrt", priority=100)
class TensorRTBackend(Backend):
    name = "tensorrt"
    uses_model = True
    extra = "trt"

    def __init__(self, model: str | Path = "", profile: object = None, rebuild: bool = True, **unused: object):
        super().__init__()
        path = Path(str(model))
        if not (path.is_dir() and (path / "bundle.json").is_file()) and path.suffix != ".engine":
            raise BackendUnavailableError(
                "tensorrt", f"needs an export bundle or an .engine file, not {model!r} "
                "(make one with: edgefill export --profile BOARD -o BUNDLE)", "trt")
        if path.suffix == ".engine":
            verify_engine_file(path)  # before TensorRT sees a single byte of it
        self.trt = compat.import_trt()
        cuda = _import_pycuda()
        self.cuda = cuda
        from ..trt.build import build_for_bundle, device_facts

        facts = device_facts()
        if path.is_dir():
            engine_path = build_for_bundle(path, profile)
        else:
            engine_path = path
            side = _read_sidecar(engine_path)
            stale = [k for k in ("tensorrt", "compute_capability") if side.get(k) != facts[k]]
            if stale:
                msg = (f"{engine_path} was built for TensorRT {side.get('tensorrt')} on sm {side.get('compute_capability')}, "
                       f"this is TensorRT {facts['tensorrt']} on sm {facts['compute_capability']}")
                bundle = engine_path.parent.parent
                if rebuild and (bundle / "bundle.json").is_file():
                    log.warning("%s; rebuilding from %s", msg, bundle)
                    engine_path = build_for_bundle(bundle, profile)
                else:
                    raise BackendUnavailableError("tensorrt", msg + "; rebuild it with edgefill build-engine", "trt")
        self.engine_path = engine_path
        self.sidecar = verify_engine_file(engine_path)
        runtime = self.trt.Runtime(self.trt.Logger(self.trt.Logger.WARNING))
        self.engine = runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if self.engine is None:
            raise ModelError(f"TensorRT could not deserialize {engine_path} (corrupt, or built by another version)")
        self.stream = cuda.Stream()
        self.tensors = compat.io_tensors(self.trt, self.engine)
        names = {n for n, _, _ in self.tensors}
        if names != {"image", "mask", "output"}:
            raise ModelError(f"{engine_path} is not an edgefill engine (tensors {sorted(names)})")
        self.dtypes = {n: np.dtype(compat.numpy_dtype(self.trt, d)) for n, _, d in self.tensors}
        self.slots = []  # per profile: (max_h, max_w, context, host buffers, device buffers)
        for k in range(self.engine.num_optimization_profiles):
            _, mh, mw, _ = compat.profile_max_shape(self.trt, self.engine, "image", k)
            ctx = self.engine.create_execution_context()
            ctx.set_optimization_profile_async(k, self.stream.handle)
            host, dev = {}, {}
            for name, ch in (("image", 3), ("mask", 1), ("output", 3)):
                n = mh * mw * ch
                host[name] = cuda.pagelocked_empty(n, self.dtypes[name])
                dev[name] = cuda.mem_alloc(host[name].nbytes)
            self.slots.append((mh, mw, ctx, host, dev))
        self.stream.synchronize()
        self.slots.sort(key=lambda s: s[0] * s[1])
        self.multiple = int(self.sidecar.get("multiple", 64))
        self.refill = recorded_settings(self.sidecar, engine_path.with_suffix(".json"))
        log.info("tensorrt: %s, %d profiles, TensorRT %s", engine_path.name, len(self.slots), self.trt.__version__)

    @classmethod
    def is_available(cls) -> Availability:
        for mod, extra in (("tensorrt", "comes with JetPack"), ("pycuda", "pip install edgefill[trt]")):
            if importlib.util.find_spec(mod) is None:
                return Availability(False, f"{mod} is not installed ({extra})")
        return Availability(True)

    @property
    def input_info(self) -> InputInfo:
        return InputInfo(multiple=self.multiple, precision=str(self.sidecar.get("config", {}).get("precision", "?")),
                         device="cuda")

    def _infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        h, w = mask.shape
        slot = next((s for s in self.slots if s[0] >= h and s[1] >= w), None)
        if slot is None:
            largest = self.slots[-1]
            raise ShapeError("the crop", (h, w), (largest[0], largest[1]))
        k = self.slots.index(slot)
        _, _, ctx, host, dev = slot
        cuda, trt = self.cuda, self.trt
        img_view = host["image"][: h * w * 3].reshape(1, h, w, 3)
        msk_view = host["mask"][: h * w].reshape(1, h, w, 1)
        np.copyto(img_view, image[None], casting="unsafe")
        np.copyto(msk_view, mask[None, :, :, None], casting="unsafe")
        compat.set_input_shape(trt, self.engine, ctx, "image", (1, h, w, 3), k)
        compat.set_input_shape(trt, self.engine, ctx, "mask", (1, h, w, 1), k)
        cuda.memcpy_htod_async(dev["image"], img_view, self.stream)
        cuda.memcpy_htod_async(dev["mask"], msk_view, self.stream)
        compat.execute(trt, self.engine, ctx, {n: int(d) for n, d in dev.items()}, k, self.stream.handle)
        out_view = host["output"][: h * w * 3].reshape(1, h, w, 3)
        cuda.memcpy_dtoh_async(out_view, dev["output"], self.stream)
        self.stream.synchronize()
        out = out_view[0]
        return out.copy() if out.dtype == np.uint8 else np.clip(out, 0, 255).astype(np.uint8)

    def close(self) -> None:
        for _, _, _, _, dev in getattr(self, "slots", []):
            for d in dev.values():
                d.free()
        self.slots = []
        super().close()


def verify_engine_file(engine_path: Path) -> dict:
    """Check an engine against the sha256 and size in its sidecar; return the sidecar.
    A truncated or corrupted engine (a power cut mid-copy, a bad SD card) is refused here,
    before it is handed to TensorRT's deserializer."""
    from ..models import file_sha256

    side = _read_sidecar(engine_path)
    if not engine_path.is_file():
        raise ModelError(f"engine {engine_path} does not exist")
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
    if data.get("format") != "edgefill-engine/1":
        raise ModelError(f"{side} is not an edgefill engine sidecar")
    return data
