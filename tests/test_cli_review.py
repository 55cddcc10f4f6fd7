"""Review of `edgefill run`: options that were parsed and then ignored are refused in one line
(exit 2), and a profile whose backend is classical runs."""

from __future__ import annotations

import json

import pytest
import yaml

from edgefill.cli import main
from edgefill.profiles import profiles_dir

from .fakes import write_video


def _main(*args):
    return main([str(a) for a in args])


@pytest.mark.parametrize("source,options,message", [
    ("clip", ["--width", "64", "--height", "48"], "--width/--height apply to cameras"),
    ("clip", ["--width", "64"], "--width/--height apply to cameras"),
    ("rtsp://cam/stream", ["--width", "640", "--height", "480"], "--width/--height apply to cameras"),
    ("rtsp://cam/stream", ["--loop"], "--loop applies to video files and image folders only"),
    ("v4l2:///dev/video0", ["--loop"], "--loop applies to video files and image folders only"),
    ("clip", ["--preview-port", "9000"], "--preview-port applies to the MJPEG preview: add --preview"),
    ("clip", ["--preview-host", "0.0.0.0", "--preview-allow-remote"],
     "--preview-host, --preview-allow-remote apply to the MJPEG preview"),
])
def test_options_the_source_or_run_would_ignore_are_refused(tmp_path, capsys, source, options, message):
    """`run clip.mp4 --width 64 --height 48 -o o.avi` wrote the clip's own 320x240 frames, `--loop`
    on a camera and `--preview-port 9000` without --preview did nothing, each with exit 0."""
    if source == "clip":
        source = write_video(tmp_path / "c.avi", 2)
    out = tmp_path / "o.avi"
    assert _main("run", source, "--mask", "rect:0,0,5,5", "--backend", "opencv-telea", "-o", out, *options) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_profile_whose_backend_is_classical_runs_without_a_model(tmp_path, capsys):
    """Its model was given to the OpenCV backend: "backend 'opencv-telea' is classical and takes no
    model (got model='lite')", though no --model was given."""
    data = yaml.safe_load((profiles_dir() / "x86-cpu.yaml").read_text())
    data["name"] = "cvboard"
    data["runtime"]["backend"] = "opencv-telea"
    profile = tmp_path / "cvboard.yaml"
    profile.write_text(yaml.safe_dump(data))
    clip = write_video(tmp_path / "c.avi", 3)
    assert _main("run", clip, "--mask", "rect:0,0,30,30", "--profile", profile,
                 "--stats-json", tmp_path / "s.json") == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "s.json").read_text())["backend"] == "opencv-telea"


LONG = "a" * 256  # one path component longer than Linux filesystems take (255 bytes)


@pytest.mark.parametrize("where", ["output", "input", "bench json"])
def test_a_name_too_long_for_the_filesystem_is_one_line(tmp_path, capsys, where, monkeypatch):
    """Path.exists() and friends raise ENAMETOOLONG (Python 3.11): it was a traceback, exit 1."""
    import shutil
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    samples = Path(__file__).resolve().parents[1] / "samples"
    shutil.copy(samples / "coffee.png", "img.png")
    shutil.copy(samples / "coffee_spoon_mask.png", "mask.png")
    args = {"output": ["inpaint", "img.png", "--mask", "mask.png", "-o", LONG + ".png", "--backend", "opencv-telea"],
            "input": ["inpaint", LONG + ".png", "--mask", "mask.png", "-o", "o.png", "--backend", "opencv-telea"],
            "bench json": ["bench", "--backend", "opencv-telea", "--size", "64", "--reps", "1", "--json",
                           LONG + ".json"]}[where]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "File name too long" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_model_or_image_name_too_long_is_an_edgefill_error_in_the_api():
    import edgefill
    from edgefill.errors import InputError, ModelError
    from edgefill.imageio import read_image

    with pytest.raises(ModelError, match="File name too long"):
        edgefill.Inpainter(model=LONG + ".onnx")
    with pytest.raises(InputError, match="File name too long"):
        read_image(LONG + ".png")


def test_a_full_standard_output_is_one_line_and_exit_2(tmp_path):
    """`edgefill backends > /dev/full` (a log on a full SD card): an OSError traceback, exit 1."""
    import os
    import subprocess
    import sys

    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full (Linux)")
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "edgefill", "backends"], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    assert proc.returncode == 2
    assert "No space left on device" in proc.stderr and "Traceback" not in proc.stderr
    assert "Exception ignored" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
