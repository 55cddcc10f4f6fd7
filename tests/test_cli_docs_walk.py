"""Defects found walking README.md and docs/runtime.md as a new user: `edgefill bench` outputs
that cannot be written are found before the run, `inpaint -h` names no option it lacks,
`export` prints each artifact's gain or loss against fp32 with its sign, and a batch's mask of the
wrong size is named."""

import json

import cv2
import numpy as np
import pytest

from edgefill import bench
from edgefill.cli import main

from .fakes import fake_export_toolchain

ARGS = ["bench", "--backend", "opencv-telea", "--size", "64", "--reps", "1", "--warmup", "0"]


@pytest.fixture
def no_run(monkeypatch):
    monkeypatch.setattr(bench, "run_bench", lambda *a, **k: pytest.fail("the benchmark ran before the check"))


@pytest.mark.parametrize("flag, name", [("--json", "b.json"), ("--plot", "b.png")])
def test_bench_output_under_a_file_fails_before_the_run(tmp_path, capsys, no_run, flag, name):
    """Regression: `--json results/b.json` with `results` a file ran every configuration (minutes
    on a board) and only then failed, with "File exists", losing what was measured."""
    (tmp_path / "results").write_text("x")
    assert main(ARGS + [flag, str(tmp_path / "results" / name)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"edgefill: error: cannot write {flag}") and "is not a folder" in err
    assert err.count("\n") == 1


def test_bench_output_in_a_missing_folder_is_still_written(tmp_path, capsys, monkeypatch):
    """The check refuses only what cannot be written: a folder that does not exist yet is made."""
    row = bench.BenchResult("-", "opencv-telea", "-", 64, 1.0, 1.5, 2.0, 1.0, 900.0, None, None, 100.0, {},
                            "cpu", None, 1)
    env = {"gemm_peak_gflops": {"fp32": 100.0}, "telemetry": {"source": None}, "warmup": 0, "reps": 1,
           "interrupted": False, "host": None}
    monkeypatch.setattr(bench, "run_bench", lambda *a, **k: ([row], env))
    js = tmp_path / "new" / "sub" / "b.json"
    assert main(ARGS + ["--json", str(js)]) == 0
    assert js.is_file()


def _help(capsys, *words):
    with pytest.raises(SystemExit):
        main([*words, "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_inpaint_help_names_no_profile_option(capsys):
    """Regression: `inpaint -h` said --model defaults to "the --profile's", an option inpaint lacks."""
    text = _help(capsys, "inpaint")
    assert "--profile" not in text and "(default lite;" in text
    assert "or the --profile's" in _help(capsys, "run")


def test_export_prints_each_artifacts_change_against_fp32_with_its_sign(tmp_path, capsys, monkeypatch):
    """Regression: the summary printed the bundle's ``delta_db`` (fp32 minus the artifact, a loss)
    as "delta vs fp32", so an INT8 graph 0.007 dB *better* than fp32 read "-0.007 dB" (the README
    writes such a gain "+0.01 dB vs FP32"). The export toolchain is faked: no torch needed."""
    out = tmp_path / "bundle"

    def export_bundle(req):
        out.mkdir()
        val = {"hole_psnr_db": 18.2293, "reference_hole_psnr_db": 18.2225, "delta_db": -0.0068}
        arts = {"fp32": {"file": "model.fp32.onnx", "sha256": "0" * 64,
                         "validation": {"hole_psnr_db": 18.2225, "reference_hole_psnr_db": 18.2225, "delta_db": 0.0}},
                "int8": {"file": "model.int8.onnx", "sha256": "1" * 64, "validation": val},
                "fp16": {"file": "model.fp16.onnx", "sha256": "2" * 64,
                         "validation": {"hole_psnr_db": 18.2, "reference_hole_psnr_db": 18.2225, "delta_db": 0.0231}}}
        (out / "bundle.json").write_text(json.dumps({"format": "edgefill-bundle/1", "model": "lite",
                                                     "precision": "int8", "artifacts": arts}))
        return out

    fake_export_toolchain(monkeypatch, export_bundle)
    assert main(["export", "--model", "lite", "--precision", "int8", "-o", str(out)]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    assert lines["model.int8.onnx"].endswith("hole PSNR 18.23 dB, +0.007 dB vs fp32")
    assert lines["model.fp16.onnx"].endswith("hole PSNR 18.20 dB, -0.023 dB vs fp32")
    assert lines["model.fp32.onnx"].endswith("+0.000 dB vs fp32")


def test_batch_mask_of_the_wrong_size_names_the_pair(tmp_path, capsys):
    """Regression: in a batch, a mask of another size than its image ended the run with "the mask
    is 10x10 (WxH) but 60x40 (WxH) was expected", naming neither file."""
    for name in ("a", "b"):
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "masks").mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / "in" / f"{name}.png"), np.full((40, 60, 3), 90, np.uint8))
        mask = np.zeros((40, 60) if name == "a" else (10, 10), np.uint8)
        mask[2:6, 2:6] = 255
        cv2.imwrite(str(tmp_path / "masks" / f"{name}.png"), mask)
    assert main(["inpaint", str(tmp_path / "in"), "--mask", str(tmp_path / "masks"), "-o", str(tmp_path / "out"),
                 "--backend", "opencv-telea"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("edgefill: error: mask ") and str(tmp_path / "masks" / "b.png") in err
    assert str(tmp_path / "in" / "b.png") in err and "10x10" in err and "60x40" in err
