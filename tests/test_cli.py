import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgefill.cli import main

from .conftest import natural_image



def _write_pair(folder: Path, name: str, h=200, w=300):
    folder.mkdir(parents=True, exist_ok=True)
    img = natural_image(h, w, seed=len(name))
    mask = np.zeros((h, w), np.uint8)
    mask[50:90, 100:160] = 255
    cv2.imwrite(str(folder / f"{name}.png"), img)
    return img, mask


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "edgefill", *map(str, args)], capture_output=True, text=True)


def test_single_image(tmp_path):
    img, mask = _write_pair(tmp_path, "a")
    cv2.imwrite(str(tmp_path / "m.png"), mask)
    proc = run_cli("inpaint", tmp_path / "a.png", "--mask", tmp_path / "m.png", "-o", tmp_path / "out.png", "--model", "nano")
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and "ms" in proc.stdout
    out = cv2.imread(str(tmp_path / "out.png"))
    assert out.shape == img.shape
    assert np.array_equal(out[:20], img[:20])


def test_batch_pairs_by_name_and_keeps_names(tmp_path):
    for n in ("one", "two", "three"):
        _, mask = _write_pair(tmp_path / "in", n)
        (tmp_path / "masks").mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / "masks" / f"{n}.png"), mask)
    rc = main(["inpaint", str(tmp_path / "in"), "--mask", str(tmp_path / "masks"), "-o", str(tmp_path / "out"),
               "--backend", "opencv-telea"])
    assert rc == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["one.png", "three.png", "two.png"]


def test_batch_with_single_mask(tmp_path):
    _, mask = _write_pair(tmp_path / "in", "x")
    _write_pair(tmp_path / "in", "y")
    cv2.imwrite(str(tmp_path / "m.png"), mask)
    assert main(["inpaint", str(tmp_path / "in"), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "o"),
                 "--backend", "opencv-ns"]) == 0
    assert len(list((tmp_path / "o").iterdir())) == 2


def _bad_cases(tmp_path):
    img, mask = _write_pair(tmp_path, "a")
    cv2.imwrite(str(tmp_path / "m.png"), mask)
    cv2.imwrite(str(tmp_path / "small.png"), mask[:100])
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x07garbage")
    a, m = tmp_path / "a.png", tmp_path / "m.png"
    out = tmp_path / "o.png"
    return {
        "missing input": (["inpaint", tmp_path / "nope.png", "--mask", m, "-o", out], "does not exist"),
        "missing mask": (["inpaint", a, "--mask", tmp_path / "nope.png", "-o", out], "does not exist"),
        "unreadable image": (["inpaint", tmp_path / "junk.png", "--mask", m, "-o", out], "not a readable image"),
        "mask mismatch": (["inpaint", a, "--mask", tmp_path / "small.png", "-o", out], "300x100"),
        "unknown backend": (["inpaint", a, "--mask", m, "-o", out, "--backend", "tflite"], "unknown backend"),
        "unusable model": (["inpaint", a, "--mask", m, "-o", out, "--model", tmp_path / "bad.onnx"], "cannot load"),
        "unknown model": (["inpaint", a, "--mask", m, "-o", out, "--model", "giant"], "unknown model"),
        "bad output ext": (["inpaint", a, "--mask", m, "-o", tmp_path / "o.xyz", "--backend", "opencv-ns"], "unsupported extension"),
    }


@pytest.mark.parametrize("case", ["missing input", "missing mask", "unreadable image", "mask mismatch",
                                  "unknown backend", "unusable model", "unknown model", "bad output ext"])
def test_bad_input_exits_2_with_one_line(tmp_path, case):
    args, expected = _bad_cases(tmp_path)[case]
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("edgefill: error:"), proc.stderr
    assert expected in lines[0]
    assert not (tmp_path / "o.png").exists()


def test_batch_refuses_overwriting_inputs(tmp_path):
    _, mask = _write_pair(tmp_path / "in", "a")
    cv2.imwrite(str(tmp_path / "m.png"), mask)
    assert main(["inpaint", str(tmp_path / "in"), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "in"),
                 "--backend", "opencv-ns"]) == 2


def test_refuses_overwriting_the_input(tmp_path):
    img, mask = _write_pair(tmp_path, "a")
    cv2.imwrite(str(tmp_path / "m.png"), mask)
    before = (tmp_path / "a.png").read_bytes()
    assert main(["inpaint", str(tmp_path / "a.png"), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "a.png"),
                 "--backend", "opencv-ns"]) == 2
    assert (tmp_path / "a.png").read_bytes() == before


def test_batch_missing_mask_writes_nothing(tmp_path):
    _, mask = _write_pair(tmp_path / "in", "a")
    _write_pair(tmp_path / "in", "b")
    (tmp_path / "masks").mkdir()
    cv2.imwrite(str(tmp_path / "masks" / "a.png"), mask)
    assert main(["inpaint", str(tmp_path / "in"), "--mask", str(tmp_path / "masks"), "-o", str(tmp_path / "out"),
                 "--backend", "opencv-ns"]) == 2
    assert not (tmp_path / "out").exists()


