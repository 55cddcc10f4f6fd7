"""Reconnection with backoff, and a watchdog on frozen frames, around any live source."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from ..errors import CaptureError
from ..imageio import StoredImage
from .base import FrameSource, apply_flip
from .frame_format import SequenceScale, as_bgr_frame

log = logging.getLogger(__name__)


def _fingerprint(frame: np.ndarray) -> bytes:
    """A cheap signature of a frame (a sparse grid of pixels) to spot a frozen feed."""
    return frame[:: max(1, frame.shape[0] // 32), :: max(1, frame.shape[1] // 32)].tobytes()


class ResilientSource:
    """Wraps a source. For live sources, a failed read or a frame frozen for
    ``frozen_timeout_s`` closes the device, waits (0.25 s doubling up to
    ``max_backoff_s``), and reopens it, until it works or ``stop`` is set.
    Finite sources pass errors straight through.

    A frozen picture is reconnected once per stall: when the source still delivers the same
    picture after reconnecting, it is a static scene (a test pattern, a still camera feed),
    not a stuck driver, so it is logged once and passed on; the watchdog re-arms when the
    picture changes. (Reconnecting it again every ``frozen_timeout_s`` would interrupt a
    healthy source for ever.) With ``options.reconnect`` off there is no reconnect to tell the
    two apart, so a frozen picture is counted in ``frozen_events`` and logged once per stall,
    and the frames are passed on: ending the run on it would end every run on a static scene
    (H.264 streams decode a still scene to identical frames)."""

    def __init__(self, source: FrameSource, stop: threading.Event | None = None):
        self.source = source
        self.stop = stop or threading.Event()
        self.reconnects = 0
        self.frozen_events = 0
        self._last_print: bytes | None = None
        self._last_change = time.monotonic()
        self._stall_counted = False  # this stall (same picture) is counted: reconnected, or logged without reconnect
        self._static_logged = False
        self._scale = SequenceScale()  # for a source that gives 16-bit frames
        #: the frame :meth:`read` returned last, at its source's depth, when that was 16 bits
        self.last_wide: StoredImage | None = None

    @property
    def live(self) -> bool:
        return self.source.live

    def open(self) -> None:
        self.source.open()
        self._last_change = time.monotonic()

    def close(self) -> None:
        self.source.close()

    def _check_frozen(self, frame: np.ndarray) -> None:
        timeout = self.source.options.frozen_timeout_s
        if not timeout:
            return
        fp = _fingerprint(frame)
        now = time.monotonic()
        if fp != self._last_print:
            self._last_print, self._last_change = fp, now
            self._stall_counted = self._static_logged = False
        elif now - self._last_change > timeout:
            self._last_change = now
            if not self._stall_counted:  # the stall's first period: counted, and reconnected where that is on
                self.frozen_events += 1
                self._stall_counted = True
                if self.source.options.reconnect:
                    raise CaptureError(f"{self.source.description} has delivered the same frame for {timeout:g} s "
                                       "(frozen)")
                log.warning("%s has delivered the same frame for %g s (frozen, or a static scene); reconnect is "
                            "off, so it goes on", self.source.description, timeout)
            elif self.source.options.reconnect and not self._static_logged:
                log.warning("%s still delivers the same picture after reconnecting: taking it for a static "
                            "scene (not reconnecting again until the picture changes)", self.source.description)
                self._static_logged = True

    def read(self) -> np.ndarray | None:
        """The next frame, BGR uint8 (:func:`~edgefill.capture.frame_format.as_bgr_frame`: a
        source's grey, BGRA or 16-bit frames converted), turned by ``options.flip`` where the
        source does not do it itself; a 16-bit frame is also kept at its depth, turned alike, in
        :attr:`last_wide`."""
        self.last_wide = None
        frame = self._read()
        if frame is None:
            return None
        frame = as_bgr_frame(frame, self._scale, self.source.description)
        wide = self._scale.last_wide or getattr(self.source, "last_wide", None)
        flip = self.source.options.flip
        if flip and not self.source.flips_itself:
            frame = apply_flip(frame, flip)
            if wide is not None:
                wide = StoredImage(apply_flip(wide.stored, flip), frame, wide.scale)
        self.last_wide = wide
        return frame

    def _read(self) -> np.ndarray | None:
        if not self.live:
            return self.source.read()
        backoff = 0.25
        while not self.stop.is_set():
            try:
                frame = self.source.read()
                if frame is not None:
                    self._check_frozen(frame)
                    return frame
                raise CaptureError(f"{self.source.description} ended")
            except CaptureError as exc:
                if not self.source.options.reconnect:
                    raise
                log.warning("%s; reconnecting in %.2g s", exc, backoff)
            self.source.close()
            while not self.stop.is_set():
                if self.stop.wait(backoff):
                    return None
                backoff = min(backoff * 2, self.source.options.max_backoff_s)
                try:
                    self.source.open()
                    self.reconnects += 1
                    self._last_change = time.monotonic()
                    log.info("reconnected to %s", self.source.description)
                    break
                except CaptureError as exc:
                    log.warning("%s; retrying in %.2g s", exc, backoff)
        return None
