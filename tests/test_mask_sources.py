import json

import cv2
import numpy as np
import pytest

from edgefill.errors import ConfigError, InputError, ShapeError
from edgefill.mask_sources import (CallableMask, ColourKey, MaskPostprocess, MaskSequence, ShapesMask, StaticMask,
                                   parse_mask_spec)

FRAME = np.zeros((40, 60, 3), np.uint8)


def test_rect_and_poly_specs():
    m = parse_mask_spec("rect:10,5,20,10;0,0,2,2")(FRAME, 0)
    assert m[5, 10] == 255 and m[14, 29] == 255 and m[15, 30] == 0 and m[1, 1] == 255
    p = parse_mask_spec("poly:0,0,30,0,30,30")(FRAME, 0)
    assert p[2, 20] == 255 and p[30, 0] == 0


@pytest.mark.parametrize("bad", ["rect:1,2,3", "poly:1,2,3,4", "key:1,2", "rect:a,b,c,d", "nope.png"])
def test_bad_specs(bad):
    with pytest.raises((ConfigError, InputError)):
        parse_mask_spec(bad)


def test_json_shapes(tmp_path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"rects": [[0, 0, 5, 5]], "polygons": [[[50, 30], [59, 30], [59, 39]]]}))
    m = parse_mask_spec(str(f))(FRAME, 0)
    assert m[2, 2] == 255 and m[38, 58] == 255
    f.write_text(json.dumps({"boxes": []}))
    with pytest.raises(InputError):
        parse_mask_spec(str(f))


def test_colour_key():
    frame = FRAME.copy()
    frame[10:20, 10:20] = (250, 5, 250)
    m = ColourKey((255, 0, 255), 20)(frame, 0)
    assert m[15, 15] == 255 and np.count_nonzero(m) == 100


def test_static_mask_file_and_size_check(tmp_path):
    mask = np.zeros((40, 60), np.uint8)
    mask[0:4, 0:4] = 255
    cv2.imwrite(str(tmp_path / "m.png"), mask)
    src = parse_mask_spec(str(tmp_path / "m.png"))
    assert isinstance(src, StaticMask) and np.count_nonzero(src(FRAME, 0)) == 16
    with pytest.raises(ShapeError):
        src(np.zeros((10, 10, 3), np.uint8), 1)


def test_mask_sequence_folder(tmp_path):
    for i in range(3):
        m = np.zeros((40, 60), np.uint8)
        m[i, i] = 255
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), m)
    seq = parse_mask_spec(str(tmp_path))
    assert isinstance(seq, MaskSequence)
    assert [int(np.argmax(seq(FRAME, i).ravel())) for i in range(3)] == [0, 61, 122]
    with pytest.raises(InputError, match="frame 3 has none"):
        seq(FRAME, 3)


def test_mask_folder_pairs_with_frames_in_natural_order_without_hidden_files(tmp_path):
    for i in (1, 2, 10):
        m = np.zeros((40, 60), np.uint8)
        m[0, i] = 255
        cv2.imwrite(str(tmp_path / f"m{i}.png"), m)
    (tmp_path / "._m1.png").write_bytes(b"\x00\x05\x16\x07 not an image")
    seq = parse_mask_spec(str(tmp_path))
    assert [int(np.argmax(seq(FRAME, i).ravel())) for i in range(3)] == [1, 2, 10]


def test_callable_mask_or_boxes():
    assert np.count_nonzero(CallableMask(lambda f, i: [(0, 0, 3, 2)])(FRAME, 0)) == 6
    assert np.count_nonzero(CallableMask(lambda f, i: np.array([[1, 1, 2, 2]]))(FRAME, 0)) == 4
    assert np.count_nonzero(CallableMask(lambda f, i: [])(FRAME, 0)) == 0
    full = np.zeros((40, 60), bool)
    full[0, 0] = True
    assert CallableMask(lambda f, i: full)(FRAME, 0)[0, 0] == 255
    with pytest.raises(ShapeError):
        CallableMask(lambda f, i: np.zeros((5, 5), np.uint8))(FRAME, 0)
    with pytest.raises(InputError):
        CallableMask(lambda f, i: "boxes")(FRAME, 0)


def test_hysteresis_holds_flickering_detections():
    flicker = [True, False, False, True, False, False, False, False]
    src = MaskPostprocess(CallableMask(lambda f, i: [(5, 5, 4, 4)] if flicker[i] else []), hold=2)
    on = [bool(src(FRAME, i)[6, 6]) for i in range(len(flicker))]
    assert on == [True, True, True, True, True, True, False, False]


