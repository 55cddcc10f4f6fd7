"""RTSP streams through OpenCV's FFmpeg backend, with open and read timeouts.

FFmpeg gets each timeout a little shorter than the bound the capture thread waits for
(:class:`~edgefill.capture.device_thread.DeviceThread`), so that FFmpeg's own timeout ends a
stalled open or read first and the call returns in time: with equal timeouts the thread gave up
a few milliseconds before FFmpeg did, every stall of a stream was reported as a driver call that
"has not returned", and the capture was released in the background (an interpreter exiting at
that moment aborted).

The RTSP transport (``CaptureOptions.rtsp_transport``, ``--rtsp-transport``) reaches FFmpeg
through the one channel OpenCV offers for demuxer options, the environment variable
``OPENCV_FFMPEG_CAPTURE_OPTIONS`` (``key;value|key;value``), which OpenCV's
``CvCapture_FFMPEG::open`` (``modules/videoio/src/cap_ffmpeg_impl.hpp``) reads with ``getenv`` at
every open. When it is unset, OpenCV sets ``rtsp_flags=prefer_tcp`` (``rtsp_transport=tcp`` only
with libav or an FFmpeg before libavformat 55.48.100): TCP first, then UDP, then UDP multicast,
as a fake server in the tests sees it. When it is set, OpenCV passes on what it holds and nothing
else (``max_delay;500000`` alone made FFmpeg try UDP first). With ``rtsp_transport`` None
nothing is changed; otherwise the variable is set for the duration of the open only, inside the
capture thread that makes the call: the user's own entries are kept, any ``rtsp_transport``
among them replaced, and the previous value (or none) is put back when the call returns or
fails, also a call its caller gave up on. The variable is process-wide: opens asking for the
same transport run at the same time, as before, and one asking for another waits for them to
end (at most half its open timeout), so that none sees another's value.
``rtsps://`` always runs over TCP (FFmpeg sets it for TLS), so another transport is refused there.
"""

from __future__ import annotations

import os
import threading
import time

import cv2

from ..errors import CaptureError, ConfigError
from ..opencv_check import built_with
from .base import register_source
from .opencv_capture import VideoCaptureSource

CAPTURE_OPTIONS_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"


def ffmpeg_timeout_ms(timeout_s: float) -> int:
    """FFmpeg's timeout for a call that the capture thread bounds at ``timeout_s``: up to 1 s
    (at most half) shorter, and at least 1 ms (0 would mean FFmpeg's default). The margin is
    what the thread has to see FFmpeg's call return; with 0.5 s, a loaded machine that paused
    the process for 0.6 s while FFmpeg timed out made the thread give up on a call that was
    about to return."""
    return max(1, int((timeout_s - min(1.0, timeout_s / 2)) * 1000))


class _CaptureOptionsInUse:
    """Who is opening with ``OPENCV_FFMPEG_CAPTURE_OPTIONS`` set for which transport (process-wide).

    Opens that ask for the same transport (None: the variable as the user left it) run at the
    same time, as before; one asking for another transport waits until none of them is running,
    so that no open sees another's value. The variable is set by the first of a group and put
    back by the last."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.transport: str | None = None  # what the running opens asked for
        self.running = 0
        self.before: str | None = None  # the variable before the first of them set it

    def enter(self, transport: str | None, timeout: float) -> bool:
        """Wait at most ``timeout`` for the variable to be free for ``transport``; whether it was."""
        with self.changed:
            if not self.changed.wait_for(lambda: self.running == 0 or self.transport == transport, timeout):
                return False
            if self.running == 0:
                self.transport, self.before = transport, os.environ.get(CAPTURE_OPTIONS_ENV)
                if transport is not None:
                    os.environ[CAPTURE_OPTIONS_ENV] = with_rtsp_transport(self.before, transport)
            self.running += 1
            return True

    def leave(self) -> None:
        with self.changed:
            self.running -= 1
            if self.running == 0:
                if self.transport is not None:  # put back as it was (unset stays unset)
                    if self.before is None:
                        os.environ.pop(CAPTURE_OPTIONS_ENV, None)
                    else:
                        os.environ[CAPTURE_OPTIONS_ENV] = self.before
                self.changed.notify_all()


_CAPTURE_OPTIONS = _CaptureOptionsInUse()


def with_rtsp_transport(options: str | None, transport: str) -> str:
    """``OPENCV_FFMPEG_CAPTURE_OPTIONS`` value ``options`` (None: unset) with its ``rtsp_transport``
    entry, if any, replaced by ``transport``; every other entry kept as it is."""
    kept = [e for e in (options or "").split("|") if e.strip() and e.split(";", 1)[0].strip() != "rtsp_transport"]
    return "|".join([*kept, f"rtsp_transport;{transport}"])


@register_source("rtsp", "rtsps")
class RtspSource(VideoCaptureSource):
    live = True

    def open(self) -> None:
        transport = self.options.rtsp_transport
        if self.uri.lower().startswith("rtsps:") and transport not in (None, "tcp"):
            raise ConfigError(f"rtsps:// always runs over TCP (TLS); rtsp_transport={transport!r} cannot apply "
                              f"to {self.description}")
        if not built_with("FFMPEG"):  # else every open fails as a camera that cannot be reached would
            raise ConfigError(f"{self.description} needs OpenCV built with FFmpeg, but OpenCV {cv2.__version__} was "
                              "built without it (`edgefill doctor`); where it has GStreamer, read the stream with "
                              "gst://rtspsrc location=URL latency=200 ! decodebin ! videoconvert ! appsink")
        super().open()

    def _open_capture(self) -> cv2.VideoCapture:
        """Runs in the capture thread, which the caller waits for at most ``open_timeout_s``:
        waiting for opens with another transport to finish takes at most half of it, and FFmpeg's
        open timeout is derived from what is left, so the call still returns within the caller's
        wait. The variable is put back when the call returns or raises, also one given up on."""
        o = self.options
        start = time.monotonic()
        if not _CAPTURE_OPTIONS.enter(o.rtsp_transport, o.open_timeout_s / 2):
            raise CaptureError(f"cannot open {self.description}: another rtsp:// source opening with another "
                               f"transport is still running after {o.open_timeout_s / 2:g} s (FFmpeg's capture "
                               "options are process-wide)")
        try:
            left = o.open_timeout_s - (time.monotonic() - start)
            if not hasattr(cv2, "CAP_PROP_OPEN_TIMEOUT_MSEC"):  # OpenCV < 4.5.4 (Raspberry Pi OS Bullseye's 4.5.1)
                # its FFmpeg waits its own 30 s; the device thread still gives up at open_timeout_s
                return cv2.VideoCapture(self.uri, cv2.CAP_FFMPEG)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ffmpeg_timeout_ms(left),
                      cv2.CAP_PROP_READ_TIMEOUT_MSEC, ffmpeg_timeout_ms(o.read_timeout_s)]
            return cv2.VideoCapture(self.uri, cv2.CAP_FFMPEG, params)
        finally:
            _CAPTURE_OPTIONS.leave()
