"""v4l2:// takes a pixel format (CaptureOptions.fourcc, `edgefill run --fourcc MJPG`): most USB
webcams give 720p/1080p at 30 fps only in MJPEG, and 5-10 fps in their default YUYV. The format
is set before the size, and a camera that delivers another one is reported, as a size or rate
it does not offer is."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.cli import main
from edgefill.errors import ConfigError


class _RecordingCap:
    """A V4L2 camera that records what it is set to and delivers ``delivers`` as its format."""

    def __init__(self, delivers: str | None):
        self.sets: list[tuple[int, float]] = []
        self.delivers = delivers

    def isOpened(self):
        return True

    def set(self, prop, value):
        self.sets.append((prop, value))
        return True

    def get(self, prop):
        if prop == cv2.CAP_PROP_FOURCC:
            return float(cv2.VideoWriter_fourcc(*self.delivers)) if self.delivers else 0.0
        return {cv2.CAP_PROP_FRAME_WIDTH: 1280.0, cv2.CAP_PROP_FRAME_HEIGHT: 720.0, cv2.CAP_PROP_FPS: 30.0}.get(prop, 0.0)

    def read(self):
        return True, np.zeros((720, 1280, 3), np.uint8)

    def release(self):
        pass


@pytest.fixture
def camera(monkeypatch):
    made: list[_RecordingCap] = []

    def open_camera(delivers):
        def video_capture(*args):
            made.append(_RecordingCap(delivers))
            return made[-1]
        monkeypatch.setattr(cv2, "VideoCapture", video_capture)
        return made
    return open_camera


def test_the_format_is_set_before_the_size(camera):
    made = camera("MJPG")
    with open_source("v4l2://0", CaptureOptions(width=1280, height=720, fps=30, fourcc="MJPG")) as src:
        src.read()
    props = [p for p, _ in made[0].sets]
    assert props.index(cv2.CAP_PROP_FOURCC) < props.index(cv2.CAP_PROP_FRAME_WIDTH)
    assert dict(made[0].sets)[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*"MJPG")


def test_no_format_leaves_the_drivers(camera):
    made = camera("YUYV")
    with open_source("v4l2://0", CaptureOptions(width=1280, height=720)) as src:
        src.read()
    assert cv2.CAP_PROP_FOURCC not in [p for p, _ in made[0].sets]


def test_a_camera_that_delivers_another_format_is_reported(camera, caplog):
    camera("YUYV")
    with caplog.at_level(logging.WARNING):
        with open_source("v4l2://0", CaptureOptions(fourcc="MJPG")) as src:
            src.read()
    assert "delivers YUYV, not the MJPG pixel format asked for" in caplog.text


@pytest.mark.parametrize("bad", ["MJPEG", "MJ", "", "MJ\nG", 1196444237])
def test_a_code_that_is_not_four_characters_is_refused(bad):
    with pytest.raises(ConfigError, match="four-character pixel format code"):
        CaptureOptions(fourcc=bad)


def test_the_cli_refuses_fourcc_for_other_sources(tmp_path, capsys):
    code = main(["run", "samples/clip.mp4", "--mask", "rect:0,0,8,8", "--fourcc", "MJPG", "-o", str(tmp_path / "o.mp4")])
    assert code == 2 and "--fourcc applies to v4l2:// cameras only" in capsys.readouterr().err


def test_a_profile_camera_gives_its_format_and_an_option_wins(camera, tmp_path):
    """x86-cpu's camera (v4l2, 1280x720 at 30 fps) asks for MJPG, as most webcams give that size
    and rate only in MJPEG; --fourcc wins over the profile's."""
    for extra, want in (([], "MJPG"), (["--fourcc", "YUYV"], "YUYV")):
        made = camera(want)
        made.clear()  # one list for the test
        code = main(["run", "--profile", "x86-cpu", "--mask", "rect:0,0,8,8", "--backend", "opencv-telea",
                     "--max-frames", "2", "--stats-json", str(tmp_path / "s.json"), *extra])
        assert code == 0
        assert dict(made[0].sets)[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*want)


@pytest.mark.parametrize("camera_yaml, message", [
    ('{source: "v4l2:///dev/video0", fourcc: MJPEG}', "four-character pixel format code"),
    ('{source: "csi://0", fourcc: MJPG}', "fourcc is for a v4l2:// camera"),
])
def test_a_profile_fourcc_that_cannot_apply_is_refused(tmp_path, camera_yaml, message):
    from edgefill.profiles import DeviceProfile

    text = (Path("firmware_configs/x86-cpu.yaml").read_text().splitlines())
    text = [f"  camera: {camera_yaml}" if line.startswith("  camera:") else line for line in text]
    path = tmp_path / "x86-cpu.yaml"
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(ConfigError, match=message):
        DeviceProfile.load(path)
