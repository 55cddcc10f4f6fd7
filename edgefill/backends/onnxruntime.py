"""ONNX Runtime backend: CUDA when the GPU build and a GPU are present, else CPU.

The exported graph does its own pre- and post-processing: it takes the uint8
image (1, H, W, 3) and uint8 mask (1, H, W, 1) and returns the uint8 composited
image, so this module only binds arrays.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

import numpy as np

from ..checks import is_whole
from ..errors import BackendUnavailableError, ConfigError, InferenceError, ModelError
from ..models import ModelFile, check_multiple, resolve_model
from ..refill_settings import recorded_settings
from .base import Availability, Backend, InputInfo
from .registry import register_backend

log = logging.getLogger(__name__)

INPUTS = {"image": 4, "mask": 4}


def _import_ort():
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendUnavailableError("onnxruntime", f"onnxruntime cannot be imported ({exc})", "ort") from exc
    return ort


def _provider_list(providers: object) -> list:
    """``providers`` as ONNX Runtime's list: names, or (name, options) pairs such as
    ``("CUDAExecutionProvider", {"device_id": 1})``; else ConfigError (None or a number was a
    TypeError, and a pair was refused as a provider "not available here")."""
    entries = [providers] if isinstance(providers, str) else providers
    if not isinstance(entries, (list, tuple)) or not all(
            isinstance(p, str) or (isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str)
                                   and isinstance(p[1], dict)) for p in entries):
        raise ConfigError(f"providers must be \"auto\", a provider name or a list of names or (name, options) "
                          f"pairs, got {providers!r}")
    return list(entries)


@register_backend("onnxruntime", priority=50)
class OnnxRuntimeBackend(Backend):
    """Runs an edgefill ONNX model (a shipped name such as ``"lite"`` or a path).

    ``providers``: ``"auto"`` (CUDA where present, then CPU), a provider name, or a list of names
    or (name, options) pairs as ONNX Runtime takes them (``[("CUDAExecutionProvider",
    {"device_id": 1})]``); one this ONNX Runtime lacks is a :class:`ConfigError`.

    ``spin=True`` lets ONNX Runtime's threads busy-wait between runs (its own default): a
    little lower latency for back-to-back calls on an otherwise idle machine, at the cost of
    the CPU time every other thread needs."""

    name = "onnxruntime"
    uses_model = True
    extra = "ort"

    def __init__(self, model: str | Path = "lite", providers: str | list[str] = "auto", threads: int = 0,
                 spin: bool = False, **unused: object):
        super().__init__()
        ort = _import_ort()
        self.model: ModelFile = resolve_model(model)
        available = ort.get_available_providers()
        if providers == "auto":
            providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        providers = _provider_list(providers)
        names = [p if isinstance(p, str) else p[0] for p in providers]
        missing = [p for p in names if p not in available]
        if missing:
            raise ConfigError(f"ONNX Runtime providers {missing} are not available here (available: {available})")
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        most = max(64, 4 * (os.cpu_count() or 1))  # a typo of 100000 made ONNX Runtime exhaust the thread limit
        if not (is_whole(threads) and 0 <= threads <= most):
            raise ConfigError(f"threads must be a whole number from 0 (ONNX Runtime's choice) to {most}, got {threads!r}")
        if not isinstance(spin, bool):  # spin="false" turned spinning on
            raise ConfigError(f"spin must be True or False, got {spin!r}")
        if threads:
            so.intra_op_num_threads = threads
        so.log_severity_level = 3
        # ONNX Runtime's worker threads spin after each run by default. On a 2-4 core board the
        # spinning steals the cores from capture/encoding threads and from other sessions
        # (docs/performance.md: +-15% noise and wrong rankings when it was on).
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        try:
            self.session = ort.InferenceSession(str(self.model.path), so, providers=list(providers))
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
            raise ModelError(f"ONNX Runtime cannot load {self.model.path}: {str(exc).splitlines()[0][:300]}") from exc
        self._check_signature()
        meta = self.session.get_modelmeta().custom_metadata_map
        if "edgefill.multiple" not in meta:
            raise ModelError(f"{self.model.path} lacks the 'edgefill.multiple' metadata; export it with edgefill")
        self.multiple = check_multiple(meta["edgefill.multiple"], self.model.path)
        self.refill = recorded_settings(meta, self.model.path, prefix="edgefill.")
        # what the graph says it is, where nothing beside it says (a quantised graph copied out of its
        # bundle was labelled fp32, and bench divided its GFLOP/s by the FP32 GEMM)
        self.precision = self.model.sidecar.get("precision") or meta.get("edgefill.precision") or self.model.precision
        started = self.session.get_providers()
        dropped = [p for p in names if p not in started]
        if dropped:  # ONNX Runtime falls back quietly (a CUDA build without a GPU, cuDNN or memory)
            log.warning("onnxruntime: %s could not start; running on %s (ONNX Runtime's log says why at "
                        "log_severity_level 0)", ", ".join(dropped), ", ".join(started))
        self.provider = started[0]
        log.info("onnxruntime: %s on %s", self.model.path.name, self.provider)

    @classmethod
    def is_available(cls) -> Availability:
        if importlib.util.find_spec("onnxruntime") is None:
            return Availability(False, "onnxruntime is not installed (pip install edgefill[ort])")
        return Availability(True)

    def _check_signature(self) -> None:
        ins = {i.name: i for i in self.session.get_inputs()}
        outs = self.session.get_outputs()
        if set(ins) != set(INPUTS) or len(outs) != 1:
            raise ModelError(f"{self.model.path} is not an edgefill model: inputs {sorted(ins)}, "
                             f"{len(outs)} outputs (expected image, mask -> one output)")
        types = {node.type for node in ins.values()}
        for name, node in ins.items():
            if node.type not in ("tensor(uint8)", "tensor(float)") or len(node.shape) != INPUTS[name]:
                raise ModelError(f"{self.model.path}: input {name!r} is {node.type} {node.shape}, "
                                 "expected a rank-4 uint8 (or float32) tensor")
        if len(types) != 1:
            raise ModelError(f"{self.model.path}: inputs mix types {sorted(types)}")
        out = outs[0]
        if out.type != next(iter(types)) or len(out.shape) != 4:  # else cast quietly or a numpy traceback
            raise ModelError(f"{self.model.path}: output {out.name!r} is {out.type} {out.shape}, expected a rank-4 "
                             f"tensor of the inputs' type ({next(iter(types))})")
        # NHWC: a graph with one output channel gave HxWx1, and the hole was filled with the mask
        for what, shape, channels in (("input 'image'", ins["image"].shape, 3), ("input 'mask'", ins["mask"].shape, 1),
                                      (f"output {out.name!r}", out.shape, 3)):
            if isinstance(shape[-1], int) and shape[-1] != channels:
                raise ModelError(f"{self.model.path}: {what} has {shape[-1]} channels ({shape}), expected {channels} "
                                 "(edgefill models are NHWC: image N,H,W,3 and mask N,H,W,1 -> N,H,W,3)")
        # float32-I/O graphs (made for TensorRT < 9.2) carry the same 0..255 values
        self._float_io = types == {"tensor(float)"}

    @property
    def input_info(self) -> InputInfo:
        device = "cuda" if self.provider.startswith("CUDA") else "cpu"
        return InputInfo(multiple=self.multiple, precision=str(self.precision), device=device)

    def _infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        img, m = image[None], mask[None, :, :, None]
        if self._float_io:
            out = self._run({"image": img.astype(np.float32), "mask": m.astype(np.float32)})
            return np.clip(out[0], 0, 255).astype(np.uint8)
        return self._run({"image": img, "mask": m})[0]

    def _run(self, feeds: dict) -> np.ndarray:
        try:
            return self.session.run(None, feeds)[0]
        except Exception as exc:  # ONNX Runtime's own (Fail, RuntimeException, EPFail: out of memory, CUDA errors)
            if type(exc).__module__.startswith("onnxruntime"):
                raise InferenceError(f"ONNX Runtime failed running {self.model.path.name}: {exc}") from exc
            raise

    def close(self) -> None:
        # under the inference lock, as tensorrt's: closed from another thread (a pipeline stopping)
        # between infer()'s check and the run, the session was gone: AttributeError on None.run
        with self._infer_lock:
            super().close()
            self.session = None
