"""VideoFileSink and ImageFolderSink on odd but valid frames: grey or BGRA frames, odd sizes,
a size that changes mid-stream, frame rates a video cannot have, and folders that already
hold frames of an earlier run."""

import logging
import math

import cv2
import numpy as np
import pytest

from edgefill.errors import ConfigError
from edgefill.sinks import FrameResult, ImageFolderSink, VideoFileSink


def frame(i, img, fps=None):
    return FrameResult(i, img, np.zeros(img.shape[:2], np.uint8), 0.0, source_fps=fps)


def read_back(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return frames, fps


@pytest.mark.parametrize("kind", ["grey", "grey1", "bgra"])
def test_video_sink_writes_grey_and_bgra_frames(tmp_path, kind):
    """OpenCV's writer silently drops frames whose channels are not 3: the video was renamed to
    its final name with no frame in it."""
    grey = np.full((64, 96), 120, np.uint8)
    img = {"grey": grey, "grey1": grey[:, :, None],
           "bgra": np.dstack([np.full((64, 96, 3), 120, np.uint8), np.full((64, 96), 255, np.uint8)])}[kind]
    sink = VideoFileSink(tmp_path / "v.avi", fps=10)
    for i in range(4):
        sink.write(frame(i, img))
    sink.close()
    frames, _ = read_back(tmp_path / "v.avi")
    assert len(frames) == 4
    assert abs(float(frames[0].mean()) - 120) < 6


@pytest.mark.parametrize("ext", [".mp4", ".avi"])
def test_video_sink_keeps_every_pixel_of_odd_sized_frames(tmp_path, ext, caplog):
    """OpenCV's encoders need even sizes and silently cut the last row and column of a 97x63
    frame; the sink now repeats them to 98x64 and says so."""
    img = np.zeros((63, 97, 3), np.uint8)
    img[-1, :, 2] = 255  # last row red
    img[:, -1, 1] = 255  # last column green
    sink = VideoFileSink(tmp_path / f"v{ext}", fps=10)
    with caplog.at_level(logging.WARNING):
        for i in range(3):
            sink.write(frame(i, img))
    sink.close()
    frames, _ = read_back(tmp_path / f"v{ext}")
    assert len(frames) == 3 and frames[0].shape == (64, 98, 3)
    assert frames[0][62, :90, 2].mean() > 150  # the red last row survived
    assert frames[0][:56, 96, 1].mean() > 150  # the green last column survived
    assert "98x64" in caplog.text


def test_video_sink_warns_when_the_frame_size_changes(tmp_path, caplog):
    sink = VideoFileSink(tmp_path / "v.avi", fps=10)
    with caplog.at_level(logging.WARNING):
        sink.write(frame(0, np.zeros((64, 96, 3), np.uint8)))
        sink.write(frame(1, np.zeros((32, 32, 3), np.uint8)))
        sink.write(frame(2, np.zeros((32, 32, 3), np.uint8)))
    sink.close()
    assert caplog.text.count("scaled") == 1 and "frame 1 is 32x32" in caplog.text
    frames, _ = read_back(tmp_path / "v.avi")
    assert [f.shape for f in frames] == [(64, 96, 3)] * 3


@pytest.mark.parametrize("fps", [math.inf, math.nan])
def test_video_sink_refuses_an_fps_no_video_can_have(tmp_path, fps):
    """--fps inf hung OpenCV's writer forever on the first frame; NaN failed there as
    'OpenCV cannot write'."""
    with pytest.raises(ConfigError, match="finite number > 0"):
        VideoFileSink(tmp_path / "v.mp4", fps=fps)


def test_video_sink_ignores_a_source_frame_rate_no_video_can_have(tmp_path):
    """A source reporting NaN fps made the first frame fail with 'OpenCV cannot write'; it
    now falls back to 25 fps, as for a source reporting none."""
    sink = VideoFileSink(tmp_path / "v.mp4")
    for i in range(2):
        sink.write(frame(i, np.zeros((64, 96, 3), np.uint8), fps=math.nan))
    sink.close()
    frames, fps = read_back(tmp_path / "v.mp4")
    assert len(frames) == 2 and fps == pytest.approx(25.0)


def test_image_folder_sink_warns_about_frames_of_an_earlier_run(tmp_path, caplog):
    """A folder holding 5 frames of an earlier run, written over by a 2-frame run, held 5
    numbered frames with no word that 3 are not this run's."""
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a frame")
    sink = ImageFolderSink(folder)
    for i in range(5):
        sink.write(frame(i, np.zeros((8, 8, 3), np.uint8)))
    with caplog.at_level(logging.WARNING):
        sink.close()
    assert caplog.text == ""
    sink = ImageFolderSink(folder)
    for i in range(2):
        sink.write(frame(i, np.full((8, 8, 3), 50, np.uint8)))
    with caplog.at_level(logging.WARNING):
        sink.close()
    assert "holds 3 numbered .png frames that this run did not write" in caplog.text
    assert len(list(folder.glob("*.png"))) == 5  # nothing is deleted
