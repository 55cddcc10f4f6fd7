"""The warning about a frame of another size names the first frame's size, and the size the video
is written at when that was made even: "the video 67x65" was said of a file that is 68x66."""

from __future__ import annotations

import logging

import numpy as np

from edgefill.sinks.video_frames import FixedFrameSize


def test_the_warning_says_both_sizes_when_the_video_is_made_even(caplog):
    fit = FixedFrameSize("out.mp4")
    assert fit.start(np.zeros((65, 67, 3), np.uint8)) == (68, 66)
    with caplog.at_level(logging.WARNING):
        out = fit.fit(np.zeros((40, 50, 3), np.uint8), 3)
    assert out.shape == (66, 68, 3)
    msg = [r.getMessage() for r in caplog.records if "frame 3" in r.getMessage()]
    assert len(msg) == 1 and "the first frame 67x65 (written 68x66, made even)" in msg[0], msg


def test_an_even_video_names_the_first_frame_only(caplog):
    fit = FixedFrameSize("out.mp4")
    fit.start(np.zeros((64, 80, 3), np.uint8))
    with caplog.at_level(logging.WARNING):
        fit.fit(np.zeros((40, 50, 3), np.uint8), 1)
    assert "frame 1 is 50x40, the first frame 80x64: frames" in caplog.text and "made even" not in caplog.text
