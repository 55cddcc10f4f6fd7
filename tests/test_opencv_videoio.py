"""What the loaded OpenCV's video I/O can do: `edgefill doctor` says which of edgefill's sources
and outputs need a backend it lacks, and an rtsp:// source on an OpenCV without FFmpeg is one
ConfigError naming the cause, where it failed as a camera that cannot be reached."""

from __future__ import annotations

import cv2
import pytest

from edgefill import opencv_check
from edgefill.capture import CaptureOptions, open_source
from edgefill.errors import ConfigError
from edgefill.opencv_check import OpenCVInfo

BUILD = """  Video I/O:
    FFMPEG:                      {ffmpeg}
      avcodec:                   YES (62.28.101)
    GStreamer:                   {gst}
    v4l/v4l2:                    YES (linux/videodev2.h)
"""


@pytest.mark.parametrize("ffmpeg,gst", [("YES", "NO"), ("NO", "YES (1.20.3)"), ("NO", "NO"), ("YES", "YES (1.16.2)")])
def test_the_build_information_is_read_per_backend(monkeypatch, ffmpeg, gst):
    monkeypatch.setattr(cv2, "getBuildInformation", lambda: BUILD.format(ffmpeg=ffmpeg, gst=gst))
    info = opencv_check.opencv_info()
    assert (info.ffmpeg, info.gstreamer) == (ffmpeg == "YES", gst != "NO")
    assert opencv_check.built_with("FFMPEG") is (ffmpeg == "YES")


def test_doctor_notes_what_a_missing_backend_rules_out(capsys, monkeypatch):
    from edgefill.cli import main

    info = OpenCVInfo("4.10.0", "/venv/cv2", gstreamer=False, pip_wheels=(), is_jetson=False, ffmpeg=False)
    monkeypatch.setattr(opencv_check, "opencv_info", lambda: info)
    assert main(["doctor"]) == 0  # not a problem off a Jetson: a USB camera and files need neither
    out = capsys.readouterr().out
    assert "GStreamer: no; FFmpeg: no;" in out
    notes = [ln for ln in out.splitlines() if ln.startswith("note: ")]
    assert any("gst:// outputs" in n for n in notes) and any("rtsp:// sources" in n for n in notes)
    monkeypatch.setattr(opencv_check, "opencv_info",
                        lambda: OpenCVInfo("4.10.0", "/usr/cv2", True, (), False, ffmpeg=True))
    main(["doctor"])
    assert "note: " not in capsys.readouterr().out


def test_rtsp_without_ffmpeg_is_one_config_error(monkeypatch):
    monkeypatch.setattr(cv2, "getBuildInformation", lambda: BUILD.format(ffmpeg="NO", gst="YES (1.20.3)"))
    opened = []
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a, **k: opened.append(a))
    src = open_source("rtsp://admin:hunter2@cam/live", CaptureOptions(open_timeout_s=1.0))
    with pytest.raises(ConfigError, match="needs OpenCV built with FFmpeg") as err:
        src.open()
    assert "hunter2" not in str(err.value) and "gst://rtspsrc" in str(err.value)
    assert opened == []
