"""RTSP streams through OpenCV's FFmpeg backend, with open and read timeouts."""

from __future__ import annotations

import cv2

from .base import register_source
from .opencv_capture import VideoCaptureSource


@register_source("rtsp", "rtsps")
class RtspSource(VideoCaptureSource):
    live = True

    def _open_capture(self) -> cv2.VideoCapture:
        o = self.options
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(o.open_timeout_s * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(o.read_timeout_s * 1000)]
        return cv2.VideoCapture(self.uri, cv2.CAP_FFMPEG, params)
