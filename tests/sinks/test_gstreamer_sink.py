"""GstreamerSink (``-o gst://...``): the pipeline it builds, its errors, and what it hands OpenCV's
GStreamer writer (a recording fake where this OpenCV has no GStreamer; the real writer where it has)."""

from __future__ import annotations

import dataclasses
import logging
import threading

import numpy as np
import pytest

import edgefill.capture.gstreamer as capture_gst
import edgefill.sinks.gstreamer as gst_sink
from edgefill.errors import ConfigError
from edgefill.opencv_check import opencv_info
from edgefill.sinks import FrameResult, GstreamerSink
from edgefill.sinks.gstreamer import output_pipeline


REAL_WRITER = gst_sink.cv2.VideoWriter  # before any test puts a fake in its place


def frame(i, img, fps=None):
    return FrameResult(i, img, np.zeros(img.shape[:2], np.uint8), 0.0, source_fps=fps)


@pytest.mark.parametrize("given,built", [
    ("x264enc ! rtph264pay ! udpsink host=h port=5000", "appsrc ! videoconvert ! x264enc ! rtph264pay ! udpsink host=h port=5000"),
    ("gst://fakesink", "appsrc ! videoconvert ! fakesink"),
    ("  ! fakesink", "appsrc ! videoconvert ! fakesink"),
    ("appsrc ! videoconvert ! fakesink", "appsrc ! videoconvert ! fakesink"),
    ("appsrc name=appsrc1 is-live=true ! fakesink", "appsrc name=appsrc1 is-live=true ! fakesink"),
])
def test_the_pipeline_gets_an_appsrc_in_front_where_it_has_none(given, built):
    assert output_pipeline(given) == built


@pytest.mark.parametrize("given,says", [
    ("", "is empty"), ("gst://", "is empty"), (" ! ", "is empty"),
    ("appsrc name=src ! fakesink", "named 'src'"),  # OpenCV would not find it: "cannot find appsrc"
])
def test_a_pipeline_opencv_cannot_feed_is_refused(given, says):
    with pytest.raises(ConfigError, match=says):
        output_pipeline(given)


def _gstreamer(monkeypatch, present: bool):
    monkeypatch.setattr(capture_gst, "opencv_info", lambda: dataclasses.replace(opencv_info(), gstreamer=present))


def test_without_gstreamer_the_sink_is_refused_when_made(monkeypatch):
    _gstreamer(monkeypatch, False)
    with pytest.raises(ConfigError, match="needs OpenCV built with GStreamer"):
        GstreamerSink("fakesink")


@pytest.mark.parametrize("kwargs", [{"fps": 0}, {"fps": float("nan")}, {"close_timeout_s": 0}])
def test_bad_rates_and_timeouts_are_config_errors(monkeypatch, kwargs):
    _gstreamer(monkeypatch, True)
    with pytest.raises(ConfigError):
        GstreamerSink("fakesink", **kwargs)


class FakeWriter:
    """Records what the sink asks of cv2.VideoWriter."""

    made: list[FakeWriter] = []
    opens = True
    release_blocks: threading.Event | None = None

    def __init__(self, *args):
        self.args, self.frames, self.released = args, [], False
        FakeWriter.made.append(self)

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return FakeWriter.opens

    def write(self, img):
        self.frames.append(img.copy())

    def release(self):
        if FakeWriter.release_blocks is not None:
            FakeWriter.release_blocks.wait()
        self.released = True


@pytest.fixture
def fake_writer(monkeypatch):
    _gstreamer(monkeypatch, True)
    FakeWriter.made, FakeWriter.opens, FakeWriter.release_blocks = [], True, None
    monkeypatch.setattr(gst_sink.cv2, "VideoWriter", FakeWriter)
    yield FakeWriter
    if FakeWriter.release_blocks is not None:
        FakeWriter.release_blocks.set()


def test_frames_go_to_opencvs_gstreamer_writer_as_even_sized_bgr(fake_writer, caplog):
    sink = GstreamerSink("fakesink")
    grey = np.full((63, 97), 100, np.uint8)  # grey and odd-sized: BGR, 98x64
    with caplog.at_level(logging.WARNING):
        for i in range(3):
            sink.write(frame(i, grey, fps=30.0))
    sink.close()
    (w,) = fake_writer.made
    pipeline, api, fourcc, fps, size, colour = w.args
    assert pipeline == "appsrc ! videoconvert ! fakesink" and api == gst_sink.cv2.CAP_GSTREAMER and fourcc == 0
    assert fps == 30.0 and size == (98, 64) and colour is True
    assert len(w.frames) == 3 and all(f.shape == (64, 98, 3) for f in w.frames) and w.released
    assert sink.frames == 3 and "even sizes" in caplog.text


