"""Shared helper for sources backed by ``cv2.VideoCapture``."""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import CaptureError
from .base import FrameSource


class VideoCaptureSource(FrameSource):
    """Base for sources that open a ``cv2.VideoCapture``; subclasses say how."""

    def __init__(self, uri, options):
        super().__init__(uri, options)
        self.cap: cv2.VideoCapture | None = None

    def _open_capture(self) -> cv2.VideoCapture:
        raise NotImplementedError

    def open(self) -> None:
        self.close()
        cap = self._open_capture()
        if cap is None or not cap.isOpened():
            raise CaptureError(f"cannot open {self.description}")
        self.cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        if fps and fps > 0 and self.fps is None:
            self.fps = float(fps)

    def read(self) -> np.ndarray | None:
        if self.cap is None:
            raise CaptureError(f"{self.description} is not open")
        ok, frame = self.cap.read()
        if not ok or frame is None:
            return self._on_no_frame()
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        return frame

    def _on_no_frame(self) -> np.ndarray | None:
        """A finite source ends; a live one has stalled or dropped."""
        if self.live:
            raise CaptureError(f"{self.description} delivered no frame (stalled or disconnected)")
        return None

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None
