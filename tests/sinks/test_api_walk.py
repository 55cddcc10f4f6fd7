"""Sinks as a Python caller uses them: one sink per run, and ``with`` around a sink."""

import logging
import socket

import cv2
import numpy as np
import pytest

import edgefill
from edgefill.errors import ConfigError, ModelError
from edgefill.sinks import FrameResult, ImageFolderSink, MjpegPreviewSink, VideoFileSink, WindowSink

from ..fakes import write_video


def result(i=0, value=100):
    return FrameResult(i, np.full((64, 96, 3), value, np.uint8), np.zeros((64, 96), np.uint8), 0.0)


def run(source, sinks, frames):
    return edgefill.Pipeline(str(source), mask="rect:4,4,8,8", sinks=sinks, backend="opencv-telea", fallback=None,
                             stabilize=False, max_frames=frames).run()


def test_a_video_sink_given_to_a_second_run_is_one_config_error_and_keeps_the_first_video(tmp_path):
    """The second run wrote a new .part file and its close found fewer frames than the two runs
    had written: 'writing failed part-way (a full disk?)', and that run kept as .partial."""
    clip = write_video(tmp_path / "clip.avi", 8, size=(64, 48))
    out = tmp_path / "out.avi"
    sink = VideoFileSink(out)
    assert run(clip, [sink], 5).frames_out == 5
    with pytest.raises(ConfigError, match="give each run a new sink"):
        run(clip, [sink], 3)
    cap = cv2.VideoCapture(str(out))
    try:
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    finally:
        cap.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.avi", "out.avi"]


def test_a_video_sink_that_got_no_frame_may_run_again(tmp_path):
    """A run whose source did not open closes its sinks: a retry with the same sink still works."""
    clip = write_video(tmp_path / "clip.avi", 4, size=(64, 48))
    sink = VideoFileSink(tmp_path / "out.avi")
    with pytest.raises(edgefill.EdgeFillError):
        run(tmp_path / "missing.avi", [sink], 2)
    assert run(clip, [sink], 2).frames_out == 2 and (tmp_path / "out.avi").is_file()


def test_an_image_folder_sink_given_to_a_second_run_counts_that_run(tmp_path, caplog):
    """It counted on from the first run: its messages named the first run's frames as the second's."""
    sink = ImageFolderSink(tmp_path / "o")
    for i in range(4):
        sink.write(result(i))
    sink.close()
    assert sink.frames == 4  # what the run wrote, still there after close (edgefill run prints it)
    for i in range(2):
        sink.write(result(i))
    with caplog.at_level(logging.WARNING):
        sink.close_partial()
    assert sink.frames == 2 and "holds the 2 frames written by this run (000000.png to 000001.png)" in caplog.text


def test_a_closed_preview_refuses_frames():
    """Its server is shut down: frames of a second run went nowhere, without a word."""
    sink = MjpegPreviewSink(port=0)
    sink.close()
    with pytest.raises(ConfigError, match="give each run a new MjpegPreviewSink"):
        sink.write(result())


def _served(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_a_sink_is_a_context_manager_that_closes_on_errors_too(tmp_path):
    """A preview made before a Pipeline that fails to be made (an unknown model) kept its port and
    server: ``with`` closes it. A video written in a block that raises is kept as .partial."""
    with pytest.raises(ModelError):
        with MjpegPreviewSink(port=0) as preview:
            port = preview.port
            edgefill.Pipeline("clip.mp4", mask="rect:1,1,2,2", sinks=[preview], model="no-such-model")
    assert not _served(port)
    with pytest.raises(RuntimeError):
        with VideoFileSink(tmp_path / "v.avi", fps=10) as video:
            video.write(result())
            raise RuntimeError("detector crashed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.partial.avi"]
    with VideoFileSink(tmp_path / "w.avi", fps=10) as video:
        video.write(result())
    video.close()  # as a Pipeline does at the end of its run, before the with block ends: nothing more
    assert (tmp_path / "w.avi").is_file()


def test_a_window_is_destroyed_once_and_only_if_it_was_shown(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(cv2, "getBuildInformation", lambda: "GUI: GTK3")
    calls = []
    monkeypatch.setattr(cv2, "imshow", lambda *a: calls.append("show"))
    monkeypatch.setattr(cv2, "waitKey", lambda *a: -1)
    monkeypatch.setattr(cv2, "destroyWindow", lambda t: calls.append("destroy"))
    never = WindowSink()
    never.close()  # a run whose source did not open: no window to destroy
    with WindowSink() as window:
        window.write(result())
        window.close()
    assert calls == ["show", "destroy"]


@pytest.mark.parametrize("ext", ["png", ".PNG", ".gif"])
def test_an_image_extension_it_cannot_write_names_those_it_can(tmp_path, ext):
    """The error said only "unsupported image extension 'png'", not what to give instead."""
    with pytest.raises(ConfigError, match=r"use one of \.png, \.jpg"):
        ImageFolderSink(tmp_path / "o", ext=ext)
