"""RTSP streams through OpenCV's FFmpeg backend, with open and read timeouts.

FFmpeg gets each timeout a little shorter than the bound the capture thread waits for
(:class:`~edgefill.capture.device_thread.DeviceThread`), so that FFmpeg's own timeout ends a
stalled open or read first and the call returns in time: with equal timeouts the thread gave up
a few milliseconds before FFmpeg did, every stall of a stream was reported as a driver call that
"has not returned", and the capture was released in the background (an interpreter exiting at
that moment aborted).
"""

from __future__ import annotations

import cv2

from .base import register_source
from .opencv_capture import VideoCaptureSource


def ffmpeg_timeout_ms(timeout_s: float) -> int:
    """FFmpeg's timeout for a call that the capture thread bounds at ``timeout_s``: up to 1 s
    (at most half) shorter, and at least 1 ms (0 would mean FFmpeg's default). The margin is
    what the thread has to see FFmpeg's call return; with 0.5 s, a loaded machine that paused
    the process for 0.6 s while FFmpeg timed out made the thread give up on a call that was
    about to return."""
    return max(1, int((timeout_s - min(1.0, timeout_s / 2)) * 1000))


@register_source("rtsp", "rtsps")
class RtspSource(VideoCaptureSource):
    live = True

    def _open_capture(self) -> cv2.VideoCapture:
        o = self.options
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ffmpeg_timeout_ms(o.open_timeout_s),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, ffmpeg_timeout_ms(o.read_timeout_s)]
        return cv2.VideoCapture(self.uri, cv2.CAP_FFMPEG, params)
