"""Shared helper for sources backed by ``cv2.VideoCapture``.

Live sources (cameras, streams) make every call into OpenCV from a
:class:`~edgefill.capture.device_thread.DeviceThread`, so that a stalled device cannot block
the caller: opening waits at most ``open_timeout_s``, the first read after it at most the
larger of the two timeouts (a camera may take a moment to start streaming), every other read
at most ``read_timeout_s``; then a :class:`~edgefill.errors.CaptureError` says the device
stalled, and :class:`~edgefill.capture.resilient.ResilientSource` reconnects. Files are read
directly.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from ..checks import is_fourcc
from ..errors import CaptureError
from .base import FrameSource
from .device_thread import DeviceThread

log = logging.getLogger(__name__)

#: Calls left running in stalled devices (one thread each) before a source stops opening new ones.
MAX_STUCK_CALLS = 3


def _release(cap: cv2.VideoCapture | None) -> None:
    if cap is not None:
        cap.release()


def _fourcc_text(value: float) -> str | None:
    """OpenCV's CAP_PROP_FOURCC (a float holding four bytes, first character lowest) as text;
    None where it says nothing (0, or bytes that are not printable)."""
    code = int(value) if value == value and value > 0 else 0
    text = bytes((code >> (8 * i)) & 0xFF for i in range(4)).decode("latin-1")
    return text if code and is_fourcc(text) else None


class VideoCaptureSource(FrameSource):
    """Base for sources that open a ``cv2.VideoCapture``; subclasses say how."""

    def __init__(self, uri, options):
        super().__init__(uri, options)
        self.cap: cv2.VideoCapture | None = None
        self._device: DeviceThread | None = None
        self._stuck: list[DeviceThread] = []  # devices whose threads are still inside a driver call
        self._first_read = False
        self._mode_warnings: set[str] = set()  # each said once, not again at every reconnect

    def _open_capture(self) -> cv2.VideoCapture:
        raise NotImplementedError

    def _opened(self) -> tuple[cv2.VideoCapture, float]:
        cap = self._open_capture()
        if cap is None or not cap.isOpened():
            _release(cap)
            raise CaptureError(f"cannot open {self.description}")
        fps = cap.get(cv2.CAP_PROP_FPS)
        if self.live:
            self._report_mode(cap, fps)
        return cap, fps

    def delivered_size(self, width: int, height: int) -> tuple[int, int]:
        """The (width, height) of the frames this source gives when ``width`` x ``height`` is
        asked for (a source that turns its frames a quarter turn itself swaps them)."""
        return width, height

    def _report_mode(self, cap: cv2.VideoCapture, fps: float) -> None:
        """Warn when a live source does not deliver the size or rate asked for: a camera that
        does not offer a mode silently picks another (and streams keep their own), so a mask
        drawn for the requested size, or a video written at the requested rate, did not match."""
        o = self.options
        said = []
        if o.width:
            w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            want = self.delivered_size(o.width, o.height)
            if w > 0 and h > 0 and (w, h) != want:
                said.append(f"{self.description} delivers {w}x{h} frames, not the {want[0]}x{want[1]} asked for "
                            "(it does not offer that size)")
        if o.fps and fps and fps > 0 and abs(fps - o.fps) > 0.01 * o.fps:
            said.append(f"{self.description} runs at {fps:.4g} fps, not the {o.fps:.4g} asked for")
        if o.fourcc:
            got = _fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
            if got and got != o.fourcc:
                said.append(f"{self.description} delivers {got}, not the {o.fourcc} pixel format asked for "
                            "(`v4l2-ctl --list-formats-ext` lists what it offers)")
        for message in said:
            if message not in self._mode_warnings:
                self._mode_warnings.add(message)
                log.warning("%s", message)

    def open(self) -> None:
        self.close()
        if not self.live:
            self.cap, fps = self._opened()
        else:
            self._stuck = [d for d in self._stuck if d.alive]
            if len(self._stuck) >= MAX_STUCK_CALLS:
                raise CaptureError(f"{self.description}: {len(self._stuck)} earlier calls into the driver have not "
                                   "returned; not opening the device again until they do")
            device = DeviceThread(self.description)
            try:
                self.cap, fps = device.call(self._opened, self.options.open_timeout_s, "opening",
                                            on_late=lambda opened: _release(opened[0]))
            except BaseException:
                self._retire(device, None)
                raise
            self._device, self._first_read = device, True
        if fps and fps > 0 and self.fps is None:
            self.fps = float(fps)

    def read(self) -> np.ndarray | None:
        if self.cap is None:
            raise CaptureError(f"{self.description} is not open")
        if self._device is None:
            ok, frame = self.cap.read()
        else:
            ok, frame = self._device.call(self.cap.read, self.options.read_wait_s(self._first_read), "read")
            self._first_read = False
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

    def _retire(self, device: DeviceThread, cap: cv2.VideoCapture | None) -> None:
        device.close(lambda: _release(cap), self.options.read_timeout_s)
        if device.stuck:
            self._stuck.append(device)

    def close(self) -> None:
        cap, self.cap = self.cap, None
        device, self._device = self._device, None
        if device is not None:
            self._retire(device, cap)
        else:
            _release(cap)
