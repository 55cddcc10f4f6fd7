import logging

import cv2
import numpy as np
import pytest

from edgefill import masks
from edgefill.errors import ConfigError, InputError, ShapeError


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


@pytest.mark.parametrize("dtype, hint", [(np.float32, r"mask > 0\.5"), (np.float64, r"mask > 0\.5"),
                                         (np.uint16, r"mask > 0 "), (np.int32, r"mask > 0 ")])
def test_a_mask_of_another_type_is_refused_with_the_conversion_to_make(dtype, hint):
    with pytest.raises(InputError, match=f"uint8 or bool, not {np.dtype(dtype).name} .*{hint}"):
        masks.normalize_mask(np.zeros((4, 4), dtype), (4, 4))


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


@pytest.mark.parametrize("rect", [(0.5, 0, 3, 3), (0, 0, float("nan"), 3), (0, 0, 3), (0, 0, 3, 3, 3), 5, "0003",
                                  (0, 0, True, 3)])
def test_bad_rectangles_are_input_errors(rect):
    """A float box (a detector's) was a TypeError from slicing, a NaN width silently no hole, a
    3-number box a ValueError from unpacking."""
    with pytest.raises(InputError, match="rectangle"):
        masks.from_rects((10, 10), [rect])


def test_rectangles_take_numpy_integers():
    r = masks.from_rects((10, 10), np.array([[2, 3, 4, 2]], np.int64))
    assert np.count_nonzero(r) == 8 and r[3, 2] == 255


@pytest.mark.parametrize("poly", [[(0, 0), (5, float("nan")), (5, 5)], [(0, 0), (5, 1e12), (5, 5)],
                                  [(0, 0), (5, "a"), (5, 5)], [(0, 0), (5,), (5, 5)], [(0, 0), (5, 5), (9, 1), 3]])
def test_bad_polygons_are_input_errors(poly):
    """NaN points were a ValueError, points beyond int32 an OverflowError, ragged ones a ValueError."""
    with pytest.raises(InputError, match="polygon"):
        masks.from_polygons((10, 10), [poly])


def test_polygon_float_points_are_truncated_as_before():
    a = masks.from_polygons((10, 10), [[(1.7, 1.2), (8.9, 1.5), (8.2, 8.99), (-0.5, 8.1)]])
    assert np.array_equal(a, masks.from_polygons((10, 10), [[(1, 1), (8, 1), (8, 8), (0, 8)]]))


@pytest.mark.parametrize("pixels", [2.0, 1.5, float("nan"), True, "3"])
def test_dilate_takes_whole_pixels(pixels):
    """2.0 failed inside OpenCV with a TypeError about 'ksize'."""
    with pytest.raises(ConfigError, match="whole"):
        masks.dilate(np.zeros((5, 5), np.uint8), pixels)


@pytest.mark.parametrize("shape", [(5, 7), (1, 30), (12, 1)])
def test_dilate_beyond_the_image_fills_it_without_a_huge_kernel(shape):
    """dilate(mask, 40000) asked OpenCV for a 6.4 GB kernel (and minutes per frame, or an
    OpenCV out-of-memory error): any radius >= h + w reaches every pixel, so the answer is known."""
    m = np.zeros(shape, np.uint8)
    m[shape[0] // 2, shape[1] // 2] = 255
    reach = shape[0] + shape[1]
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    exact = cv2.dilate(m, kernel)  # what OpenCV gives for the smallest radius that takes the shortcut
    assert np.array_equal(exact, np.full(shape, 255, np.uint8))
    assert np.array_equal(masks.dilate(m, 10**12), exact)
    empty = np.zeros(shape, np.uint8)
    assert not masks.dilate(empty, 10**12).any()
    assert np.array_equal(masks.dilate(m // 255, 10**12), cv2.dilate(m // 255, kernel))  # a 0/1 mask stays 0/1


def test_dilate_gives_the_pixels_of_a_whole_frame_dilation():
    """dilate works on the hole's bounding box grown by the radius only; the result must be the
    same pixels as OpenCV's dilation of the whole mask (holes on the borders, several holes,
    values other than 255, empty masks)."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(1, 80, 2))
        m = np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(0, 4))):
            y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
            m[y:y + int(rng.integers(1, 10)), x:x + int(rng.integers(1, 10))] = rng.choice([1, 77, 255])
        r = int(rng.integers(1, 30))
        if r >= h + w:
            continue
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        out = masks.dilate(m, r)
        assert np.array_equal(out, cv2.dilate(m, kernel)) and out is not m


def test_an_inverted_mask_covering_almost_everything_does_not_advise_inverting(caplog):
    """With invert=True already given, the advice was still 'pass invert=True (CLI: --invert-mask)'."""
    m = np.zeros((10, 10), np.uint8)
    m[4, 4] = 255  # a mask that marks the hole, inverted by mistake
    with caplog.at_level(logging.WARNING):
        masks.normalize_mask(m, (10, 10), invert=True)
    assert "leave the inversion out" in caplog.text and "pass invert=True" not in caplog.text
