"""`edgefill inpaint` and `edgefill masks`: outputs that would replace an input or a mask,
folders with two images of one name, `-o folder/`, and bad `masks` arguments."""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgefill.cli import main


def _image(path: Path, value=100):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((40, 60, 3), value, np.uint8)
    img[:, :30] = 30
    cv2.imwrite(str(path), img)


def _mask(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    m = np.zeros((40, 60), np.uint8)
    m[10:20, 20:40] = 255
    cv2.imwrite(str(path), m)


def _inpaint(*args):
    return main(["inpaint", *map(str, args), "--backend", "opencv-telea"])


def test_batch_refuses_the_mask_folder_as_output(tmp_path, capsys):
    """`inpaint in/ --mask masks/ -o masks/` replaced every mask with its filled image."""
    for n in ("a", "b"):
        _image(tmp_path / "in" / f"{n}.png")
        _mask(tmp_path / "masks" / f"{n}.png")
    before = {p.name: p.read_bytes() for p in (tmp_path / "masks").iterdir()}
    assert _inpaint(tmp_path / "in", "--mask", tmp_path / "masks", "-o", tmp_path / "masks") == 2
    assert "mask folder" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (tmp_path / "masks").iterdir()} == before


def test_batch_refuses_an_output_that_is_the_single_mask(tmp_path, capsys):
    """`inpaint in/ --mask out/a.png -o out/`: a.png's output replaced the mask, and b was then
    'filled' with that image as its mask."""
    for n in ("a", "b"):
        _image(tmp_path / "in" / f"{n}.png")
    _mask(tmp_path / "out" / "a.png")
    before = (tmp_path / "out" / "a.png").read_bytes()
    assert _inpaint(tmp_path / "in", "--mask", tmp_path / "out" / "a.png", "-o", tmp_path / "out") == 2
    assert "is the mask" in capsys.readouterr().err
    assert (tmp_path / "out" / "a.png").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png"]


def test_refuses_an_output_hard_linked_to_the_input(tmp_path):
    _image(tmp_path / "a.png")
    _mask(tmp_path / "m.png")
    os.link(tmp_path / "a.png", tmp_path / "link.png")
    before = (tmp_path / "a.png").read_bytes()
    assert _inpaint(tmp_path / "a.png", "--mask", tmp_path / "m.png", "-o", tmp_path / "link.png") == 2
    assert (tmp_path / "a.png").read_bytes() == before


def test_batch_fills_every_image_when_two_share_a_name(tmp_path):
    """a.png and a.jpg in the input folder: only one of them was filled, silently."""
    _image(tmp_path / "in" / "a.png", 100)
    _image(tmp_path / "in" / "a.jpg", 200)
    _mask(tmp_path / "m.png")
    assert _inpaint(tmp_path / "in", "--mask", tmp_path / "m.png", "-o", tmp_path / "out") == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpg", "a.png"]


def test_batch_refuses_a_mask_folder_with_two_masks_of_one_name(tmp_path, capsys):
    _image(tmp_path / "in" / "a.png")
    _mask(tmp_path / "masks" / "a.png")
    cv2.imwrite(str(tmp_path / "masks" / "a.bmp"), np.zeros((40, 60), np.uint8))
    assert _inpaint(tmp_path / "in", "--mask", tmp_path / "masks", "-o", tmp_path / "out") == 2
    assert "two images named a" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_single_image_into_a_new_folder_given_with_a_slash(tmp_path):
    """`inpaint a.png -o filled/` (a folder not made yet) failed: 'cannot write filled:
    unsupported extension'."""
    _image(tmp_path / "a.png")
    _mask(tmp_path / "m.png")
    assert _inpaint(tmp_path / "a.png", "--mask", tmp_path / "m.png", "-o", f"{tmp_path / 'filled'}/") == 0
    assert (tmp_path / "filled" / "a.png").is_file()


def test_masks_refuses_a_negative_seed(tmp_path, capsys):
    """--seed -1 ended in numpy's ValueError traceback."""
    assert main(["masks", "--seed", "-1", "--count", "1", "--width", "16", "--height", "16",
                 "-o", str(tmp_path / "m")]) == 2
    assert "--seed" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_masks_refuses_sizes_that_read_mask_refuses(tmp_path, capsys, monkeypatch):
    """Masks above imageio.MAX_PIXELS were written, and then every reader refused them."""
    from edgefill import imageio

    monkeypatch.setattr(imageio, "MAX_PIXELS", 100 * 100)
    assert main(["masks", "--count", "1", "--width", "101", "--height", "100", "--family", "rects",
                 "-o", str(tmp_path / "m")]) == 2
    assert "above the 10000" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
    assert main(["masks", "--count", "1", "--width", "100", "--height", "100", "--family", "rects",
                 "-o", str(tmp_path / "m")]) == 0
    assert imageio.read_mask(tmp_path / "m" / "rects_0000.png").shape == (100, 100)


@pytest.mark.parametrize("fps", ["inf", "nan"])
def test_run_refuses_an_output_fps_no_video_can_have(tmp_path, fps):
    """`run clip.mp4 -o out.mp4 --fps inf` hung forever inside OpenCV's writer."""
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "edgefill", "run", str(root / "samples" / "clip.mp4"), "--mask",
                           "rect:10,10,20,20", "-o", str(tmp_path / "o.mp4"), "--fps", fps, "--max-frames", "1",
                           "--backend", "opencv-telea"], check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "fps must be a finite number > 0" in lines[0], proc.stderr
