"""Local sources (picam://, csi://, v4l2://, files and folders) on inputs and states found in review:
a stalled Pi camera that could not be closed, an old picamera2, fractional CSI frame rates,
non-ASCII digits in camera numbers, a folder given as a video file, a folder source read
before it was opened."""

from __future__ import annotations

import concurrent.futures
import sys
import threading
import types

import numpy as np
import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.capture.gstreamer import csi_pipeline
from edgefill.capture.v4l2 import device_of
from edgefill.errors import BackendUnavailableError, CaptureError
from tests.fakes import FakePicamera2


class QueuedPicamera2:
    """picamera2's job queue as its source has it: ``capture_array(wait=False)`` queues a job that
    the next frame completes; with the event loop running (as after ``start()``), ``stop()`` is
    dispatched as a job behind the queued ones and waited for with no timeout; and a stalled
    camera sends no frame, so a capture queued then never completes. ``cancel_all_and_flush()``
    cancels the queued jobs. Here ``stop()`` gives up after ``stop_wait_s`` (and says so) instead
    of blocking the test for ever."""

    stop_wait_s = 1.0

    def __init__(self, camera_num=0):
        self.jobs: list[concurrent.futures.Future] = []
        self.lock = threading.Lock()
        self.stop_blocked = False
        self.closed = False

    def create_video_configuration(self, main, controls, transform=None):
        return {"main": main}

    def configure(self, cfg):
        pass

    def start(self):
        pass

    def capture_array(self, name="main", wait=None):
        job = concurrent.futures.Future()
        with self.lock:
            self.jobs.append(job)
        return job

    def wait(self, job, timeout=None):
        return job.result(timeout=timeout)

    def cancel_all_and_flush(self):
        with self.lock:
            for job in self.jobs:
                job.cancel()
            self.jobs = []

    def stop(self):
        job = concurrent.futures.Future()
        with self.lock:
            behind = bool(self.jobs)
            self.jobs.append(job)
        if behind:  # only a frame would run the jobs ahead of it: none comes
            try:
                job.result(timeout=self.stop_wait_s)
            except concurrent.futures.TimeoutError:
                self.stop_blocked = True
                raise
        with self.lock:
            self.jobs.remove(job)

    def close(self):
        self.closed = True


def test_picam_closes_a_stalled_camera_without_waiting_behind_the_timed_out_capture(monkeypatch):
    """A read that timed out left its capture job queued; picamera2's stop() queued itself
    behind it and waited with no timeout, so closing (the reconnect) hung for ever."""
    cams = []

    class Picamera2(QueuedPicamera2):
        def __init__(self, camera_num=0):
            super().__init__(camera_num)
            cams.append(self)

    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=Picamera2))
    src = open_source("picam://0", CaptureOptions(read_timeout_s=0.1))
    src.open()
    with pytest.raises(CaptureError, match="stalled"):
        src.read()
    src.close()
    assert not cams[0].stop_blocked, "stop() waited behind the capture a stalled camera never completes"
    assert cams[0].closed and not cams[0].jobs


def test_picam_refuses_a_picamera2_whose_wait_takes_no_timeout(monkeypatch):
    """Early picamera2 0.3 releases have ``wait(job)`` only: every read was a TypeError traceback."""
    module = FakePicamera2.module()

    def wait(self, job):
        return FakePicamera2.wait(self, job)

    module.Picamera2.wait = wait
    monkeypatch.setitem(sys.modules, "picamera2", module)
    src = open_source("picam://0")
    with pytest.raises(BackendUnavailableError, match=r"too old.*takes no timeout"):
        src.open()
    assert not module.Picamera2.claimed  # refused before the camera was claimed


@pytest.mark.parametrize("fps,caps", [
    (7.5, "framerate=15/2,"),  # was 8/1
    (2.5, "framerate=5/2,"),  # was 2/1 (round half to even)
    (1.4, "framerate=7/5,"),  # was 1/1
    (30000 / 1001, "framerate=30000/1001,"),  # NTSC, was 30/1
    (29.97, "framerate=2997/100,"),
    (30, "framerate=30/1,"),
])
def test_csi_caps_take_the_frame_rate_as_a_fraction(fps, caps):
    """The rate was rounded to whole fps: 7.5 fps asked the sensor for 8."""
    p = csi_pipeline(0, CaptureOptions(fps=fps))
    assert caps in p
    num, den = p.split("framerate=")[1].split(",")[0].split("/")
    assert abs(int(num) / int(den) - fps) < 1e-6


@pytest.mark.parametrize("uri", ["picam://²", "picam://0²"])
def test_a_picam_uri_takes_ascii_digits_only(monkeypatch, uri):
    """'²' passed str.isdigit() and int() raised a ValueError traceback."""
    monkeypatch.setitem(sys.modules, "picamera2", FakePicamera2.module())
    with pytest.raises(CaptureError, match="takes a camera number"):
        open_source(uri).open()


def test_a_v4l2_uri_with_non_ascii_digits_is_a_path_not_a_value_error():
    """'v4l2://²' was int('²'): a ValueError traceback from opening, in the CLI too."""
    assert device_of("v4l2://²") == "²"
    assert device_of("v4l2://2") == 2 and device_of("v4l2:///dev/video2") == "/dev/video2"
    with pytest.raises(CaptureError, match="cannot open"):
        open_source("v4l2://²", CaptureOptions(open_timeout_s=5)).open()


def test_a_folder_given_as_a_file_uri_is_named_a_folder(tmp_path):
    """file:///data/frames said "video file /data/frames does not exist" of a folder that exists."""
    with pytest.raises(CaptureError, match="is a folder, not a video file.*images://"):
        open_source(tmp_path.as_uri()).open()


@pytest.mark.parametrize("loop", [False, True])
def test_an_image_folder_read_before_open_says_so(tmp_path, loop):
    """Before open(), read() was an IndexError with loop=True and an empty "end" without it."""
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((4, 4, 3), np.uint8))
    src = open_source(str(tmp_path), CaptureOptions(loop=loop))
    with pytest.raises(CaptureError, match="is not open"):
        src.read()
    src.open()
    assert src.read().shape == (4, 4, 3)
