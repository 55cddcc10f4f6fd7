"""USB / V4L2 cameras: ``v4l2:///dev/video0`` (or ``v4l2://0``)."""

from __future__ import annotations

import math
import os
import re

import cv2

from .base import register_source
from .opencv_capture import VideoCaptureSource


SELECT_TIMEOUT_ENV = "OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT"


def device_of(uri: str) -> str | int:
    """The camera number (``v4l2://0``) or device path (``v4l2:///dev/video0``) of a URI. Only
    ASCII digits make a number: ``str.isdigit()`` took ``'²'``, and int() raised a ValueError."""
    rest = uri[len("v4l2://"):]
    return int(rest) if re.fullmatch(r"[0-9]+", rest) else rest


@register_source("v4l2")
class V4L2Source(VideoCaptureSource):
    live = True

    def _open_capture(self) -> cv2.VideoCapture:
        o = self.options
        # OpenCV's V4L2 backend waits this many whole seconds for a frame (10 by default) before a
        # read fails; it reads the variable once per process, at the first wait. A read that
        # times out here is abandoned after read_timeout_s anyway (DeviceThread), but the device
        # is only free to reopen once that wait ends. A value set by the user is kept.
        os.environ.setdefault(SELECT_TIMEOUT_ENV, str(max(1, math.ceil(o.read_timeout_s))))
        cap = cv2.VideoCapture(device_of(self.uri), cv2.CAP_V4L2)
        if o.fourcc:  # before the size: a camera offers its larger sizes (at full rate) in MJPEG only
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*o.fourcc))
        if o.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, o.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, o.height)
        if o.fps:
            cap.set(cv2.CAP_PROP_FPS, o.fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # always the freshest frame
        return cap
