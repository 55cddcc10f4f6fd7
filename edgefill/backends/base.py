"""The backend protocol every inference engine implements.

A backend takes one uint8 BGR image (H, W, 3) and one uint8 hole mask (H, W) in
the public convention (255 = fill) and returns the composited uint8 image, in
which every pixel outside the hole is copied through exactly. H and W are
multiples of :attr:`Backend.multiple`; the :class:`~edgefill.Inpainter` sees to
that with its ROI planner.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from ..errors import InferenceError, InputError, ShapeError
from ..refill_settings import RefillSettings


@dataclass(frozen=True)
class Availability:
    """Whether a backend can run here, and why not when it can't."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class InputInfo:
    """What a loaded backend accepts."""

    multiple: int  # H and W must be multiples of this
    channels: int = 3
    dtype: str = "uint8"
    precision: str = "fp32"
    device: str = "cpu"
    #: The crop sizes (per axis) the backend was built for, e.g. a TensorRT engine's
    #: optimisation profiles; the Inpainter plans its crops with these by default.
    buckets: Optional[Tuple[int, ...]] = None
    #: The largest crop side it takes (None: any).
    max_size: Optional[int] = None
    #: How far around a hole (px) it reads known pixels (a classical method's radius, plus the
    #: gradients around it): the Inpainter gives exact crops (:func:`edgefill.roi.plan`) at least
    #: this much margin, else a crop of nothing but hole comes back unfilled.
    context: int = 0


class Backend(ABC):
    """Load on construction, ``infer`` many times, ``close`` once (or use ``with``).

    One backend may be shared by several threads (one per camera, say): ``infer`` runs one
    inference at a time, since a backend's buffers (a TensorRT execution context and its
    device memory) serve one call at a time. ``close`` after the last inference.
    """

    name: str = ""
    #: Whether the backend runs a learned model (and so needs a ``model`` option).
    uses_model: bool = False
    #: The refinement settings the loaded model records (:mod:`edgefill.refill_settings`: its
    #: thin-hole refill radius, its wide NS mix); unset ones take the runtime's defaults.
    refill: RefillSettings = RefillSettings()

    def __init__(self) -> None:
        self.last_inference_time: float = 0.0  # seconds, of the most recent infer()
        self._closed = False
        self._infer_lock = threading.Lock()

    @classmethod
    @abstractmethod
    def is_available(cls) -> Availability:
        """Cheap check that never raises: are the packages and devices present?"""

    @classmethod
    def accepts_model(cls, model: object) -> Availability:
        """Cheap check that never raises: is ``model`` something this backend loads? ``auto``
        skips a backend that does not take the model (logged at INFO, as an expected skip)."""
        return Availability(True)

    @property
    @abstractmethod
    def input_info(self) -> InputInfo: ...

    @abstractmethod
    def _infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray: ...

    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Fill the holes of ``image`` marked by ``mask`` (255 = hole). Validates its input."""
        with self._infer_lock:  # checked under the lock: another thread may have closed it meanwhile
            if self._closed:
                raise InputError(f"backend {self.name!r} is closed")
            check_pair(image, mask, self.input_info.multiple)
            t0 = time.perf_counter()
            out = self._infer(image, mask)
            self.last_inference_time = time.perf_counter() - t0
        if not (isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == image.shape):
            # a plug-in backend's uint16 or 0..1 float was pasted as black, another shape a numpy error
            got = f"{out.dtype} {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
            raise InferenceError(f"backend {self.name!r} returned {got}; a backend returns a uint8 image of its "
                                 f"input's shape {image.shape}")
        return out

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_pair(image: np.ndarray, mask: np.ndarray, multiple: int) -> None:
    """The contract of :meth:`Backend.infer`, checked the same way for every backend."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"backend input must be a uint8 HxWx3 image, got {getattr(image, 'dtype', type(image))} "
                         f"{getattr(image, 'shape', '')}")
    if not isinstance(mask, np.ndarray) or mask.dtype != np.uint8 or mask.ndim != 2:
        raise InputError(f"backend mask must be a uint8 HxW array, got {getattr(mask, 'dtype', type(mask))} "
                         f"{getattr(mask, 'shape', '')}")
    if mask.shape != image.shape[:2]:
        raise ShapeError("the mask", mask.shape, image.shape[:2])
    h, w = mask.shape
    if h == 0 or w == 0 or h % multiple or w % multiple:
        raise ShapeError(f"the input (must be a non-empty multiple of {multiple})", mask.shape,
                         (-(-h // multiple) * multiple, -(-w // multiple) * multiple))
