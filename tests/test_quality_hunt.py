"""Review of `edgefill bench quality`: a reader that goes away does not cost the outputs, a "+"
in a model's path is the path's, `--boot` and `--data` are checked before the run, the seam-ring
column is the ring alone on grey images too, and the refinement line says what is on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from edgefill import quality
from edgefill.cli import main
from edgefill.models import MODELS_DIR

from . import test_quality_inputs

images = test_quality_inputs.images  # the fixture: a folder of two small natural images
FAST = ["--models", "", "--crop", "64", "--per-bucket", "1", "--boot", "0"]


def test_a_closed_stdout_does_not_cost_the_outputs(images, tmp_path):
    """`... | head -3`: the first print after the reader left ended the finished run, silently,
    without its --json and --csv."""
    out_json, out_csv = tmp_path / "q.json", tmp_path / "q.csv"
    cmd = [sys.executable, "-m", "edgefill", "bench", "quality", "--images", str(images), *FAST, "--family", "all",
           "--json", str(out_json), "--csv", str(out_csv)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.readline()
    proc.stdout.close()  # the reader goes away after one line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert out_json.is_file() and out_csv.is_file() and "Traceback" not in err


@pytest.mark.parametrize("names, pairs", [
    (["nano", "m/nano+ft.onnx"], [("nano", "m/nano+ft.onnx")]),
    (["nano", "m/nano+ft.onnx", "nano+ns", "m/nano+ft.onnx+ns"],
     [("nano", "m/nano+ft.onnx"), ("nano+ns", "m/nano+ft.onnx+ns")]),
])
def test_a_plus_in_a_models_path_is_the_paths(names, pairs):
    """The first "+" anywhere was read as the scoring suffix: no pairs, and the label cut."""
    assert quality._pairs(names) == pairs
    assert quality.method_labels(["nano", "runs/v2+aug/lite.onnx+ns"]) == ["nano", "lite+ns"]
    assert quality.split_variant("runs/v2+aug/lite.onnx+feather4") == ("runs/v2+aug/lite.onnx", "+feather4")


@pytest.mark.parametrize("extra, says", [
    (["--boot", "100000000"], "--boot must be 0 (no intervals) or 100 to 20000 resamples"),
    (["--data", "texture"], "--data picks a fetched set and --images your own folder: give one of them"),
])
def test_options_the_run_would_choke_on_or_ignore_are_refused_first(images, capsys, extra, says):
    assert main(["bench", "quality", "--images", str(images), *FAST, *extra]) == 2
    assert says in capsys.readouterr().err


def test_the_feathered_column_has_no_grey_fill(tmp_path):
    """On a grey image it went through Inpainter's grey fill, which the raw column never gets:
    part of the ring's cost was hidden (+1.4 dB on one small hole)."""
    from edgefill.backends import Backend, InputInfo

    class Colourful(Backend):  # a model that fills in colour: what the grey fill would change
        name, uses_model = "colourful", True
        input_info = InputInfo(multiple=1)

        @classmethod
        def is_available(cls):
            return True

        def _infer(self, image, mask):
            out = image.copy()
            out[mask > 0] = (10, 200, 90)
            return out

    grey = np.repeat(np.linspace(0, 255, 64 * 64).reshape(64, 64, 1).astype(np.uint8), 3, axis=2)
    mask = np.zeros((64, 64), np.uint8)
    mask[20:40, 20:40] = 255
    backend = Colourful()
    raw = backend.infer(grey, mask)
    fed = quality._Feathered(backend, 0).infer(grey, mask)
    assert np.array_equal(fed, raw)


def test_the_refinement_line_says_only_the_steps_that_are_on(images, capsys):
    shutil.copy(MODELS_DIR / "nano.onnx", images.parent / "n.onnx")
    shutil.copy(MODELS_DIR / "nano.json", images.parent / "n.json")
    base = ["bench", "quality", "--images", str(images), "--models", str(images.parent / "n.onnx"), "--crop", "64",
            "--per-bucket", "1", "--boot", "0", "--family", "rects"]
    assert main([*base, "--thin-px", "0"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert "no thin-hole refill (--thin-px 0)" in line and "an NS fill at 1/" in line
    assert main([*base, "--wide-ns-weight", "0"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert "no NS mix over the whole hole (--wide-ns-weight 0)" in line and "thin parts" in line


def test_grid_titles_keep_their_ends():
    from edgefill.plot import image_grid

    tiles = [[np.zeros((8, 8, 3), np.uint8)] * 2]
    a = image_grid(tiles, ["nano-finetuned-run-12+ns", "nano-finetuned-run-12+feather4"])
    b = image_grid(tiles, ["nano-finetuned-run-12+ns", "nano-finetuned-run-12+ns"])
    assert not np.array_equal(a, b)  # the two titles were both "nano-finetuned-run-1"
