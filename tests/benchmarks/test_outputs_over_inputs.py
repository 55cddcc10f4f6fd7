"""Every benchmark's --json is refused, before the run, where it names one of the run's inputs (a
model under test or its sidecar, --image, --pack): it was written over it at the end of the run
(``latency.py --onnx my=nano.onnx --json nano.onnx`` replaced the model with its own timings).
train_batches.py and batch_startup.py also check that --json can be written before the run (a
folder was an IsADirectoryError traceback after it).

Where a script would read a shipped model, the run is stubbed out (and so is the report's
writing): the check must come first, and the repository's own files are never at risk."""

import shutil
import sys
import types

import cv2
import numpy as np
import pytest

from edgefill.models import MODELS_DIR

from . import load_script
from ..conftest import LEARNED


@pytest.fixture
def model(tmp_path):
    """A copy of the shipped nano model (ONNX file and sidecar) in a folder of its own."""
    folder = tmp_path / "x"
    folder.mkdir()
    for ext in (".onnx", ".json"):
        shutil.copy(MODELS_DIR / f"nano{ext}", folder / f"nano{ext}")
    return folder / "nano.onnx"


def _refused(mod, argv, kept, capsys) -> str:
    """Run ``mod.main(argv)``: it must exit 2 with a one-line refusal and leave ``kept`` (files)
    as they were; returns stderr."""
    before = {p: p.read_bytes() for p in kept}
    try:
        code = mod.main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "refusing to overwrite it" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert {p: p.read_bytes() for p in kept} == before
    return err


def _untimed(monkeypatch, name: str, *stubs: str):
    """``benchmarks/<name>.py`` with ``stubs`` (its functions that run or write) failing the test."""
    mod = load_script(name)
    for stub in stubs:
        monkeypatch.setattr(mod, stub, lambda *a, _stub=stub, **k: pytest.fail(f"{_stub} ran before the check"))
    return mod


@pytest.mark.parametrize("which", ["onnx", "sidecar"])
def test_latency_json_over_an_onnx_model_under_test(tmp_path, capsys, monkeypatch, model, which):
    mod = _untimed(monkeypatch, "latency", "measure", "atomic_write_bytes")
    out = model if which == "onnx" else model.with_suffix(".json")
    err = _refused(mod, ["--models", "", "--no-opencv", "--sizes", "64", "--reps", "1", "--warmup", "0",
                         "--onnx", f"my={model}", "--json", out], [model, model.with_suffix(".json")], capsys)
    assert err.startswith(f"latency benchmark: --json {out} is the model's file")


def test_latency_json_over_a_shipped_model(capsys, monkeypatch):
    mod = _untimed(monkeypatch, "latency", "measure", "atomic_write_bytes")
    shipped = MODELS_DIR / "nano.json"
    _refused(mod, ["--models", "nano", "--no-opencv", "--sizes", "64", "--reps", "1", "--warmup", "0",
                   "--json", shipped], [shipped], capsys)


@LEARNED
def test_grey_depth_json_over_the_image(tmp_path, capsys):
    image = tmp_path / "grey.png"
    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 256, (64, 64), np.uint8))
    err = _refused(load_script("grey_depth"), ["--model", "nano", "--image", image, "--masks", "1", "--bits", "8",
                                               "--json", image], [image], capsys)
    assert f"is the image {image}" in err


@LEARNED
def test_grey_depth_json_over_the_model_sidecar(tmp_path, capsys, model):
    _refused(load_script("grey_depth"), ["--model", model, "--size", "64", "--masks", "1", "--bits", "8",
                                         "--json", model.with_suffix(".json")], [model, model.with_suffix(".json")],
             capsys)


@LEARNED
def test_thin_refill_json_over_the_model(tmp_path, capsys, model):
    _refused(load_script("thin_refill"), ["--model", model, "--size", "64", "--reps", "1", "--families", "objects",
                                          "--json", model], [model], capsys)


