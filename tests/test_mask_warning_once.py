"""The "mask covers almost the whole image" warning is said once per mask source, also for the
holes that a source makes by inverting (``--invert-mask``) and for mask videos: it was logged for
every frame of a stream, hundreds of lines a minute."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from edgefill.pipeline import Pipeline
from edgefill.sinks import CallbackSink

from .fakes import write_video


def _said(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "of the image as hole" in r.getMessage()]


def _run(clip, mask, invert: bool) -> None:
    Pipeline(str(clip), mask, [CallbackSink(lambda r: None)], backend="opencv-telea", stabilize=False,
             invert_mask=invert).run()


@pytest.mark.parametrize("spec", ["rect:0,0,8,8", "key:1,2,3,0"])
def test_an_inverted_shape_or_key_warns_once(tmp_path, caplog, spec):
    clip = write_video(tmp_path / "c.avi", 6)
    with caplog.at_level(logging.WARNING, logger="edgefill"):
        _run(clip, spec, invert=True)
    said = _said(caplog)
    assert len(said) == 1, said
    assert "leave the inversion out" in said[0] and "Said once" in said[0]


def test_a_mask_video_almost_all_hole_warns_once(tmp_path, caplog):
    clip = write_video(tmp_path / "c.avi", 6)  # 320x240
    masks = tmp_path / "m.avi"
    w = cv2.VideoWriter(str(masks), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for _ in range(6):
        w.write(np.full((240, 320, 3), 255, np.uint8))
    w.release()
    with caplog.at_level(logging.WARNING, logger="edgefill"):
        _run(clip, str(masks), invert=False)
    said = _said(caplog)
    assert len(said) == 1 and "pass invert=True" in said[0], said


def test_a_mask_that_is_not_almost_all_hole_says_nothing(tmp_path, caplog):
    clip = write_video(tmp_path / "c.avi", 4)
    with caplog.at_level(logging.WARNING, logger="edgefill"):
        _run(clip, "rect:0,0,300,200", invert=True)  # the complement: a frame border, not almost all
    assert _said(caplog) == []
