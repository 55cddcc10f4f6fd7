"""Raspberry Pi cameras through picamera2: ``picam://0``.

picamera2's ``"RGB888"`` format is, despite its name, laid out B, G, R in memory
(libcamera names formats by the packed word, not the byte order), which is exactly
OpenCV's BGR; frames are therefore passed on without a channel swap.
"""

from __future__ import annotations

import numpy as np

from ..errors import BackendUnavailableError, CaptureError
from .base import FrameSource, register_source


@register_source("picam")
class PicameraSource(FrameSource):
    live = True

    def __init__(self, uri, options):
        super().__init__(uri, options)
        self.cam = None

    def open(self) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise BackendUnavailableError("picam", f"picamera2 cannot be imported ({exc})", "picamera") from exc
        rest = self.uri[len("picam://"):] or "0"
        if not rest.isdigit():
            raise CaptureError(f"picam:// takes a camera number, e.g. picam://0, not {self.description}")
        self.close()
        size = (self.options.width or 1280, self.options.height or 720)
        try:
            cam = Picamera2(camera_num=int(rest))
            controls = {}
            if self.options.fps:  # libcamera's control, in microseconds per frame
                period = int(round(1e6 / self.options.fps))
                controls["FrameDurationLimits"] = (period, period)
            cam.configure(cam.create_video_configuration(main={"size": size, "format": "RGB888"}, controls=controls))
            cam.start()
        except (RuntimeError, IndexError, OSError) as exc:
            raise CaptureError(f"cannot start {self.description}: {exc}") from exc
        self.cam = cam

    def read(self) -> np.ndarray | None:
        if self.cam is None:
            raise CaptureError(f"{self.description} is not open")
        try:
            frame = self.cam.capture_array("main")
        except (RuntimeError, OSError) as exc:
            raise CaptureError(f"{self.description} failed: {exc}") from exc
        if frame.ndim == 3 and frame.shape[2] == 4:  # XRGB8888 is [B, G, R, 255]: drop the padding byte
            frame = frame[:, :, :3]
        return np.ascontiguousarray(frame)

    def close(self) -> None:
        if self.cam is not None:
            try:
                self.cam.stop()
                self.cam.close()
            finally:
                self.cam = None
