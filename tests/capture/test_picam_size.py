"""picam:// warns when libcamera delivers another frame size than the one asked for (an odd
width is aligned, a size above the sensor's is reduced), as v4l2:// does when the driver changes
the mode: a mask image drawn at the asked size would not fit the frames otherwise unexplained."""

from __future__ import annotations

import logging
import sys

from edgefill.capture import CaptureOptions, open_source

from ..fakes import FakePicamera2


class _Aligning(FakePicamera2):
    def configure(self, cfg):
        super().configure(cfg)
        w, h = self.config["main"]["size"]
        self.config["main"]["size"] = (w & ~1, h & ~1)  # libcamera: even sizes for RGB888 on a Pi


def _open(monkeypatch, caplog, cls, width, height):
    module = cls.module()
    monkeypatch.setitem(sys.modules, "picamera2", module)
    with caplog.at_level(logging.WARNING, logger="edgefill.capture.picam"):
        with open_source("picam://0", CaptureOptions(width=width, height=height)) as src:
            src.read()
    return [r.getMessage() for r in caplog.records]


def test_an_adjusted_size_is_reported(monkeypatch, caplog):
    (msg,) = _open(monkeypatch, caplog, _Aligning, 641, 481)
    assert "picam://0 delivers 640x480 frames, not the 641x481 asked for" in msg


def test_a_size_kept_as_asked_is_not_reported(monkeypatch, caplog):
    assert _open(monkeypatch, caplog, _Aligning, 640, 480) == []


def test_a_picamera2_without_camera_configuration_is_not_reported(monkeypatch, caplog):
    class Old(FakePicamera2):
        camera_configuration = property(lambda self: (_ for _ in ()).throw(AttributeError("old")))

    assert _open(monkeypatch, caplog, Old, 641, 481) == []
