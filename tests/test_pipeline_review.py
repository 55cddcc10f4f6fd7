"""Review of the pipeline: what it closes, its argument checks, and a warning said once per run."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest

import edgefill
from edgefill.capture import CaptureOptions
from edgefill.capture.base import FrameSource
from edgefill.errors import CaptureError, ConfigError
from edgefill.pipeline import Pipeline
from edgefill.sinks import CallbackSink

from .fakes import write_video


def _sink():
    return CallbackSink(lambda r: None)


def test_a_fallback_inpainter_passed_in_is_left_open(tmp_path):
    """It was closed at the end of the run, so the next run (or another camera) sharing it failed
    at its first fallback frame: "backend 'opencv-telea' is closed"."""
    clip = write_video(tmp_path / "c.avi", 3)
    fallback = edgefill.Inpainter(backend="opencv-telea")
    for _ in range(2):
        Pipeline(str(clip), "rect:1,1,8,8", [_sink()], backend="opencv-telea", fallback=fallback).run()
    image = np.zeros((32, 32, 3), np.uint8)
    hole = np.zeros((32, 32), np.uint8)
    hole[8:16, 8:16] = 255
    assert fallback.inpaint(image, hole).shape == image.shape
    fallback.close()


def test_a_fallback_made_from_a_name_is_closed_at_the_end(tmp_path):
    clip = write_video(tmp_path / "c.avi", 2)
    p = Pipeline(str(clip), "rect:1,1,8,8", [_sink()], backend="opencv-telea", fallback="opencv-ns")
    p.run()
    assert p.fallback.backend._closed and p.inpainter.backend._closed


def test_a_mask_video_named_by_a_spec_is_released_at_the_end(tmp_path):
    """The pipeline opened the mask video's capture (a file handle and a decoder) and never let it go."""
    clip = write_video(tmp_path / "c.avi", 3)
    masks = write_video(tmp_path / "m.avi", 3)
    p = Pipeline(str(clip), str(masks), [_sink()], backend="opencv-telea", stabilize=False)
    p.run()
    assert p.mask_source.source.cap is None


def test_a_failed_start_closes_what_the_pipeline_made(tmp_path):
    """A source that cannot be opened left the pipeline's Inpainters open (a TensorRT engine, an
    ONNX session): `with Pipeline(...)` never reaches __exit__ when start() raises."""
    p = Pipeline(str(tmp_path / "missing.avi"), "rect:1,1,8,8", [_sink()], backend="opencv-telea")
    with pytest.raises(CaptureError), p:
        pass
    assert p.inpainter.backend._closed and p.fallback.backend._closed
    assert p.stop().frames_out == 0  # a stop() after it (a caller's finally) is harmless


