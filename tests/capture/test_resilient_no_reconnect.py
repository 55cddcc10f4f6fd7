"""The frozen-frame watchdog when reconnecting is turned off (``CaptureOptions(reconnect=False)``)."""

from __future__ import annotations

import logging
import time

import numpy as np

from edgefill.capture import CaptureOptions, FrameSource
from edgefill.capture.resilient import ResilientSource


class _StaticScene(FrameSource):
    """A healthy live source whose picture never changes (a still scene, a test pattern)."""

    live = True

    def __init__(self, options):
        super().__init__("fake://still", options)
        self.opens = 0

    def open(self):
        self.opens += 1

    def read(self):
        return np.zeros((16, 16, 3), np.uint8)


def test_a_static_scene_without_reconnect_goes_on_and_is_logged_once_per_stall(caplog):
    """Without a reconnect there is no telling a static scene from a stuck driver; the watchdog
    raised, which ended every reconnect=False run on a still scene after frozen_timeout_s."""
    src = _StaticScene(CaptureOptions(frozen_timeout_s=0.05, reconnect=False))
    r = ResilientSource(src)
    r.open()
    # ten watchdog periods at least, and six more after the stall is first counted: a fixed 0.5 s
    # could end before it when the machine stalled for a moment
    t0, seen = time.monotonic(), None
    with caplog.at_level(logging.WARNING):
        while True:
            assert r.read() is not None
            now = time.monotonic()
            if seen is None and r.frozen_events:
                seen = now
            if (seen is not None and now - t0 >= 0.5 and now - seen >= 0.3) or r.frozen_events > 1 or now - t0 > 30:
                break
    assert src.opens == 1 and r.reconnects == 0
    assert r.frozen_events == 1 and caplog.text.count("frozen, or a static scene") == 1
    r._check_frozen(np.ones((16, 16, 3), np.uint8))  # the picture changes: the next stall counts again
    t_end = time.monotonic() + 5
    while r.frozen_events == 1 and time.monotonic() < t_end:
        r.read()
    assert r.frozen_events == 2 and src.opens == 1
