"""Classical inpainting with OpenCV: Telea (fast marching) and Navier-Stokes.

No model and no extra packages. Used as the fallback when no learned backend is
available, and as the baseline in the quality benchmarks.
"""

from __future__ import annotations

import cv2
import numpy as np

from .base import Availability, Backend, InputInfo
from .registry import register_backend


class _OpenCVInpaint(Backend):
    flag: int = cv2.INPAINT_TELEA

    def __init__(self, radius: int = 5, **unused: object) -> None:
        super().__init__()
        if radius < 1:
            from ..errors import ConfigError

            raise ConfigError(f"inpaint radius must be >= 1, got {radius}")
        self.radius = radius

    @classmethod
    def is_available(cls) -> Availability:
        return Availability(True)

    @property
    def input_info(self) -> InputInfo:
        return InputInfo(multiple=1)

    def _infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = cv2.inpaint(image, mask, self.radius, self.flag)
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
