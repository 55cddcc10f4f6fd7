"""USB / V4L2 cameras: ``v4l2:///dev/video0`` (or ``v4l2://0``)."""

from __future__ import annotations

import cv2

from .base import register_source
from .opencv_capture import VideoCaptureSource


def device_of(uri: str) -> str | int:
    rest = uri[len("v4l2://"):]
    return int(rest) if rest.isdigit() else rest


@register_source("v4l2")
class V4L2Source(VideoCaptureSource):
    live = True

    def _open_capture(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(device_of(self.uri), cv2.CAP_V4L2)
        o = self.options
        if o.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, o.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, o.height)
        if o.fps:
            cap.set(cv2.CAP_PROP_FPS, o.fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # always the freshest frame
        return cap