def test_a_failed_constructor_releases_what_it_made_so_far(tmp_path, monkeypatch):
    """An unknown fallback backend raised after the mask video had been opened and the model
    loaded: both stayed open (a file handle and a decoder, an ONNX session) until garbage
    collection. The caller's sinks were never taken, so they are left alone."""
    import edgefill.pipeline as pipeline_module

    made = []
    real_inpainter = pipeline_module.Inpainter

    def recording_inpainter(*args, **kwargs):
        made.append(real_inpainter(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(pipeline_module, "Inpainter", recording_inpainter)
    clip = write_video(tmp_path / "c.avi", 3)
    masks = write_video(tmp_path / "m.avi", 3)
    opened = []
    real_as_mask_source = pipeline_module.as_mask_source
    monkeypatch.setattr(pipeline_module, "as_mask_source",
                        lambda *a, **k: opened.append(real_as_mask_source(*a, **k)) or opened[-1])
    closes = []
    sink = CallbackSink(lambda r: None)
    sink.close = lambda: closes.append("close")
    sink.close_partial = lambda: closes.append("close_partial")
    with pytest.raises(ConfigError, match="unknown backend"):
        Pipeline(str(clip), str(masks), [sink], backend="opencv-telea", fallback="no-such-backend")
    assert len(made) == 1 and made[0].backend._closed
    assert len(opened) == 1 and opened[0].cap is None
    assert closes == []


@pytest.mark.parametrize("option,value", [("max_frames", 0), ("max_frames", -1), ("max_frames", 2.5),
                                          ("queue_size", "4"), ("queue_size", 2.5), ("queue_size", True),
                                          ("deadline_ms", "30"), ("deadline_ms", True)])
def test_values_of_the_wrong_kind_are_config_errors(option, value):
    """max_frames 0 or -1 ran no frame (an empty output, exit 0) and 2.5 ran 3; a string for
    queue_size or deadline_ms was a TypeError, and True a queue of 1 or a deadline of 1 ms."""
    with pytest.raises(ConfigError, match=rf"^{option} must be .*, got {value!r}"):
        Pipeline("samples/clip.mp4", "rect:0,0,8,8", backend="opencv-telea", **{option: value})


def test_the_almost_the_whole_frame_warning_is_said_once_per_run(tmp_path, caplog):
    """It was logged for every frame of a stream (hundreds of lines a minute at 30 fps)."""
    clip = write_video(tmp_path / "c.avi", 6)  # 320x240
    with caplog.at_level(logging.WARNING, logger="edgefill"):
        Pipeline(str(clip), "rect:0,0,320,236", [_sink()], backend="opencv-telea", stabilize=False).run()
    said = [r for r in caplog.records if "of the image as hole" in r.getMessage()]
    assert len(said) == 1 and "--invert-mask" in said[0].getMessage()


class _SlowToReopenCamera(FrameSource):
    """A live camera whose first read fails, so it reconnects, and whose reopening then takes
    2.5 s: within its ``open_timeout_s`` of 3 s, but over its read timeout of 1 s plus 1 s."""

    live = True

    def __init__(self):
        super().__init__("fake://reopening", CaptureOptions(read_timeout_s=1.0, open_timeout_s=3.0))
        self.opens, self.closed_after_reopen, self.reopening = 0, False, threading.Event()

    def open(self):
        self.opens += 1
        if self.opens > 1:
            self.reopening.set()
            time.sleep(2.5)

    def read(self):
        raise CaptureError("fake://reopening dropped")

    def close(self):
        self.closed_after_reopen = self.opens > 1


def test_stop_waits_for_a_reconnect_that_is_within_its_open_timeout(caplog):
    """stop() gave a read the read timeout + 1 s, but a read that reconnects may take the open
    timeout (a camera's first frame too): a camera reopening within its own bound was abandoned
    with "read() has not returned", and released later by a daemon thread, which the end of the
    process kills (a Jetson's nvargus-daemon is then left holding the sensor)."""
    src = _SlowToReopenCamera()
    p = Pipeline(src, "rect:1,1,8,8", [_sink()], backend="opencv-telea", stabilize=False).start()
    assert src.reopening.wait(10)
    p.stop(timeout=20)
    assert "has not returned" not in caplog.text
    assert src.closed_after_reopen and not [t for t in threading.enumerate() if t.name == "edgefill-capture"]


def test_wait_returns_only_once_the_run_is_finished_when_stop_runs_in_another_thread(tmp_path, monkeypatch):
    """With stop() called from another thread (a signal handler, a supervisor) while the main
    thread waits, wait() returned True as soon as the other thread had begun finishing: before
    the statistics were written and the Inpainters closed."""
    import edgefill.pipeline as pipeline_module

    writing, real_write = threading.Event(), pipeline_module.atomic_write_bytes

    def slow_write(path, data):
        writing.set()
        time.sleep(0.5)
        real_write(path, data)

    monkeypatch.setattr(pipeline_module, "atomic_write_bytes", slow_write)
    clip = write_video(tmp_path / "c.avi", 2)
    stats = tmp_path / "s.json"
    p = Pipeline(str(clip), "rect:1,1,8,8", [_sink()], backend="opencv-telea", stats_json=stats).start()
    stopper = threading.Thread(target=p.stop)
    stopper.start()
    assert writing.wait(10)
    assert p.wait(10) and stats.is_file() and p.inpainter.backend._closed
    stopper.join(10)


def test_a_failed_start_closes_the_sinks_as_the_end_of_a_run_does(tmp_path):
    """The sinks stayed open when the source could not be opened (an MJPEG preview kept its port
    bound until garbage collection); a file sink that wrote nothing leaves no file."""
    from edgefill.sinks import MjpegPreviewSink, VideoFileSink

    preview = MjpegPreviewSink(port=0)
    video = VideoFileSink(tmp_path / "out.avi")
    p = Pipeline(str(tmp_path / "missing.avi"), "rect:1,1,8,8", [preview, video], backend="opencv-telea")
    with pytest.raises(CaptureError):
        p.start()
    assert preview._closed and preview.server.socket.fileno() == -1  # the port is free again
    assert list(tmp_path.iterdir()) == []