def test_backends_command(capsys):
    assert main(["backends"]) == 0
    assert "opencv-telea" in capsys.readouterr().out


def test_inpaint_thin_px_option(tmp_path):
    import cv2
    import numpy as np

    from edgefill.cli import main

    from .conftest import natural_image

    img = natural_image(128, 128, seed=8)
    mask = np.zeros((128, 128), np.uint8)
    mask[40, 5:120] = 255
    cv2.imwrite(str(tmp_path / "i.png"), img)
    cv2.imwrite(str(tmp_path / "m.png"), mask)
    assert main(["inpaint", str(tmp_path / "i.png"), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "o.png"),
                 "--backend", "onnxruntime", "--model", "nano", "--thin-px", "3"]) == 0
    assert cv2.imread(str(tmp_path / "o.png")) is not None
    outs = {}
    for radius in ("2", "6"):
        assert main(["inpaint", str(tmp_path / "i.png"), "--mask", str(tmp_path / "m.png"), "-o",
                     str(tmp_path / f"r{radius}.png"), "--backend", "onnxruntime", "--model", "nano",
                     "--thin-radius", radius]) == 0
        outs[radius] = cv2.imread(str(tmp_path / f"r{radius}.png"))
    assert not np.array_equal(outs["2"], outs["6"])  # the radius reaches the refill


def test_inpaint_bad_thin_radius_is_one_clear_line(tmp_path, capsys):
    import numpy as np

    from edgefill.cli import main

    cv2.imwrite(str(tmp_path / "i.png"), np.zeros((64, 64, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "m.png"), np.full((64, 64), 255, np.uint8))
    assert main(["inpaint", str(tmp_path / "i.png"), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "o.png"),
                 "--backend", "onnxruntime", "--model", "nano", "--thin-radius", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "thin_radius" in err and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


def test_inpaint_dilate_grows_the_hole_and_rejects_negative(tmp_path):
    import numpy as np

    from .conftest import natural_image

    img = natural_image(96, 96, seed=9)
    mask = np.zeros((96, 96), np.uint8)
    mask[40:56, 40:56] = 255
    cv2.imwrite(str(tmp_path / "i.png"), img)
    cv2.imwrite(str(tmp_path / "m.png"), mask)
    outs = {}
    for d in (0, 6):
        assert main(["inpaint", str(tmp_path / "i.png"), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / f"o{d}.png"),
                     "--backend", "opencv-telea", "--dilate", str(d)]) == 0
        outs[d] = cv2.imread(str(tmp_path / f"o{d}.png"))
    ring = (slice(35, 38), slice(44, 52))  # 3-5 px outside the hole: known pixels, kept unless dilated
    assert np.array_equal(outs[0][ring], img[ring]) and not np.array_equal(outs[6][ring], img[ring])
    assert main(["inpaint", str(tmp_path / "i.png"), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "x.png"),
                 "--dilate", "-1"]) == 2


def test_help_of_the_cli_and_of_every_command(capsys):
    """argparse formats help strings with %: a bare % in one of them crashed `edgefill --help`."""
    from edgefill.cli import build_parser

    commands = [a for a in build_parser()._subparsers._group_actions[0].choices]
    assert "bench" in commands and "inpaint" in commands
    for argv in [["--help"]] + [[c, "--help"] for c in commands] + [["bench", "quality", "--help"]]:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0, argv
        assert "usage:" in capsys.readouterr().out


def test_doctor_names_python_the_toolchain_and_every_backend(capsys, monkeypatch):
    import importlib.util
    import platform

    from edgefill.backends import list_backends
    from edgefill.cli import export_toolchain_status

    main(["doctor"])
    out = capsys.readouterr().out
    assert f"on Python {platform.python_version()}" in out and "export toolchain: " in out
    for name in list_backends():
        assert name in out
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda m, *a: None if m == "torch" else real(m, *a))
    assert "torch missing" in export_toolchain_status() or "needs Python" in export_toolchain_status()
    monkeypatch.setattr(sys, "version_info", (3, 8, 10))
    assert export_toolchain_status().startswith("needs Python >= 3.10")


def test_a_closed_stdout_pipe_ends_quietly():
    """`edgefill doctor | head -1`: the reader goes away; no traceback, exit 141 like shell tools."""
    proc = subprocess.Popen([sys.executable, "-m", "edgefill", "doctor"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # before the child has written anything
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


@pytest.mark.parametrize("command", ["inpaint", "masks"])
def test_unwritable_output_is_one_line_exit_2(tmp_path, command):
    """`inpaint -o /proc/x.png` and `masks -o /proc/m` ended in an OSError traceback."""
    (tmp_path / "file").write_text("not a folder")
    if command == "inpaint":
        _, mask = _write_pair(tmp_path, "a")
        cv2.imwrite(str(tmp_path / "m.png"), mask)
        args = ["inpaint", tmp_path / "a.png", "--mask", tmp_path / "m.png", "-o", tmp_path / "file" / "out.png",
                "--backend", "opencv-ns"]
    else:
        args = ["masks", "--count", "1", "--width", "16", "--height", "16", "-o", tmp_path / "file" / "m"]
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("edgefill: error: cannot write"), proc.stderr
