"""``edgefill bench quality`` on a user's own folders and odd option values: one clear line and
exit 2 instead of a traceback, nothing of theirs overwritten, and figures that say what they are."""

import hashlib
import json

import cv2
import numpy as np
import pytest

from edgefill.cli import main

from .conftest import natural_image

# classical methods only: no model to load, a run of a few cases takes a fraction of a second
FAST = ["--models", "", "--family", "rects", "--crop", "64", "--per-bucket", "1", "--boot", "0"]


@pytest.fixture
def images(tmp_path):
    d = tmp_path / "eval"
    d.mkdir()
    for i in range(2):
        cv2.imwrite(str(d / f"e{i}.png"), natural_image(90, 110, seed=60 + i))
    return d


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mask_folder(folder):
    """``folder`` with one mask, m.png: a square hole of 22% of the image."""
    folder.mkdir()
    mask = np.zeros((64, 64), np.uint8)
    mask[10:40, 10:40] = 255
    cv2.imwrite(str(folder / "m.png"), mask)


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_thin_px_must_be_a_finite_number_not_below_0(images, value, capsys):
    """Regression: --thin-px nan or inf ended the run in the first case with a traceback from
    edgefill.thin; -1 was taken silently and gave a MODEL+ns column equal to the model's.
    Inpainter refuses all three."""
    assert main(["bench", "quality", "--images", str(images), *FAST, "--models", "nano", "--thin-px", value]) == 2
    err = capsys.readouterr().err
    assert f"--thin-px must be a finite number >= 0, got {value}" in err and "Traceback" not in err


@pytest.mark.parametrize("boot", ["1", "10"])
def test_too_few_bootstrap_resamples_are_refused(images, boot, capsys):
    """Regression: --boot 1 printed a "95% CI [-0.60, -0.60]" that did not even hold the mean
    gain of -0.30 beside it: the 2.5th and 97.5th percentiles of one resample."""
    assert main(["bench", "quality", "--images", str(images), *FAST, "--boot", boot]) == 2
    err = capsys.readouterr().err
    assert "--boot must be 0 (no intervals) or 100 to 20000 resamples" in err and "Traceback" not in err


def test_a_crop_above_the_pixel_limit_is_refused_before_reading(images, capsys):
    """Regression: --crop 100000 ended in OpenCV's out-of-memory traceback (a 40 GB resize)."""
    assert main(["bench", "quality", "--images", str(images), *FAST, "--crop", "100000"]) == 2
    err = capsys.readouterr().err
    assert "--crop 100000" in err and "pixel" in err and "Traceback" not in err


@pytest.mark.parametrize("flag", ["--png", "--json", "--csv"])
def test_an_output_that_is_an_input_image_is_refused(images, flag, capsys):
    """Regression: --png eval/e0.png (or --json, --csv on an input) replaced the user's image with
    the figure at the end of the run."""
    target = images / "e0.png"
    before = _digest(target)
    assert main(["bench", "quality", "--images", str(images), *FAST, flag, str(target)]) == 2
    err = capsys.readouterr().err
    assert f"{flag} {target} is the evaluation image" in err and "Traceback" not in err
    assert _digest(target) == before


def test_an_output_that_is_a_mask_file_is_refused(images, tmp_path, capsys):
    masks = tmp_path / "masks"
    _mask_folder(masks)
    before = _digest(masks / "m.png")
    assert main(["bench", "quality", "--images", str(images), *FAST, "--masks", str(masks),
                 "--json", str(masks / "m.png")]) == 2
    err = capsys.readouterr().err
    assert "is the mask" in err and "Traceback" not in err
    assert _digest(masks / "m.png") == before


