"""benchmarks/latency.py: bad models and outputs are one line before the run; an INT8 model is
timed under its own precision (its argument checks are in tests/test_bench_inputs.py)."""

import json

import pytest

from . import load_script


def _no_timing(monkeypatch):
    mod = load_script("latency")
    monkeypatch.setattr(mod, "measure", lambda *a, **k: pytest.fail("timed before the check"))
    return mod


@pytest.mark.parametrize("args, message", [
    (["--models", "no-such-model"], "unknown model 'no-such-model'"),  # was CheckpointError / ModelError traceback
    (["--models", "", "--onnx", "x={file}.onnx"], "does not exist"),  # was a ModelError traceback
    (["--models", "", "--json", "{file}/l.json"], "cannot write the JSON report"),  # was found after the run
])
def test_bad_models_and_outputs_are_one_line_errors_before_the_run(tmp_path, capsys, monkeypatch, args, message):
    (tmp_path / "file").write_text("not a folder")
    mod = _no_timing(monkeypatch)
    argv = ["--no-opencv", "--sizes", "64", "--reps", "1", "--warmup", "0"]
    argv += [arg.format(file=tmp_path / "file") for arg in args]
    assert mod.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_int8_model_is_timed_as_int8_without_a_pytorch_row(tmp_path, capsys):
    """lite.int8 has no safetensors: the PyTorch graph was looked for anyway (CheckpointError
    traceback), and its ONNX Runtime row was labelled fp32."""
    out = tmp_path / "l.json"
    assert load_script("latency").main(["--models", "nano.int8", "--no-opencv", "--sizes", "64", "--reps", "1",
                                        "--warmup", "0", "--json", str(out)]) == 0
    methods = {r["method"] for r in json.loads(out.read_text())["results"]}
    assert methods == {"nano.int8 onnxruntime-int8"}


def test_json_records_the_versions_that_were_timed(tmp_path):
    """The report had the CPU count and platform only: no ONNX Runtime, PyTorch or edgefill version."""
    out = tmp_path / "l.json"
    mod = load_script("latency")
    mod.torch_runner = lambda m: None
    assert mod.main(["--models", "nano", "--no-opencv", "--sizes", "64", "--reps", "1", "--warmup", "0",
                     "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["host"]["onnxruntime"] and report["host"]["cpus_usable"] >= 1 and report["edgefill"]
    assert report["warmup"] == 0 and "torch" in report
