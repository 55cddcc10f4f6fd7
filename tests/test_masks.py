import logging

import numpy as np
import pytest

from edgefill import masks
from edgefill.errors import InputError, ShapeError


@pytest.mark.parametrize("hole_value,dtype", [(255, np.uint8), (1, np.uint8), (True, np.bool_)])
def test_accepted_conventions_give_same_mask(hole_value, dtype):
    m = np.zeros((8, 10), dtype)
    m[2:4, 3:7] = hole_value
    out = masks.normalize_mask(m, (8, 10, 3))
    assert out.dtype == np.uint8 and set(np.unique(out)) == {0, 255}
    assert np.count_nonzero(out) == 8 and out[2, 3] == 255 and out[0, 0] == 0


def test_grey_values_threshold_at_128():
    m = np.array([[0, 127, 128, 255]], np.uint8)
    assert masks.normalize_mask(m, (1, 4)).tolist() == [[0, 0, 255, 255]]


def test_invert():
    m = np.zeros((4, 4), np.uint8)
    m[0, 0] = 255
    out = masks.normalize_mask(m, (4, 4), invert=True, warn=False)
    assert out[0, 0] == 0 and np.count_nonzero(out) == 15


def test_warns_when_mask_covers_almost_everything(caplog):
    with caplog.at_level(logging.WARNING):
        masks.normalize_mask(np.full((10, 10), 255, np.uint8), (10, 10))
    assert "invert" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        masks.normalize_mask(np.zeros((10, 10), np.uint8), (10, 10))
    assert caplog.text == ""


def test_colour_mask_is_reduced():
    m = np.zeros((4, 4, 3), np.uint8)
    m[1, 1] = 255
    m[2, 2] = (200, 130, 250)  # grey noise (e.g. JPEG) that does not cross the threshold agrees
    out = masks.normalize_mask(m, (4, 4))
    assert out[1, 1] == 255 and out[2, 2] == 255 and np.count_nonzero(out) == 2
    assert np.array_equal(masks.normalize_mask(m[..., :1], (4, 4)) > 0, m[..., 0] >= 128)
    assert np.array_equal(masks.normalize_mask(m > 0, (4, 4)), out)  # bool HxWx3


@pytest.mark.parametrize("colour", [(0, 0, 255), (255, 255, 0), (0, 1, 0)])
def test_colour_drawing_marks_a_hole_in_any_channel(colour):
    m = np.zeros((4, 4, 3), np.uint8)
    m[1, 1] = colour
    out = masks.normalize_mask(m, (4, 4))
    assert out[1, 1] == 255 and np.count_nonzero(out) == 1


def _rgba(colour, alpha):
    return np.dstack([colour, colour, colour, alpha]).astype(np.uint8)


def test_rgba_mask_uses_the_channels_that_vary():
    hole = np.zeros((4, 4), np.uint8)
    hole[1:3, 1:3] = 255
    opaque = _rgba(hole, np.full((4, 4), 255))  # an opaque PNG: the colour is the mask
    assert np.array_equal(masks.normalize_mask(opaque, (4, 4)), hole)
    for colour in (0, 255):  # strokes on a transparent layer: the alpha is the mask
        painted = _rgba(np.full((4, 4), colour), hole)
        assert np.array_equal(masks.normalize_mask(painted, (4, 4), warn=False), hole), colour


def test_rgba_mask_with_colour_and_alpha_varying_is_refused():
    hole = np.zeros((4, 4), np.uint8)
    hole[1:3, 1:3] = 255
    with pytest.raises(InputError, match=r"alpha.*mask\[\.\.\., 3\]"):
        masks.normalize_mask(_rgba(hole, 255 - hole), (4, 4))


def test_opaque_rgba_colour_drawing_is_read_like_a_colour_mask():
    colour = np.zeros((4, 4, 3), np.uint8)
    colour[1, 1, 2] = 255
    out = masks.normalize_mask(np.dstack([colour, np.full((4, 4), 255, np.uint8)]), (4, 4))
    assert out[1, 1] == 255 and np.count_nonzero(out) == 1


def test_warns_when_no_pixel_reaches_the_threshold(caplog):
    m = np.zeros((10, 10), np.uint8)
    m[2:4, 2:4] = 100
    with caplog.at_level(logging.WARNING):
        out = masks.normalize_mask(m, (10, 10))
    assert not out.any()
    assert "none reaches 128" in caplog.text and "largest value is 100" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        masks.normalize_mask(m, (10, 10), warn=False)
        masks.normalize_mask((m > 0).astype(np.uint8), (10, 10))  # 0/1: a hole, no warning
        masks.normalize_mask(m * 2, (10, 10))  # 200 reaches it
    assert caplog.text == ""


def test_size_mismatch_names_both_sizes():
    with pytest.raises(ShapeError, match="640x480.*1280x720"):
        masks.normalize_mask(np.zeros((480, 640), np.uint8), (720, 1280, 3))


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.float32), np.zeros((4, 4, 2), np.uint8), [[0, 1]], np.zeros((2, 2, 2, 2), np.uint8)])
def test_bad_masks_rejected(bad):
    with pytest.raises(InputError):
        masks.normalize_mask(bad, (4, 4))


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32), np.zeros((0, 4, 3), np.uint8), "x"])
def test_bad_images_rejected(bad):
    with pytest.raises(InputError):
        masks.validate_image(bad)


def test_dilate_grows_by_radius():
    m = np.zeros((21, 21), np.uint8)
    m[10, 10] = 255
    d = masks.dilate(m, 3)
    assert d[10, 13] == 255 and d[10, 14] == 0 and d[10, 7] == 255


def test_rects_and_polygons():
    r = masks.from_rects((10, 10), [(2, 3, 4, 2)])
    assert np.count_nonzero(r) == 8 and r[3, 2] == 255
    p = masks.from_polygons((10, 10), [[(1, 1), (8, 1), (8, 8), (1, 8)]])
    assert p[5, 5] == 255 and p[0, 0] == 0
    with pytest.raises(InputError):
        masks.from_rects((10, 10), [(0, 0, 0, 3)])
