"""Sources as a Python caller names them: pathlib paths, and what is not a source at all."""

from pathlib import Path

import cv2
import numpy as np
import pytest

import edgefill
from edgefill.capture import open_source, scheme_of
from edgefill.errors import ConfigError
from edgefill.sinks import CallbackSink

from ..fakes import write_video


def test_a_pathlib_path_opens_as_its_string_does(tmp_path):
    """Path('clip.mp4') (how scripts build their paths, and what masks and sinks take) was a
    TypeError ('PosixPath' is not iterable) from open_source, and so from Pipeline."""
    video = write_video(tmp_path / "clip.avi", 3)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f"f_{i}.png"), np.zeros((8, 8, 3), np.uint8))
    assert scheme_of(video) == "file" and scheme_of(folder) == "images"
    with open_source(video) as src:
        assert src.read() is not None
    got = []
    stats = edgefill.Pipeline(Path(folder), mask="rect:1,1,2,2", sinks=[CallbackSink(got.append)],
                              backend="opencv-telea", fallback=None, stabilize=False).run()
    assert stats.frames_out == 2 and len(got) == 2


@pytest.mark.parametrize("uri, message", [(0, "v4l2://0"), (b"clip.mp4", "not bytes"), (None, "not NoneType")])
def test_a_source_that_is_no_path_is_one_config_error(uri, message):
    """A camera number (cv2.VideoCapture(0)'s habit) gets the URI to write, other objects a
    ConfigError naming their type; both were TypeErrors."""
    with pytest.raises(ConfigError, match=message):
        open_source(uri)
