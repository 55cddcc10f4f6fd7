"""Review of behaviour the docs promise: `run` never writes its statistics over the model, the
profile, or an image of its source or mask folder; a glob source's folder is not its mask folder;
`inpaint` warns about a faint mask also when it copies the image; a mask file's colour and alpha
that disagree are refused (read from the colour, a white layer filled 100%); a replaced video
keeps its mode; an off-frame box from a detector is not "without area"."""

from __future__ import annotations

import logging
import os
import shutil
import stat

import cv2
import numpy as np
import pytest

from edgefill.cli import main
from edgefill.errors import InputError
from edgefill.imageio import read_mask
from edgefill.models import MODELS_DIR

from .fakes import write_video


def _frames(folder, n=2):
    folder.mkdir()
    for i in range(n):
        cv2.imwrite(str(folder / f"img_{i}.png"), np.full((48, 64, 3), 90, np.uint8))
    return folder


def test_run_statistics_are_never_written_over_the_model_or_the_profile(tmp_path, capsys):
    clip = write_video(tmp_path / "c.avi", 2)
    for name in ("nano.onnx", "nano.json"):
        shutil.copy(MODELS_DIR / name, tmp_path / name)
    before = (tmp_path / "nano.onnx").read_bytes()
    assert main(["run", str(clip), "--mask", "rect:1,1,5,5", "--model", str(tmp_path / "nano.onnx"),
                 "--stats-json", str(tmp_path / "nano.onnx")]) == 2
    assert "the model's file" in capsys.readouterr().err and (tmp_path / "nano.onnx").read_bytes() == before
    from edgefill.profiles import profiles_dir

    profile = tmp_path / "board.yaml"
    shutil.copy(profiles_dir() / "x86-cpu.yaml", profile)
    text = profile.read_text()
    assert main(["run", str(clip), "--mask", "rect:1,1,5,5", "--profile", str(profile), "--backend", "opencv-telea",
                 "--stats-json", str(profile)]) == 2
    assert "the profile" in capsys.readouterr().err and profile.read_text() == text


@pytest.mark.parametrize("where", ["source", "mask"])
def test_run_statistics_are_never_written_over_an_image_of_an_input_folder(tmp_path, capsys, where):
    src, masks = _frames(tmp_path / "src"), _frames(tmp_path / "masks")
    victim = (src if where == "source" else masks) / "img_1.png"
    before = victim.read_bytes()
    assert main(["run", str(src), "--mask", str(masks), "--backend", "opencv-telea", "--stats-json", str(victim)]) == 2
    assert "refusing to overwrite it" in capsys.readouterr().err and victim.read_bytes() == before
    assert main(["run", str(src), "--mask", "rect:1,1,5,5", "--backend", "opencv-telea",
                 "--stats-json", str(src / "stats.json")]) == 0  # a file that is no frame: written


def test_a_glob_sources_folder_is_not_its_mask_folder(tmp_path, capsys):
    src = _frames(tmp_path / "frames")
    assert main(["run", f"{src}/*.png", "--mask", str(src), "--backend", "opencv-telea",
                 "-o", f"{tmp_path / 'out'}/"]) == 2
    assert "is the source" in capsys.readouterr().err


def test_inpaint_warns_about_a_faint_mask_when_it_copies_the_image(tmp_path, caplog):
    img = tmp_path / "p.png"
    cv2.imwrite(str(img), np.full((48, 64, 3), 90, np.uint8))
    faint = np.zeros((48, 64), np.uint8)
    faint[10:20, 10:20] = 90
    cv2.imwrite(str(tmp_path / "m.png"), faint)
    with caplog.at_level(logging.WARNING):
        assert main(["inpaint", str(img), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "o.png"),
                     "--backend", "opencv-telea"]) == 0
    assert "none reaches 128" in caplog.text


def test_a_mask_files_colour_and_alpha_are_read_as_they_mean(tmp_path):
    hole = np.zeros((40, 60), np.uint8)
    hole[10:20, 15:40] = 255
    red_on_white = np.dstack([np.full((40, 60), 255, np.uint8)] * 3 + [hole])  # transparent white layer
    red_on_white[hole > 0, :3] = (0, 0, 255)
    cv2.imwrite(str(tmp_path / "layer.png"), red_on_white)
    assert np.array_equal(read_mask(tmp_path / "layer.png"), hole)  # was all 255: the whole image filled
    ambiguous = np.dstack([hole] * 3 + [255 - hole])  # colour marks the box, alpha all the rest
    cv2.imwrite(str(tmp_path / "both.png"), ambiguous)
    with pytest.raises(InputError, match="its colour and its alpha both vary and mark different pixels"):
        read_mask(tmp_path / "both.png")
    agree = np.dstack([hole] * 3 + [hole])  # white strokes, opaque where they are: either says the same
    cv2.imwrite(str(tmp_path / "agree.png"), agree)
    assert np.array_equal(read_mask(tmp_path / "agree.png") > 0, hole > 0)


def test_a_replaced_video_keeps_its_mode(tmp_path):
    clip = write_video(tmp_path / "c.avi", 3)
    out = tmp_path / "o.avi"
    shutil.copy(clip, out)
    out.chmod(0o600)
    assert main(["run", str(clip), "--mask", "rect:1,1,5,5", "--backend", "opencv-telea", "-o", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert os.path.getsize(out) > 0


def test_an_off_frame_box_is_not_a_box_without_area(caplog):
    from edgefill.mask_sources import CallableMask

    with caplog.at_level(logging.WARNING):
        hole = CallableMask(lambda f, i: [(1e30, 0, 10, 10), (5.5, 5.2, 3.1, 2.0)])(np.zeros((20, 20, 3), np.uint8), 0)
    assert "without area" not in caplog.text
    assert np.count_nonzero(hole) == 4 * 3  # the second box: x 5..9, y 5..8
