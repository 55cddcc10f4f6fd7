"""edgefill: real-time image inpainting for edge devices.

    import cv2, edgefill
    with edgefill.Inpainter(model="lite", backend="auto") as inp:
        out = inp.inpaint(cv2.imread("photo.jpg"), cv2.imread("mask.png", cv2.IMREAD_GRAYSCALE))

Mask convention: 255 (or 1) = hole to fill, 0 = keep. ``import edgefill`` needs
only numpy and OpenCV; onnxruntime, torch, tensorrt and pycuda are imported when a
backend or the export toolchain is used.
"""

from __future__ import annotations

try:
    import cv2 as _cv2  # noqa: F401
except ImportError as _exc:  # pragma: no cover - depends on the install
    import importlib.util as _util
    import os as _os
    import sys as _sys

    if _util.find_spec("cv2") is not None:  # installed, but broken: "install edgefill[opencv]" was no help
        _why = (f"edgefill needs OpenCV's Python bindings, which are installed but do not import ({_exc}). A "
                "missing system library (libGL.so.1: use opencv-python-headless) or two OpenCV packages "
                "installed over each other are the usual causes; reinstall one of them.")
    else:
        _why = ("edgefill needs OpenCV's Python bindings. Install edgefill[opencv] for the pip wheel, "
                "or on a Jetson use JetPack's system OpenCV (python3-opencv), which has GStreamer.")
    # the `edgefill` command (or python -m edgefill), `edgefill doctor` included: one line, as every
    # other error of the command is, not two chained tracebacks
    # (`python -m edgefill` imports this package while sys.argv[0] is still "-m")
    _prog = _os.path.basename(_sys.argv[0]) if _sys.argv and _sys.argv[0] else ""
    if _prog in ("edgefill", "edgefill.exe", "-m"):
        print(f"edgefill: error: {_why}", file=_sys.stderr)
        raise SystemExit(2) from None
    raise ImportError(_why) from _exc

from . import capture, errors, mask_sources, maskgen, masks, profiles, roi, sinks
from .backends import Backend, create_backend, list_backends, register_backend
from .errors import (BackendUnavailableError, CaptureError, ConfigError, EdgeFillError, EdgeFillInternalError,
                     EngineBuildError, InferenceError, InputError, ModelError, ShapeError, StopTimeoutError,
                     UnknownBackendError)
from .inpainter import Inpainter
from .models import shipped_models
from .pipeline import Pipeline, PipelineStats
from .profiles import DeviceProfile
from .refill_settings import RefillSettings
from .roi import RoiConfig

__version__ = "0.1.0"

__all__ = [
    "Backend", "BackendUnavailableError", "CaptureError", "ConfigError", "EdgeFillError", "EdgeFillInternalError",
    "DeviceProfile", "EngineBuildError", "InferenceError", "Inpainter", "InputError", "ModelError", "Pipeline", "PipelineStats",
    "RefillSettings", "RoiConfig", "ShapeError", "StopTimeoutError",
    "UnknownBackendError", "create_backend",
    "capture", "errors", "list_backends", "mask_sources", "maskgen", "masks", "profiles", "register_backend", "roi",
    "shipped_models", "sinks",
]
