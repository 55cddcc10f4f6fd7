"""benchmarks/grey_depth.py on images whose sides are not multiples of the model's (64 for the
shipped models): the raw fill was ``backend.infer`` on the whole image, a ShapeError traceback
on a camera's 640x480 frame or ``--size 100``."""

import json

import cv2
import numpy as np

import edgefill

from . import load_script
from ..conftest import LEARNED, natural_image


@LEARNED
def test_a_synthetic_scene_of_any_side(tmp_path, capsys):
    out = tmp_path / "g.json"
    assert load_script("grey_depth").main(["--model", "nano", "--size", "100", "--masks", "1", "--bits", "8,10",
                                           "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [r["bits"] for r in report["rows"]] == [8, 10] and report["raw_fill_channel_spread"] > 0
    assert "channels" in capsys.readouterr().out


@LEARNED
def test_an_image_of_yours_of_any_size(tmp_path, capsys):
    grey = cv2.cvtColor(natural_image(80, 112, seed=1), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(tmp_path / "cam.png"), grey)
    out = tmp_path / "g.json"
    assert load_script("grey_depth").main(["--model", "nano", "--image", str(tmp_path / "cam.png"), "--masks", "1",
                                           "--bits", "8", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["raw_fill_channel_spread"] > 0


@LEARNED
def test_the_raw_fill_is_padded_and_cropped_back():
    mod = load_script("grey_depth")
    img = natural_image(70, 90, seed=2)
    mask = np.zeros((70, 90), np.uint8)
    mask[20:45, 30:60] = 255
    with edgefill.create_backend("onnxruntime", model="nano") as backend:
        raw = mod.raw_fill(backend, img, mask)
    assert raw.shape == img.shape and raw.dtype == np.uint8
    assert np.array_equal(raw[mask == 0], img[mask == 0])  # the model copies known pixels through
    assert not np.array_equal(raw[mask > 0], img[mask > 0])  # and fills the hole
