"""benchmarks/grey_depth.py: grey images of 8-16 bits through inpaint's path, smoke-run small."""

import json

import cv2
import numpy as np
import pytest

import edgefill

from . import load_script, refused
from ..conftest import LEARNED


@LEARNED
def test_every_depth_fills_as_well_as_8_bits_where_dividing_by_257_did_not(tmp_path, capsys):
    out = tmp_path / "g.json"
    assert load_script("grey_depth").main(["--model", "nano", "--size", "128", "--masks", "2", "--bits", "8,12,16",
                                           "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    rows = {r["bits"]: r for r in report["rows"]}
    assert rows[12]["scale"] == pytest.approx(4095 / 255) and rows[16]["scale"] == 257
    for b in (12, 16):
        assert abs(rows[b]["hole_psnr_db"] - rows[8]["hole_psnr_db"]) < 1.0
    assert rows[12]["hole_psnr_db_divided_by_257"] < rows[12]["hole_psnr_db"] - 5
    assert rows[16]["hole_psnr_db_divided_by_257"] == pytest.approx(rows[16]["hole_psnr_db"], abs=0.01)
    assert report["raw_fill_channel_spread"] > 0
    assert "12 bits" in capsys.readouterr().out


def test_deepen_uses_every_bit():
    mod = load_script("grey_depth")
    grey = np.tile(np.arange(256, dtype=np.uint8), (4, 1))
    for b in (10, 12, 16):
        deep = mod.deepen(grey, b, np.random.default_rng(0))
        assert deep.dtype == np.uint16 and deep.max() == (1 << b) - 1
    assert np.array_equal(mod.deepen(grey, 8, np.random.default_rng(0)), grey)


@pytest.mark.parametrize("args, message", [
    (["--bits", "7"], "--bits takes whole numbers from 8 to 16"),
    (["--bits", "x"], "--bits takes whole numbers from 8 to 16"),
    (["--masks", "0"], "--masks must be >= 1"),
    (["--image", "{file}"], "not a readable image"),
    (["--json", "{file}/g.json"], "cannot write the JSON report"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, capsys, args, message):
    out, err = refused("grey_depth", ["--model", "nano", "--size", "64", "--masks", "1", *args], tmp_path, capsys)
    assert message in err and "Traceback" not in err
    assert "bits (scale" not in out


def test_an_unknown_model_is_one_line(tmp_path, capsys):
    out, err = refused("grey_depth", ["--model", "no-such-model", "--size", "64", "--masks", "1"], tmp_path, capsys)
    assert "no-such-model" in err and "Traceback" not in err


def test_a_grey_image_of_yours(tmp_path, capsys):
    if not edgefill.backends.backend_class("onnxruntime").is_available():
        pytest.skip("onnxruntime not installed")
    img = cv2.cvtColor(np.random.default_rng(0).integers(0, 256, (96, 96, 3), np.uint8), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(tmp_path / "mine.png"), cv2.GaussianBlur(img, (9, 9), 3))
    assert load_script("grey_depth").main(["--model", "nano", "--image", str(tmp_path / "mine.png"), "--masks", "1",
                                           "--bits", "10"]) == 0
    assert "10 bits" in capsys.readouterr().out
