"""``edgefill inpaint --mask rect:... / poly:... / key:... / shapes.json``: a mask drawn on each
image, as ``edgefill run`` draws it on each frame, instead of a mask file."""

import json

import cv2
import numpy as np
import pytest

from edgefill.cli import main

from .conftest import natural_image


def _run(tmp_path, src, mask, out, *extra):
    return main(["inpaint", str(src), "--mask", mask, "-o", str(out), "--backend", "opencv-telea", *extra])


@pytest.fixture
def photo(tmp_path):
    img = natural_image(96, 128, seed=3)
    cv2.imwrite(str(tmp_path / "a.png"), img)
    return img


def _with_mask_file(tmp_path, mask, name):
    cv2.imwrite(str(tmp_path / f"{name}_mask.png"), mask)
    assert _run(tmp_path, tmp_path / "a.png", str(tmp_path / f"{name}_mask.png"), tmp_path / f"{name}_ref.png") == 0
    return cv2.imread(str(tmp_path / f"{name}_ref.png"))


def test_rect_and_poly_specs_fill_as_the_same_mask_file_does(tmp_path, photo):
    mask = np.zeros((96, 128), np.uint8)
    mask[10:30, 20:60] = 255
    cv2.fillPoly(mask, [np.array([(80, 50), (110, 60), (90, 90)], np.int32)], 255)
    ref = _with_mask_file(tmp_path, mask, "both")
    assert _run(tmp_path, tmp_path / "a.png", "rect:20,10,40,20", tmp_path / "r.png") == 0
    assert _run(tmp_path, tmp_path / "r.png", "poly:80,50,110,60,90,90", tmp_path / "rp.png") == 0
    (tmp_path / "s.json").write_text(json.dumps({"rects": [[20, 10, 40, 20]], "polygons": [[[80, 50], [110, 60], [90, 90]]]}))
    assert _run(tmp_path, tmp_path / "a.png", str(tmp_path / "s.json"), tmp_path / "j.png") == 0
    from_json = cv2.imread(str(tmp_path / "j.png"))
    assert np.array_equal(from_json, ref) and not np.array_equal(from_json, photo)
    rp = cv2.imread(str(tmp_path / "rp.png"))  # two passes: the same pixels changed
    assert np.array_equal(rp[mask == 0], photo[mask == 0]) and not np.array_equal(rp[mask > 0], photo[mask > 0])


def test_an_inverted_rect_keeps_the_rect(tmp_path, photo):
    assert _run(tmp_path, tmp_path / "a.png", "rect:8,8,112,80", tmp_path / "o.png", "--invert-mask") == 0
    out = cv2.imread(str(tmp_path / "o.png"))
    assert np.array_equal(out[8:88, 8:120], photo[8:88, 8:120]) and not np.array_equal(out, photo)


def test_a_colour_key_fills_what_was_painted_over(tmp_path, photo):
    painted = photo.copy()
    painted[40:60, 50:80] = (255, 0, 255)  # magenta paint over a defect
    cv2.imwrite(str(tmp_path / "p.png"), painted)
    assert _run(tmp_path, tmp_path / "p.png", "key:255,0,255,10", tmp_path / "o.png") == 0
    out = cv2.imread(str(tmp_path / "o.png"))
    assert not (out[40:60, 50:80] == (255, 0, 255)).all(axis=2).any()
    assert np.array_equal(out[:40], photo[:40])


def test_a_spec_serves_a_whole_folder(tmp_path):
    (tmp_path / "in").mkdir()
    for k in range(3):
        cv2.imwrite(str(tmp_path / "in" / f"{k}.png"), natural_image(64, 64 + 16 * k, seed=k))
    assert _run(tmp_path, tmp_path / "in", "rect:5,5,20,20", tmp_path / "out") == 0
    for k in range(3):
        src, out = cv2.imread(str(tmp_path / "in" / f"{k}.png")), cv2.imread(str(tmp_path / "out" / f"{k}.png"))
        assert out.shape == src.shape and not np.array_equal(out[5:25, 5:25], src[5:25, 5:25])
        assert np.array_equal(out[30:], src[30:])


def test_a_rect_outside_the_image_is_said_and_the_image_written_unchanged(tmp_path, photo, caplog):
    assert _run(tmp_path, tmp_path / "a.png", "rect:500,500,10,10", tmp_path / "o.png") == 0
    assert np.array_equal(cv2.imread(str(tmp_path / "o.png")), photo)
    assert "marks no pixel of" in caplog.text


@pytest.mark.parametrize("spec, message", [("rect:1,2,3", "4 numbers"), ("poly:1,2,3,4", "at least 3"),
                                           ("rect:1,2,0,5", "no area"), ("nothing.png", "does not exist")])
def test_bad_specs_are_one_line(tmp_path, photo, capsys, spec, message):
    assert _run(tmp_path, tmp_path / "a.png", spec, tmp_path / "o.png") == 2
    assert message in capsys.readouterr().err and not (tmp_path / "o.png").exists()
