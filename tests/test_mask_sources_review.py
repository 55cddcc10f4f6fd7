"""Mask-input defects found by a docs walk: --loop with a mask video or folder, the advice of the
"almost the whole image" warning after --invert-mask, and the quoting of a box without area."""

import json
import logging

import cv2
import numpy as np
import pytest

import edgefill
from edgefill.capture import CaptureOptions
from edgefill.errors import InputError
from edgefill.mask_sources import CallableMask, MaskPostprocess, MaskSequence, as_mask_source, parse_mask_spec
from edgefill.pipeline import Pipeline
from edgefill.sinks import CallbackSink

from .fakes import write_video

FRAME = np.zeros((40, 60, 3), np.uint8)
ADVISE_INVERT = "pass invert=True"  # the advice for a mask that was not inverted
SAYS_INVERTED = "leave the inversion out"  # the advice for one that was


def _mask_video(path, n, size=(60, 40)):
    """A mask video whose mask i is a white column at x = 4 * i (MJPG: near-lossless on a column)."""
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, size)
    for i in range(n):
        m = np.zeros((size[1], size[0], 3), np.uint8)
        m[:, 4 * i: 4 * i + 4] = 255
        wr.write(m)
    wr.release()
    return path


def _column(mask):
    return int(np.argmax(mask[mask.shape[0] // 2] > 0)) // 4


def _mask_folder(folder, n):
    folder.mkdir()
    for i in range(n):
        m = np.zeros((40, 60), np.uint8)
        m[:, 4 * i: 4 * i + 4] = 255
        cv2.imwrite(str(folder / f"{i:03d}.png"), m)
    return folder


@pytest.mark.parametrize("kind", ["video", "folder"])
def test_a_mask_sequence_starts_again_with_a_looping_source(tmp_path, kind):
    """--loop with a per-frame mask video or folder failed at the end of the masks
    ('mask video ... ended before frame 48'): mask i is for frame i of each pass."""
    path = _mask_video(tmp_path / "m.avi", 5) if kind == "video" else _mask_folder(tmp_path / "m", 5)
    seq = parse_mask_spec(str(path), loop=True)
    assert isinstance(seq, MaskSequence)
    assert [_column(seq(FRAME, i)) for i in range(12)] == [i % 5 for i in range(12)]
    # a jump (not frame by frame) past the end before the end was found, then back
    jump = as_mask_source(str(path), loop=True)
    assert [_column(jump(FRAME, i)) for i in (13, 2, 7)] == [3, 2, 2]


@pytest.mark.parametrize("kind", ["video", "folder"])
def test_a_short_mask_sequence_without_loop_still_stops_clearly(tmp_path, kind):
    path = _mask_video(tmp_path / "m.avi", 3) if kind == "video" else _mask_folder(tmp_path / "m", 3)
    seq = parse_mask_spec(str(path))
    assert [_column(seq(FRAME, i)) for i in range(3)] == [0, 1, 2]
    with pytest.raises(InputError, match="frame 3"):
        seq(FRAME, 3)


def test_a_looping_pipeline_takes_mask_i_for_frame_i_of_every_pass(tmp_path):
    clip = write_video(tmp_path / "c.avi", 6, size=(60, 40))
    got = []
    mask = MaskSequence(_mask_video(tmp_path / "m.avi", 6), loop=True)
    stats = Pipeline(str(clip), mask, [CallbackSink(got.append)], backend="opencv-telea", stabilize=False,
                     capture=CaptureOptions(loop=True), max_frames=15, fallback=None).run()
    assert stats.frames_out == 15 == len(got)
    assert [_column(r.mask) for r in got] == [i % 6 for i in range(15)]


def _warnings(caplog, source, frame=FRAME):
    """What a user sees for ``source``'s hole on the way through an Inpainter, as in the pipeline."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="edgefill"):
        hole = source(frame, 0)
        edgefill.Inpainter(backend="opencv-telea").inpaint(frame, hole)
    return caplog.text


@pytest.mark.parametrize("spec", ["rect:0,0,3,3", "poly:0,0,3,0,3,3", "key:255,255,255,0", "shapes.json"])
def test_the_almost_all_warning_after_invert_does_not_advise_passing_invert(tmp_path, caplog, spec):
    """With rect:, poly:, key: and shapes .json masks plus --invert-mask, the warning said 'If your
    mask marks the pixels to keep, pass ... --invert-mask', which the user had done."""
    if spec == "shapes.json":
        spec = str(tmp_path / spec)
        (tmp_path / "shapes.json").write_text(json.dumps({"rects": [[0, 0, 3, 3]]}))
    text = _warnings(caplog, as_mask_source(spec, invert=True))
    assert SAYS_INVERTED in text and ADVISE_INVERT not in text
    # and through the pipeline's dilation and hold
    text = _warnings(caplog, MaskPostprocess(as_mask_source(spec, invert=True), dilate=1, hold=2))
    assert SAYS_INVERTED in text and ADVISE_INVERT not in text


def test_the_almost_all_warning_without_invert_still_advises_it(caplog):
    text = _warnings(caplog, MaskPostprocess(as_mask_source("rect:0,0,60,39"), dilate=1))
    assert ADVISE_INVERT in text and SAYS_INVERTED not in text


@pytest.mark.parametrize("kind", ["file", "folder", "callable", "boxes"])
def test_every_inverted_mask_gets_only_the_inverted_advice(tmp_path, caplog, kind):
    """Mask files and videos warned rightly, then the Inpainter advised --invert-mask on every frame."""
    keep = np.zeros((40, 60), np.uint8)
    keep[:3, :3] = 255
    if kind == "file":
        cv2.imwrite(str(tmp_path / "keep.png"), keep)
        mask = str(tmp_path / "keep.png")
    elif kind == "folder":
        (tmp_path / "keep").mkdir()
        cv2.imwrite(str(tmp_path / "keep" / "0.png"), keep)
        mask = str(tmp_path / "keep")
    else:
        mask = (lambda f, i: keep) if kind == "callable" else (lambda f, i: [(0, 0, 3, 3)])
    text = _warnings(caplog, as_mask_source(mask, invert=True))
    assert SAYS_INVERTED in text and ADVISE_INVERT not in text


def test_a_box_without_area_is_quoted_as_returned(caplog):
    """(10, 10, 0, 5) was quoted as '(10, 10, 0, 0)', a box the callable never returned."""
    fn = CallableMask(lambda f, i: [(0, 0, 3, 3), (10, 10, 0, 5)])
    with caplog.at_level(logging.WARNING, logger="edgefill"):
        fn(FRAME, 0)
    assert "(10, 10, 0, 5)" in caplog.text and "(10, 10, 0, 0)" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="edgefill"):
        CallableMask(lambda f, i: np.array([[2.5, 3.25, 4.0, -1.5]], np.float32))(FRAME, 0)
    assert "(2.5, 3.25, 4.0, -1.5)" in caplog.text