def test_the_rate_is_the_given_one_else_the_sources_else_25(fake_writer):
    img = np.zeros((64, 64, 3), np.uint8)
    for kwargs, source_fps, want in [({"fps": 12.5}, 30.0, 12.5), ({}, float("nan"), 25.0), ({}, None, 25.0)]:
        sink = GstreamerSink("fakesink", **kwargs)
        sink.write(frame(0, img, fps=source_fps))
        sink.close()
        assert fake_writer.made[-1].args[3] == want


def test_a_pipeline_that_does_not_start_is_one_config_error(fake_writer):
    fake_writer.opens = False
    sink = GstreamerSink("nosuchelement ! fakesink")
    with pytest.raises(ConfigError, match="cannot start the GStreamer output .*nosuchelement.* 64x64 BGR frames at 25 fps"):
        sink.write(frame(0, np.zeros((64, 64, 3), np.uint8)))
    assert fake_writer.made[0].released
    sink.close()  # nothing to close: no second release, no error


def test_a_pipeline_that_never_finishes_is_left_after_the_close_timeout(fake_writer, caplog):
    fake_writer.release_blocks = threading.Event()
    sink = GstreamerSink("fakesink", close_timeout_s=0.2)
    sink.write(frame(0, np.zeros((64, 64, 3), np.uint8)))
    with caplog.at_level(logging.WARNING):
        sink.close()  # returns: the end of the stream never got through
    assert "did not finish within 0.2 s" in caplog.text and not fake_writer.made[0].released


@pytest.mark.skipif(not opencv_info().gstreamer, reason="this OpenCV was built without GStreamer (pip's wheels are)")
def test_frames_reach_a_real_pipeline(tmp_path):
    sink = GstreamerSink(f"jpegenc ! multifilesink location={tmp_path}/%03d.jpg")
    rng = np.random.default_rng(0)
    for i in range(5):
        sink.write(frame(i, rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), fps=10.0))
    sink.close()
    assert len(list(tmp_path.glob("*.jpg"))) == 5


def test_errors_do_not_show_the_pipelines_password(monkeypatch):
    _gstreamer(monkeypatch, False)
    with pytest.raises(ConfigError) as err:
        GstreamerSink("x264enc ! rtspclientsink location=rtsp://pub:hunter2@server:8554/clean")
    assert "hunter2" not in str(err.value) and "rtsp://***@server" in str(err.value)


def test_edgefill_run_streams_every_frame_to_a_gst_output(fake_writer, tmp_path, capsys):
    """``edgefill run CLIP -o gst://...``: no file is checked or written; every frame goes to the
    writer, at the clip's own rate."""
    from edgefill.cli import main

    from ..fakes import write_video

    with pytest.MonkeyPatch.context() as real:  # the clip is written with OpenCV's own writer
        real.setattr(gst_sink.cv2, "VideoWriter", REAL_WRITER)
        clip = write_video(tmp_path / "c.avi", 6)
    rc = main(["run", str(clip), "--mask", "rect:10,10,40,30", "--backend", "opencv-telea",
               "-o", "gst://x264enc tune=zerolatency ! rtph264pay ! udpsink host=127.0.0.1 port=5000 sync=false"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "streamed 6 frames to gst://appsrc ! videoconvert ! x264enc" in out
    (w,) = fake_writer.made
    assert w.args[0].startswith("appsrc ! videoconvert ! x264enc") and w.args[3] == pytest.approx(25)
    assert len(w.frames) == 6 and w.released and list(tmp_path.iterdir()) == [clip]


def test_edgefill_run_without_gstreamer_says_so_in_one_line(monkeypatch, tmp_path, capsys):
    from edgefill.cli import main

    from ..fakes import write_video

    _gstreamer(monkeypatch, False)
    clip = write_video(tmp_path / "c.avi", 2)
    assert main(["run", str(clip), "--mask", "rect:10,10,40,30", "-o", "gst://fakesink"]) == 2
    err = capsys.readouterr().err.strip()
    assert "needs OpenCV built with GStreamer" in err and len(err.splitlines()) == 1
