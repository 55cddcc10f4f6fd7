"""Classical inpainting with OpenCV: Telea (fast marching) and Navier-Stokes.

No model and no extra packages. Used as the fallback when no learned backend is
available, and as the baseline in the quality benchmarks.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..checks import is_finite
from ..errors import ConfigError
from ..thin import inpaint_cv
from .base import Availability, Backend, InputInfo
from .registry import register_backend


class _OpenCVInpaint(Backend):
    flag: int = cv2.INPAINT_TELEA

    def __init__(self, radius: int = 5, **unused: object) -> None:
        super().__init__()
        # a finite number: NaN and inf passed (OpenCV then used radius 1), a string or None was a
        # TypeError here and True an OpenCV error at the first frame
        if not (is_finite(radius) and radius >= 1):
            raise ConfigError(f"inpaint radius must be a finite number >= 1 (pixels), got {radius!r}")
        self.radius = float(radius)

    @classmethod
    def is_available(cls) -> Availability:
        return Availability(True)

    @property
    def input_info(self) -> InputInfo:
        # OpenCV reads known pixels up to its radius (capped at 100) from a hole pixel, and their
        # neighbours for the gradients: with that margin a crop is filled as the whole frame is
        return InputInfo(multiple=1, context=math.ceil(min(self.radius, 100)) + 2)

    def _infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = inpaint_cv(image, mask, self.radius, self.flag)  # cv2.inpaint, steady on 1-px-high frames too
        # cv2.inpaint keeps known pixels, but make the contract explicit and exact.
        keep = mask == 0
        out[keep] = image[keep]
        return out


@register_backend("opencv-telea", priority=10)
class TeleaBackend(_OpenCVInpaint):
    """Telea's fast-marching method (cv2.INPAINT_TELEA)."""

    name = "opencv-telea"
    flag = cv2.INPAINT_TELEA


@register_backend("opencv-ns", priority=5)
class NavierStokesBackend(_OpenCVInpaint):
    """Bertalmio's Navier-Stokes method (cv2.INPAINT_NS)."""

    name = "opencv-ns"
    flag = cv2.INPAINT_NS
