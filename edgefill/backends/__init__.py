"""Inference backends behind one protocol (:class:`Backend`), chosen by name."""

from . import onnxruntime as _onnxruntime  # noqa: F401  (registers; imports no onnxruntime)
from . import opencv as _opencv  # noqa: F401
from . import tensorrt as _tensorrt  # noqa: F401  (registers; imports no tensorrt)
from .base import Availability, Backend, InputInfo
from .registry import backend_class, create_backend, list_backends, register_backend, uses_model

__all__ = ["Availability", "Backend", "InputInfo", "backend_class", "create_backend", "list_backends", "register_backend",
           "uses_model"]
