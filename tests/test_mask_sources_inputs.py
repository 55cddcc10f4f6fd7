"""Bad values given to mask sources are one edgefill error, found when the source is made where
possible, not a TypeError / ValueError / OverflowError on the first frame."""

import json

import numpy as np
import pytest

from edgefill.errors import ConfigError, InputError
from edgefill.mask_sources import CallableMask, ColourKey, MaskPostprocess, ShapesMask, parse_mask_spec

FRAME = np.zeros((40, 60, 3), np.uint8)


@pytest.mark.parametrize("name", ["dilate", "hold"])
@pytest.mark.parametrize("value", [2.0, 2.5, float("nan"), float("inf"), "3", True, -1])
def test_dilate_and_hold_must_be_whole_numbers(name, value):
    """dilate=2.0 passed and failed on the first frame with OpenCV's TypeError; hold=nan was a
    ValueError, hold='3' a TypeError and hold=2.5 silently became 2."""
    with pytest.raises(ConfigError, match=name):
        MaskPostprocess(ShapesMask(rects=[(1, 1, 3, 3)]), **{name: value})


def test_numpy_integers_are_whole_numbers():
    src = MaskPostprocess(ShapesMask(rects=[(20, 20, 1, 1)]), dilate=np.int64(2), hold=np.int32(3))
    assert np.count_nonzero(src(FRAME, 0)) == np.count_nonzero(MaskPostprocess(ShapesMask(rects=[(20, 20, 1, 1)]),
                                                                               dilate=2)(FRAME, 0))


@pytest.mark.parametrize("bgr,tolerance", [((1, 2, float("nan")), 40), ((1, 2, 3), float("nan")), (5, 40),
                                           ((1, 2, 3), "a"), ("abc", 40), ((1, 2, True), 40), ((1, 2, 3), float("inf"))])
def test_bad_colour_keys_are_config_errors(bgr, tolerance):
    with pytest.raises(ConfigError, match="colour key"):
        ColourKey(bgr, tolerance)


def test_colour_key_takes_numpy_values():
    m = ColourKey(np.array([255, 0, 255], np.uint8), np.int64(20))(FRAME, 0)
    assert m.shape == FRAME.shape[:2] and not m.any()


@pytest.mark.parametrize("boxes", [[(0, 0, float("nan"), 3)], [(0, 0, float("inf"), 3)], [1, 2, 3, 4],
                                   (5, 5, 4, 4), [(1, 2, 3)], [(1, 2, 3, 4, 5)], [("1", 2, 3, 4)],
                                   np.array([[0, 0, np.nan, 3]], np.float32)])
def test_bad_boxes_from_a_callable_are_input_errors(boxes):
    """A NaN box was a ValueError, an infinite one an OverflowError, a bare (x, y, w, h) not in
    a list a TypeError and a 3-number box a ValueError from unpacking."""
    with pytest.raises(InputError, match="box"):
        CallableMask(lambda f, i: boxes)(FRAME, 0)


def test_float_boxes_from_a_callable_cover_every_pixel_they_touch():
    """x 1.5 .. 5.2 and y 2.0 .. 6.2 touch columns 1..5 and rows 2..6; truncating x and w apart
    (1 + 3 columns) left the box's right edge unmasked: an object's edge left in the picture."""
    m = CallableMask(lambda f, i: np.array([[1.5, 2.0, 3.7, 4.2]], np.float32))(FRAME, 0)
    assert np.count_nonzero(m) == 5 * 5 and m[2, 1] == 255 and m[6, 5] == 255 and m[7, 5] == 0
    m = CallableMask(lambda f, i: [(4, 4, 3, 2)])(FRAME, 0)  # whole-pixel boxes: exactly as given
    assert np.count_nonzero(m) == 6 and m[4:6, 4:7].all()


def test_a_box_without_area_is_skipped_with_one_warning_not_a_stopped_run(caplog):
    """A detector's degenerate box (0.6 px wide, or w 0) raised InputError, which stops a live run."""
    import logging

    fn = CallableMask(lambda f, i: [(10.7, 5.2, 0.6, 20.0), (3, 3, 0, 4), (0, 0, 2, 2)])
    with caplog.at_level(logging.WARNING):
        a, b = fn(FRAME, 0), fn(FRAME, 1)
    assert np.count_nonzero(a[:, 10:12]) == 2 * 21 and a[0:2, 0:2].all()  # 2 columns, rows 5..25
    assert np.count_nonzero(a) == 2 * 21 + 4 and np.array_equal(a, b)
    assert caplog.text.count("without area") == 1


@pytest.mark.parametrize("spec", ["rect:0,0,0,10", "rect:5,5,10,-3", "rect:1,1,2,2;3,3,0,0"])
def test_rectangles_without_area_are_refused_when_parsed(spec):
    """They were accepted and failed on the first frame, after the camera and model were opened."""
    with pytest.raises(ConfigError, match="no area"):
        parse_mask_spec(spec)


def test_rectangle_without_area_in_json_names_the_file(tmp_path):
    f = tmp_path / "shapes.json"
    f.write_text(json.dumps({"rects": [[0, 0, 5, 0]]}))
    with pytest.raises(InputError, match="no area") as exc:
        parse_mask_spec(str(f))
    assert str(f) in str(exc.value)


def test_a_trailing_semicolon_is_fine_in_poly_as_in_rect():
    rect, poly = parse_mask_spec("rect:0,0,30,30;"), parse_mask_spec("poly:0,0,30,0,30,30;")
    assert np.count_nonzero(rect(FRAME, 0)) == 900 and poly(FRAME, 0)[2, 20] == 255
