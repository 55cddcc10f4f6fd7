"""normalize_mask and the holes a mask source has already checked (masks.mark_checked)."""

import logging

import numpy as np

from edgefill import masks


def test_a_checked_hole_is_not_warned_about_again_but_its_copy_is(caplog):
    """The Inpainter normalizes the pipeline's hole with invert=False: after --invert-mask its
    warning advised passing --invert-mask. A hole the source has checked is not warned about again."""
    hole = np.full((20, 30), 255, np.uint8)
    with caplog.at_level(logging.WARNING, logger="edgefill"):
        masks.normalize_mask(masks.mark_checked(hole), hole.shape)
    assert caplog.text == "" and masks.is_checked(hole) and not masks.is_checked(hole.copy())
    with caplog.at_level(logging.WARNING, logger="edgefill"):
        out = masks.normalize_mask(hole.copy(), hole.shape)
    assert "100% of the image" in caplog.text and "pass invert=True" in caplog.text
    assert np.array_equal(out, hole)


def test_the_warning_advice_follows_invert(caplog):
    hole = np.full((20, 30), 255, np.uint8)
    hole[0, 0] = 0
    with caplog.at_level(logging.WARNING, logger="edgefill"):
        masks.warn_if_almost_all(hole, invert=True)
    assert "leave the inversion out" in caplog.text and "pass invert=True" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="edgefill"):
        masks.warn_if_almost_all(np.zeros((20, 30), np.uint8), invert=False)
        masks.warn_if_almost_all(np.zeros((0, 30), np.uint8), invert=False)
    assert caplog.text == ""