def test_dilation():
    src = MaskPostprocess(ShapesMask(rects=[(20, 20, 1, 1)]), dilate=2)
    m = src(FRAME, 0)
    assert m[20, 22] == 255 and m[20, 23] == 0


@pytest.mark.parametrize("hold", [254, 255, 256, 300, 70_000])
def test_a_long_hold_masks_only_what_was_masked(hold):
    """The age of a pixel counted in uint8 from 255: with hold >= 255 every pixel counted as held,
    so the whole frame was masked from frame 0."""
    src = MaskPostprocess(ShapesMask(rects=[(0, 0, 2, 2)]), hold=hold)
    assert np.count_nonzero(src(FRAME, 0)) == 4
    gone = MaskPostprocess(CallableMask(lambda f, i: [(0, 0, 2, 2)] if i == 0 else []), hold=hold)
    assert [np.count_nonzero(gone(FRAME, i)) for i in range(3)] == [4, 4, 4]  # held, never more


def test_hold_has_a_clear_cap():
    with pytest.raises(ConfigError, match="hold"):
        MaskPostprocess(ShapesMask(rects=[(0, 0, 2, 2)]), hold=2**40)


def test_hold_ends_after_exactly_hold_frames_past_255():
    seen = [True] + [False] * 300
    src = MaskPostprocess(CallableMask(lambda f, i: [(5, 5, 4, 4)] if seen[i] else []), hold=256)
    on = [bool(src(FRAME, i)[6, 6]) for i in range(len(seen))]
    assert on == [True] * 257 + [False] * 44


@pytest.mark.parametrize("spec", ["rect:10,5,20,10", "poly:0,0,30,0,30,30", "key:0,0,0,0", "shapes.json"])
def test_invert_applies_to_every_spec(tmp_path, spec):
    """--invert-mask was ignored for rect:, poly:, key: and .json masks."""
    if spec == "shapes.json":
        spec = str(tmp_path / spec)
        (tmp_path / "shapes.json").write_text(json.dumps({"rects": [[10, 5, 20, 10]]}))
    frame = FRAME.copy()
    frame[:, 40:] = 200  # not the key colour: the key masks columns 0..39 only
    plain, inverted = parse_mask_spec(spec)(frame, 0), parse_mask_spec(spec, invert=True)(frame, 0)
    assert 0 < np.count_nonzero(plain) < plain.size
    assert np.array_equal(inverted, 255 - plain)


def test_invert_applies_to_boxes_and_ready_made_sources():
    from edgefill.mask_sources import as_mask_source

    boxes = CallableMask(lambda f, i: [(0, 0, 3, 2)], invert=True)(FRAME, 0)
    assert np.count_nonzero(boxes) == FRAME.shape[0] * FRAME.shape[1] - 6 and boxes[0, 0] == 0
    for ready in (ShapesMask(rects=[(0, 0, 3, 2)]), ColourKey((0, 0, 0), 0), StaticMask(np.eye(40, 60, dtype=np.uint8))):
        plain = ready(FRAME, 0)
        assert as_mask_source(ready, invert=False) is ready
        assert np.array_equal(as_mask_source(ready, invert=True)(FRAME, 0), 255 - plain)


@pytest.mark.parametrize("spec,message", [
    ("rect:inf,0,10,10", "finite"),
    ("rect:0,0,1e30,10", "finite"),
    ("poly:nan,0,30,0,30,30", "finite"),
    ("key:255,0,255,-5", "tolerance"),
    ("key:255,0,255,300", "tolerance"),
])
def test_out_of_range_numbers_in_specs_are_config_errors(spec, message):
    """inf / huge numbers raised OverflowError (a traceback in the CLI), a negative key tolerance too."""
    with pytest.raises(ConfigError, match=message):
        parse_mask_spec(spec)


@pytest.mark.parametrize("data,message", [
    ({"rects": 5}, "rects must be a list"),
    ({"rects": [["a", 1, 2, 3]]}, "'a' is not a number"),
    ({"rects": [[1, 2, 3]]}, "4 numbers"),
    ({"rects": [[1, 2, 3, True]]}, "not a number"),
    ({"polygons": [[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]}, "2 numbers"),
    ({"polygons": [[[1, 2], [4, 5]]]}, "at least 3 points"),
    ({"polygons": [5]}, "must be a list"),
])
def test_bad_shapes_json_names_the_file(tmp_path, data, message):
    """TypeError / ValueError from ShapesMask became tracebacks in the CLI."""
    f = tmp_path / "shapes.json"
    f.write_text(json.dumps(data))
    with pytest.raises(InputError, match=message) as exc:
        parse_mask_spec(str(f))
    assert str(f) in str(exc.value)