@LEARNED
def test_pipeline_json_over_the_model(tmp_path, capsys, monkeypatch, model):
    mod = _untimed(monkeypatch, "pipeline", "write_clip", "flicker", "atomic_write_bytes")
    err = _refused(mod, ["--model", model, "--frames", "1", "--json", model], [model], capsys)
    assert err.startswith("pipeline benchmark: ")


@LEARNED
def test_frame_formats_json_over_the_model_sidecar(tmp_path, capsys, model):
    sidecar = model.with_suffix(".json")
    err = _refused(load_script("frame_formats"), ["--model", model, "--width", "256", "--height", "256", "--runs", "1",
                                                  "--json", sidecar], [model, sidecar], capsys)
    assert err.startswith(f"frame_formats: --json {sidecar} is the model's file")


def test_soak_json_over_the_default_model_of_a_learned_backend(capsys, monkeypatch):
    from edgefill.models import DEFAULT_MODEL

    mod = _untimed(monkeypatch, "soak", "run", "atomic_write_bytes")
    shipped = MODELS_DIR / f"{DEFAULT_MODEL}.onnx"
    _refused(mod, ["--frames", "500", "--backend", "onnxruntime", "--json", shipped], [shipped], capsys)


def test_gpu_torch_json_over_a_shipped_model(capsys, monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("edgefill_export")
    mod = _untimed(monkeypatch, "gpu_torch", "matmul_peak_gflops", "atomic_write_bytes")
    shipped = MODELS_DIR / "nano.json"
    _refused(mod, ["--device", "cpu", "--dtype", "fp32", "--size", "64", "--reps", "1", "--peak-n", "64",
                   "--models", "nano", "--json", shipped], [shipped], capsys)


def _no_training(monkeypatch):
    """The training toolchain made unimportable: a check that comes before it cannot depend on it."""
    for name in ("torch", "edgefill_export.train", "edgefill_export.fetch"):
        monkeypatch.setitem(sys.modules, name, None)


def test_train_batches_json_over_the_pack(tmp_path, capsys, monkeypatch):
    _no_training(monkeypatch)
    pack = tmp_path / "train.npz"
    pack.write_bytes(b"a photo pack")
    err = _refused(load_script("train_batches"), ["--pack", pack, "--steps", "1", "--json", pack], [pack], capsys)
    assert err.startswith(f"error: --json {pack} is the photo pack")


def test_batch_startup_json_over_the_pack(tmp_path, capsys, monkeypatch):
    mod = load_script("batch_startup")
    monkeypatch.setattr(mod, "subprocess", types.SimpleNamespace(run=lambda *a, **k: pytest.fail("a run started")))
    pack = tmp_path / "train.npz"
    pack.write_bytes(b"a photo pack")
    err = _refused(mod, ["--pack", pack, "--repeats", "1", "--json", pack], [pack], capsys)
    assert err.startswith(f"error: --json {pack} is the photo pack")


def test_train_batches_json_folder_is_refused_before_the_run(tmp_path, capsys, monkeypatch):
    _no_training(monkeypatch)
    assert load_script("train_batches").main(["--steps", "1", "--json", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"cannot write the JSON report to {tmp_path}: it is a folder" in err and "Traceback" not in err


def test_batch_startup_json_folder_is_refused_before_the_run(tmp_path, capsys, monkeypatch):
    mod = load_script("batch_startup")
    monkeypatch.setattr(mod, "subprocess", types.SimpleNamespace(run=lambda *a, **k: pytest.fail("a run started")))
    assert mod.main(["--repeats", "1", "--json", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"cannot write the JSON report to {tmp_path}: it is a folder" in err and "Traceback" not in err


@LEARNED
def test_an_output_beside_the_inputs_is_still_written(tmp_path, model):
    """Only the inputs themselves are refused: a report in the model's folder is fine."""
    out = model.parent / "report.json"
    assert load_script("thin_refill").main(["--model", str(model), "--size", "64", "--reps", "1", "--families",
                                            "objects", "--json", str(out)]) == 0
    assert out.is_file()
