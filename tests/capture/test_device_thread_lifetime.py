"""What a device thread keeps alive, and what counts as stuck (review of the DeviceThread change).

Each blocking call runs in a helper thread with a deadline (``within``), and every gate a fake
blocks on is opened again in ``finally``, so that a regression fails instead of hanging.
"""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from edgefill.capture.device_thread import DeviceThread
from edgefill.capture.opencv_capture import MAX_STUCK_CALLS
from edgefill.errors import CaptureError

from .test_device_thread import DEADLINE, FakeCap, FakeLive, within


@pytest.fixture(autouse=True)
def _clean():
    FakeCap.instances.clear()
    yield
    FakeCap.instances.clear()


def _eventually(cond, seconds=DEADLINE):
    for _ in range(int(seconds / 0.05)):
        gc.collect()
        if cond():
            return True
        threading.Event().wait(0.05)
    return cond()


@pytest.mark.parametrize("reads", [0, 1])
def test_a_source_dropped_without_close_frees_its_capture_and_its_thread_ends(reads):
    # Before the device thread, dropping a source freed its cv2.VideoCapture, whose destructor
    # releases the camera. The idle device thread must not keep the capture (a read's bound
    # method), the last frame or the source (the open's bound method) alive, nor live for ever.
    src = FakeLive(lambda: FakeCap())
    src.open()
    for _ in range(reads):
        assert src.read() is not None
    cap, source = weakref.ref(FakeCap.instances.pop()), weakref.ref(src)
    thread = src._device._thread
    del src
    assert _eventually(lambda: cap() is None and source() is None), "the capture is kept alive by its device thread"
    assert _eventually(lambda: not thread.is_alive()), "the device thread of a dropped source never ends"


def test_a_release_that_never_returns_counts_toward_the_stuck_limit():
    # A wedged driver can hang in release() (a GStreamer pipeline set to NULL, a V4L2 close) as
    # well as in read(); each such release keeps a thread and a device handle for ever, so it
    # must count toward MAX_STUCK_CALLS like a stuck read.
    gate = threading.Event()

    class HangingRelease(FakeCap):
        def release(self):
            gate.wait()
            super().release()

    src = FakeLive(lambda: HangingRelease())
    try:
        for _ in range(MAX_STUCK_CALLS):
            within(src.open)
            within(src.read)
            within(src.close)  # gives up on the release after read_timeout_s
        with pytest.raises(CaptureError, match=f"{MAX_STUCK_CALLS} earlier calls into the driver have not returned"):
            within(src.open)
        assert len(FakeCap.instances) == MAX_STUCK_CALLS  # no new capture (nor thread)
    finally:
        gate.set()
    assert all(c.released.wait(DEADLINE) for c in FakeCap.instances)
    assert _eventually(lambda: not any(d.alive for d in src._stuck))
    within(src.open)  # opens again once they have returned
    within(src.close)


def test_a_late_clean_up_that_hangs_keeps_the_device_stuck():
    # An open given up on returns later and its capture is released in the device thread
    # (on_late); while that release hangs, the thread is still inside the driver.
    returned, entered, hang = threading.Event(), threading.Event(), threading.Event()
    device = DeviceThread("fake")
    try:
        with pytest.raises(CaptureError, match="opening did not return"):
            within(lambda: device.call(lambda: returned.wait() and "cap", 0.05, "opening",
                                       on_late=lambda cap: entered.set() or hang.wait()))
        returned.set()
        assert entered.wait(DEADLINE)
        assert device.stuck
        within(lambda: device.close(None, 0.05))
        assert device.stuck and device.alive
    finally:
        returned.set()
        hang.set()
    assert _eventually(lambda: not device.alive and not device.stuck)