@pytest.mark.parametrize("flag", ["--json", "--csv"])
def test_an_output_onto_a_model_under_test_is_refused(images, tmp_path, capsys, flag):
    """Regression: --models my.onnx --json my.onnx wrote the results over the model (edgefill bench
    refused it; bench quality did not), and the model no longer loaded. Its sidecar is guarded too."""
    model = tmp_path / "my.onnx"
    model.write_bytes(b"model")
    model.with_suffix(".json").write_text("{}")
    args = FAST[:FAST.index("--models")] + ["--models", str(model)] + FAST[FAST.index("--models") + 2:]
    for target in (model, model.with_suffix(".json")):
        assert main(["bench", "quality", "--images", str(images), *args, flag, str(target)]) == 2
        err = capsys.readouterr().err
        assert "the model's file" in err and "refusing to overwrite" in err and "Traceback" not in err
    assert model.read_bytes() == b"model" and model.with_suffix(".json").read_text() == "{}"


def test_the_same_file_for_two_outputs_is_refused(images, tmp_path, capsys):
    """Regression: --csv and --json on one path wrote the CSV, then the JSON over it."""
    out = tmp_path / "out.txt"
    assert main(["bench", "quality", "--images", str(images), *FAST, "--csv", str(out), "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert "is also --csv" in err and "Traceback" not in err
    assert not out.exists()


def test_a_figure_among_the_evaluation_images_is_refused(images, capsys):
    """Regression: --png into the --images folder worked once, and the next run scored the
    figure as one more evaluation image."""
    assert main(["bench", "quality", "--images", str(images), *FAST, "--png", str(images / "q.png")]) == 2
    err = capsys.readouterr().err
    assert "would read it as an input" in err and "Traceback" not in err
    assert sorted(p.name for p in images.iterdir()) == ["e0.png", "e1.png"]


def test_outputs_beside_the_inputs_elsewhere_are_fine(images, tmp_path):
    out = tmp_path / "new" / "q.json"
    assert main(["bench", "quality", "--images", str(images), *FAST, "--json", str(out),
                 "--csv", str(images / "cases.csv")]) == 0  # a CSV is not read as an image
    assert json.loads(out.read_text())["images"] == ["e0.png", "e1.png"]


def test_0_1_masks_are_read_as_masks(tmp_path):
    """Regression: a 0/1 mask (the convention's '1 = hole', which ``edgefill inpaint`` reads)
    was thresholded at 128 and left out as having no hole."""
    from edgefill.quality import read_own_masks

    ones = np.zeros((128, 128), np.uint8)
    ones[20:70, 30:90] = 1  # 18% of the image
    cv2.imwrite(str(tmp_path / "ones.png"), ones)
    cv2.imwrite(str(tmp_path / "white.png"), ones * 255)
    masks, skipped = read_own_masks(tmp_path, 64)
    assert skipped == []
    assert [(m.name, m.bucket) for m in masks] == [("ones.png", 1), ("white.png", 1)]
    assert np.array_equal(masks[0].mask, masks[1].mask)


def test_a_faint_mask_says_why_it_has_no_hole(tmp_path):
    """A mask of greys below 128 (e.g. a red stroke read as grey 76) is left out naming its
    largest value, not just as 'no hole'."""
    from edgefill.quality import read_own_masks

    faint = np.zeros((64, 64), np.uint8)
    faint[10:30, 10:30] = 76
    cv2.imwrite(str(tmp_path / "faint.png"), faint)
    masks, skipped = read_own_masks(tmp_path, 64)
    assert masks == [] and "no hole" in skipped[0] and "largest value 76" in skipped[0]


def test_exact_fills_are_reported(tmp_path, capsys):
    """A method that fills a hole exactly (NS on a flat image) scores the PSNR cap, which lifts its
    mean PSNR by tens of dB; the printout says how many cases that was, so the table is not read
    as the method being that much better."""
    d = tmp_path / "flat"
    d.mkdir()
    cv2.imwrite(str(d / "flat.png"), np.full((64, 64, 3), 120, np.uint8))
    cv2.imwrite(str(d / "photo.png"), natural_image(64, 64, seed=3))
    assert main(["bench", "quality", "--images", str(d), *FAST]) == 0
    out = capsys.readouterr().out
    assert "opencv-ns: 5 of 10 cases filled exactly (hole PSNR 148 dB" in out

    from edgefill.quality import PSNR_CAP_DB, hole_psnr

    img = np.full((8, 8, 3), 7, np.uint8)
    assert hole_psnr(img, img, np.ones((8, 8), bool)) == PSNR_CAP_DB == pytest.approx(148.13, abs=0.01)


def test_cases_are_drawn_one_at_a_time(images, monkeypatch):
    """Regression: each family's cases were all drawn before the first was scored, every one
    holding its own crop-sized mask (500 images x 5 buckets x 10 masks at 256 px: 1.6 GB)."""
    from edgefill import quality

    drawn, at_score = [0], []
    make_cases, hole_psnr = quality.make_cases, quality.hole_psnr

    def counted(*args, **kwargs):
        for case in make_cases(*args, **kwargs):
            drawn[0] += 1
            yield case

    def scored(*args):
        at_score.append(drawn[0])
        return hole_psnr(*args)

    monkeypatch.setattr(quality, "make_cases", counted)
    monkeypatch.setattr(quality, "hole_psnr", scored)
    assert main(["bench", "quality", "--images", str(images), *FAST, "--per-bucket", "3"]) == 0
    assert drawn[0] == 2 * 5 * 3
    assert at_score[:2] == [1, 1]  # the first case scored by both methods before the second is drawn


def test_torch_without_weights_is_a_one_line_error(images, capsys):
    """Regression: --torch with a model that has no .safetensors beside it (an INT8 model, or
    your own .onnx) ended with a CheckpointError traceback; without the export tools, with an
    ImportError one."""
    assert main(["bench", "quality", "--images", str(images), *FAST, "--models", "nano.int8", "--torch"]) == 2
    err = capsys.readouterr().err
    assert "--torch" in err and "Traceback" not in err


def test_own_masks_given_as_dot_are_named_by_their_folder(images, tmp_path, monkeypatch):
    """Regression: ``--masks .`` reported (JSON key, CSV family) its cases as family "own:"."""
    masks = tmp_path / "defects"
    _mask_folder(masks)
    monkeypatch.chdir(masks)
    out = tmp_path / "q.json"
    assert main(["bench", "quality", "--images", str(images), *FAST, "--family", "", "--masks", ".",
                 "--json", str(out)]) == 0
    assert list(json.loads(out.read_text())["families"]) == ["own:defects"]


def test_a_too_elongated_image_is_named_not_an_out_of_memory_failure(images, capsys, monkeypatch):
    """A 1-px-high strip scaled to a 64-px shorter side would be 64 x 64-times its width: above
    the pixel limit, it is refused by name instead of handed to cv2.resize."""
    import edgefill.quality as quality

    monkeypatch.setattr(quality, "MAX_PIXELS", 64 * 64 * 100)  # so that a small strip shows it
    cv2.imwrite(str(images / "strip.png"), np.full((1, 200, 3), 128, np.uint8))
    assert main(["bench", "quality", "--images", str(images), *FAST]) == 2
    err = capsys.readouterr().err
    assert "strip.png" in err and "200x1" in err and "too elongated" in err and "Traceback" not in err


def test_global_verbose_flag_before_bench_quality(images, capsys, caplog):
    """`edgefill -v bench quality ...` was parsed as the latency bench: 'unrecognized arguments'."""
    import logging

    with caplog.at_level(logging.INFO):
        assert main(["-v", "bench", "quality", "--images", str(images), *FAST]) == 0
        assert main(["-vv", "--verbose", "bench", "quality", "--images", str(images), *FAST]) == 0
    assert "unrecognized" not in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--boot", "-1"], ["--family", "nope"], ["--png", "x.gif"], ["--masks", "missing"],
                                  ["--crop", "100", "--models", "nano"]])
def test_every_refusal_is_one_prefixed_line(images, tmp_path, args, capsys, monkeypatch):
    """Bad options and inputs all end the same way, through the one error path: exit 2 and a
    single stderr line that names the command (some lacked the prefix when each printed its own)."""
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "quality", "--images", str(images), *FAST, *args]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgefill bench quality: "), lines
