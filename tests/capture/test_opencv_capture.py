"""Opening cameras: plain camera paths, and the size and rate a camera really delivers."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.capture.opencv_capture import VideoCaptureSource
from edgefill.errors import ConfigError


@pytest.mark.parametrize("uri,hint", [("0", "v4l2://0"), ("/dev/video0", "v4l2:///dev/video0")])
def test_a_camera_given_as_a_path_names_the_uri_to_use(uri, hint, tmp_path, monkeypatch):
    """`edgefill run 0` or `/dev/video0` was opened as a video file that 'does not exist' (and
    /dev/video0 does exist, as a device)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=hint):
        open_source(uri)


def test_a_file_named_like_a_camera_number_is_still_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "0").write_bytes(b"")
    assert type(open_source("0")).__name__ == "VideoFileSource"


class _ModeCap:
    """A camera that offers 640x480 at 15 fps whatever it is asked for."""

    def isOpened(self):
        return True

    def get(self, prop):
        return {cv2.CAP_PROP_FRAME_WIDTH: 640.0, cv2.CAP_PROP_FRAME_HEIGHT: 480.0, cv2.CAP_PROP_FPS: 15.0}.get(prop, 0.0)

    def read(self):
        return True, np.zeros((480, 640, 3), np.uint8)

    def release(self):
        pass


class _ModeCamera(VideoCaptureSource):
    live = True

    def _open_capture(self):
        return _ModeCap()


@pytest.mark.parametrize("asked,warned", [(dict(width=1280, height=720, fps=30.0), ["640x480", "15 fps"]),
                                          (dict(width=640, height=480, fps=15.0), []), ({}, [])])
def test_a_camera_that_ignores_the_requested_mode_is_reported(asked, warned, caplog):
    """A camera that does not offer the requested size or rate picks another one silently; the
    mask, drawn for the size asked for, then failed with a shape error and nothing said why."""
    src = _ModeCamera("fake://cam", CaptureOptions(**asked))
    with caplog.at_level(logging.WARNING):
        src.open()
        assert src.read().shape == (480, 640, 3)
        src.close()
    for text in warned:
        assert text in caplog.text
    if not warned:
        assert "asked for" not in caplog.text


def test_the_mode_warning_is_said_once_not_at_every_reconnect(caplog):
    """The source reopens the camera at every reconnect; the same two warnings came every time."""
    src = _ModeCamera("fake://cam", CaptureOptions(width=1280, height=720, fps=30.0))
    with caplog.at_level(logging.WARNING):
        for _ in range(3):  # open, then two reconnects
            src.open()
            src.close()
    assert caplog.text.count("640x480") == 1 and caplog.text.count("15 fps") == 1


@pytest.mark.parametrize("flip, warned", [(0, True), (1, False), (2, True), (3, False), (5, False), (7, False)])
def test_a_csi_camera_turned_a_quarter_turn_is_not_said_to_ignore_its_size(flip, warned, monkeypatch, caplog):
    """nvvidconv's flip-method 1, 3, 5 and 7 turn the frames, which then come height x width:
    every open of csi:// with such a flip warned that the camera "does not offer" 480x640."""
    from edgefill.capture import gstreamer

    monkeypatch.setattr(gstreamer, "require_gstreamer", lambda *a, **k: None)
    monkeypatch.setattr(gstreamer.cv2, "VideoCapture", lambda *a: _ModeCap())  # gives 640x480
    src = open_source("csi://0", CaptureOptions(width=480, height=640, fps=15.0, flip=flip))
    with caplog.at_level(logging.WARNING):
        src.open()
        src.close()
    assert ("does not offer that size" in caplog.text) == warned
