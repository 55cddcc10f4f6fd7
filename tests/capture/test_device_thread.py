"""Bounded driver calls for OpenCV-backed live sources (v4l2://, csi://, gst://, rtsp://).

A fake ``cv2.VideoCapture`` blocks in ``read`` or in the constructor until the test lets it
go, the way a stalled USB camera or a wedged Argus daemon does. Each test runs the source in
a helper thread with a deadline, so that code without the bound fails instead of hanging.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from edgefill.capture import CaptureOptions, ResilientSource, open_source
from edgefill.capture import opencv_capture, v4l2
from edgefill.capture.opencv_capture import MAX_STUCK_CALLS, VideoCaptureSource
from edgefill.errors import CaptureError

OPTS = CaptureOptions(open_timeout_s=0.3, read_timeout_s=0.2, max_backoff_s=0.05)
DEADLINE = 10.0  # generous: only code that never times out gets near it


class FakeCap:
    """Blocks in read() while ``stall`` is clear; records whether release ran during a read."""

    instances: list[FakeCap] = []

    def __init__(self, stall: threading.Event | None = None):
        self.stall = stall
        self.released = threading.Event()
        self.in_read = False
        self.released_during_read = False
        self.reads = 0
        FakeCap.instances.append(self)

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return True

    def get(self, prop):
        return 25.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def set(self, prop, value):
        return True

    def read(self):
        self.in_read = True
        try:
            if self.stall is not None:
                self.stall.wait()
            self.reads += 1
            return True, np.full((8, 8, 3), self.reads % 255, np.uint8)
        finally:
            self.in_read = False

    def release(self):
        self.released_during_read |= self.in_read
        self.released.set()


class FakeLive(VideoCaptureSource):
    """A live OpenCV source whose captures come from ``make`` (called in the device thread)."""

    live = True

    def __init__(self, make, options=OPTS):
        super().__init__("fake://cam", options)
        self.make = make

    def _open_capture(self):
        return self.make()


def within(fn, seconds=DEADLINE):
    """fn's result or exception, failing the test if it has not returned in ``seconds``."""
    out: dict = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"did not return within {seconds} s"
    if "error" in out:
        raise out["error"]
    return out.get("value")


@pytest.fixture(autouse=True)
def _clean():
    FakeCap.instances.clear()
    yield


def test_a_read_that_never_returns_is_a_capture_error_and_the_device_is_released_after_it():
    stall = threading.Event()
    src = FakeLive(lambda: FakeCap(stall))
    src.open()
    with pytest.raises(CaptureError, match="read did not return within 0.3 s"):  # first read: max(open, read)
        within(src.read)
    cap = FakeCap.instances[0]
    within(src.close)  # does not wait for the stuck read
    assert not cap.released.is_set()  # never under a running read
    stall.set()
    assert cap.released.wait(DEADLINE) and not cap.released_during_read


def test_reads_after_the_first_use_the_read_timeout():
    gate = threading.Event()
    gate.set()
    src = FakeLive(lambda: FakeCap(gate))
    src.open()
    assert within(src.read).shape == (8, 8, 3)
    gate.clear()
    with pytest.raises(CaptureError, match="read did not return within 0.2 s"):
        within(src.read)
    gate.set()
    src.close()


def test_an_open_that_never_returns_is_a_capture_error_and_the_late_capture_is_released():
    stall = threading.Event()

    def make():
        stall.wait()
        return FakeCap()

    src = FakeLive(make)
    with pytest.raises(CaptureError, match="opening did not return within 0.3 s"):
        within(src.open)
    assert src.cap is None
    stall.set()
    for _ in range(100):  # the capture made late is released in the device thread
        if FakeCap.instances and FakeCap.instances[0].released.is_set():
            break
        threading.Event().wait(0.1)
    assert FakeCap.instances and FakeCap.instances[0].released.is_set()


def test_resilient_source_reconnects_after_a_stalled_read():
    stalls = [threading.Event()]  # the first capture stalls after one frame; the next ones work

    def make():
        cap = FakeCap(stalls[0] if len(FakeCap.instances) == 0 else None)
        return cap

    src = ResilientSource(FakeLive(make))
    src.open()
    stalls[0].set()
    assert within(src.read) is not None
    stalls[0].clear()
    frames = within(lambda: [src.read() for _ in range(3)])
    assert all(f is not None for f in frames) and src.reconnects == 1
    stalls[0].set()
    src.close()
    assert all(c.released.wait(DEADLINE) for c in FakeCap.instances)


def test_stalled_devices_are_not_reopened_without_bound():
    stall = threading.Event()
    src = FakeLive(lambda: FakeCap(stall))
    for _ in range(MAX_STUCK_CALLS):
        src.open()
        with pytest.raises(CaptureError, match="did not return"):
            within(src.read)
    with pytest.raises(CaptureError, match=f"{MAX_STUCK_CALLS} earlier calls into the driver have not returned"):
        src.open()
    assert len(FakeCap.instances) == MAX_STUCK_CALLS  # no new capture (nor thread) for the stuck device
    stall.set()
    assert all(c.released.wait(DEADLINE) for c in FakeCap.instances)
    for _ in range(100):  # their threads end after the release
        if not any(d.alive for d in src._stuck):
            break
        threading.Event().wait(0.05)
    src.open()  # opens again once they have
    src.close()


def test_errors_from_the_driver_reach_the_caller_and_files_are_read_directly(tmp_path, monkeypatch):
    def broken():
        raise cv2.error("boom")

    with pytest.raises(cv2.error, match="boom"):
        FakeLive(broken).open()
    from ..fakes import write_video

    src = open_source(str(write_video(tmp_path / "c.avi", 2)))
    src.open()
    assert src._device is None and src.read() is not None  # no thread hop for a file
    src.close()


def test_closing_an_idle_source_releases_the_capture_before_returning():
    src = FakeLive(lambda: FakeCap())
    src.open()
    within(src.read)
    src.close()
    assert FakeCap.instances[0].released.is_set()  # a reconnect can open the device again at once


def test_v4l2_sets_opencvs_select_timeout_from_the_read_timeout(monkeypatch):
    made = []
    monkeypatch.setattr(v4l2.cv2, "VideoCapture", lambda *a: made.append(a) or FakeCap())
    monkeypatch.delenv(v4l2.SELECT_TIMEOUT_ENV, raising=False)
    src = open_source("v4l2:///dev/video7", CaptureOptions(read_timeout_s=2.5))
    src.open()
    src.close()
    import os

    assert os.environ[v4l2.SELECT_TIMEOUT_ENV] == "3" and made[0] == ("/dev/video7", cv2.CAP_V4L2)
    monkeypatch.setenv(v4l2.SELECT_TIMEOUT_ENV, "7")  # the user's own setting is kept
    src.open()
    src.close()
    assert os.environ[v4l2.SELECT_TIMEOUT_ENV] == "7"


def test_the_device_thread_module_is_used_by_every_opencv_live_source():
    for uri in ("v4l2://0", "csi://0", "gst://videotestsrc ! appsink", "rtsp://host/s"):
        src = open_source(uri, OPTS)
        assert isinstance(src, opencv_capture.VideoCaptureSource) and src.live
