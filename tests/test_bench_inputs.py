"""`edgefill bench`'s command line: output paths checked before the run, Ctrl-C keeping what was measured."""

import json

import pytest

from edgefill import bench
from edgefill.cli import main

from .benchmarks import load_script


def _row(size=64, reps=3):
    return bench.BenchResult("-", "opencv-telea", "-", size, 1.0, 1.5, 2.0, 1.0, 900.0, None, None, 100.0, {}, "cpu",
                             None, reps)


def _env(interrupted=False):
    return {"gemm_peak_gflops": {"fp32": 100.0}, "telemetry": {"source": None}, "warmup": 1, "reps": 3,
            "interrupted": interrupted, "host": None}


@pytest.fixture
def no_run(monkeypatch):
    monkeypatch.setattr(bench, "run_bench", lambda *a, **k: pytest.fail("the benchmark ran before the check"))


ARGS = ["bench", "--backend", "opencv-telea", "--size", "64", "--reps", "1", "--warmup", "0"]


def test_json_path_that_is_a_folder_fails_before_the_run(tmp_path, capsys, no_run):
    """Regression: after the whole run, an IsADirectoryError traceback (exit 1) and no JSON."""
    assert main(ARGS + ["--json", str(tmp_path)]) == 2
    assert "--json" in capsys.readouterr().err


def test_json_and_plot_on_the_same_file_fail_before_the_run(tmp_path, capsys, no_run):
    """Regression: the PNG silently replaced the JSON just written."""
    out = tmp_path / "b.png"
    assert main(ARGS + ["--json", str(out), "--plot", str(out)]) == 2
    assert "same file" in capsys.readouterr().err


def test_json_onto_the_model_file_is_refused(tmp_path, capsys, no_run):
    """Regression: --model x.onnx --json x.onnx replaced the model with the report."""
    model = tmp_path / "m.onnx"
    model.write_bytes(b"model")
    assert main(ARGS + ["--model", str(model), "--json", str(model)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err and model.read_bytes() == b"model"


@pytest.mark.parametrize("inside", ["bundle.json", "model.fp32.onnx", "engines/abc.engine"])
def test_json_onto_a_file_of_the_model_bundle_is_refused(tmp_path, capsys, no_run, inside):
    """Regression: --model BUNDLE --json BUNDLE/bundle.json replaced the bundle's manifest (only a
    --model file was guarded), and the bundle no longer loaded."""
    bundle = tmp_path / "b"
    (bundle / "engines").mkdir(parents=True)
    for name in ("bundle.json", "model.fp32.onnx", "engines/abc.engine"):
        (bundle / name).write_bytes(b"bundle's")
    assert main(ARGS + ["--model", str(bundle), "--json", str(bundle / inside)]) == 2
    err = capsys.readouterr().err
    assert f"the model bundle {bundle}'s file" in err and "Traceback" not in err
    assert all((bundle / n).read_bytes() == b"bundle's" for n in ("bundle.json", "model.fp32.onnx", "engines/abc.engine"))


def test_plot_with_no_image_extension_fails_before_the_run(tmp_path, capsys, no_run):
    """Regression: the unsupported extension was found only after the run."""
    assert main(ARGS + ["--plot", str(tmp_path / "latency.txt")]) == 2
    assert "unsupported extension" in capsys.readouterr().err


def test_unwritable_json_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    """A --json whose folder cannot be made (here its parent is a file) is an error line, exit 2."""
    monkeypatch.setattr(bench, "run_bench", lambda *a, **k: ([_row()], _env()))
    (tmp_path / "file").write_text("x")
    assert main(ARGS + ["--json", str(tmp_path / "file" / "b.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgefill: error: cannot write --json") and "Traceback" not in err


def test_interrupted_run_prints_and_writes_what_it_has(tmp_path, capsys, monkeypatch):
    """Ctrl-C: the rows measured so far are printed and written, then exit 130."""
    monkeypatch.setattr(bench, "run_bench", lambda *a, **k: ([_row(reps=2)], _env(interrupted=True)))
    js = tmp_path / "b.json"
    assert main(ARGS + ["--json", str(js)]) == 130
    cap = capsys.readouterr()
    assert "INTERRUPTED" in cap.out and "interrupted" in cap.err
    data = json.loads(js.read_text())
    assert data["environment"]["interrupted"] is True and data["results"][0]["reps"] == 2


def _latency():
    return load_script("latency")


@pytest.mark.parametrize("args, message", [
    (["--reps", "0"], "--reps must be >= 1"),
    (["--warmup", "-1"], "--reps must be >= 1, --warmup >= 0"),
    (["--sizes", "64,x"], "--sizes takes comma-separated integers"),
    (["--sizes", "0"], "--sizes >= 1"),
    (["--models", "nano", "--sizes", "64,100"], "--sizes 100: the models take multiples of 64"),
    (["--onnx", "just-a-label"], "--onnx takes LABEL=PATH"),
])
def test_latency_script_rejects_bad_arguments_with_one_line(args, message, capsys):
    """Regression: benchmarks/latency.py ended in tracebacks (StatisticsError for --reps 0, a
    ValueError from int() or from the PyTorch graph for --sizes 100)."""
    mod = _latency()
    mod.torch_runner = lambda m: None  # no PyTorch graph to load: the check is the script's own
    argv = ["--models", "", "--no-opencv", "--sizes", "64"] + args
    with pytest.raises(SystemExit) as exc:
        mod.main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_latency_script_times_and_closes_its_backends(monkeypatch, tmp_path, capsys):
    import edgefill

    mod = _latency()
    mod.torch_runner = lambda m: None
    opened = []
    real = edgefill.create_backend

    def create(name, **kw):
        opened.append(real(name, **kw))
        return opened[-1]

    monkeypatch.setattr(mod.edgefill, "create_backend", create)
    assert mod.main(["--models", "", "--sizes", "32,32", "--reps", "2", "--warmup", "0",
                     "--json", str(tmp_path / "l.json")]) == 0
    data = json.loads((tmp_path / "l.json").read_text())
    assert {(r["method"], r["size"], r["reps"]) for r in data["results"]} == {("opencv-telea", 32, 2), ("opencv-ns", 32, 2)}
    assert len(data["results"]) == 2 and all(b._closed for b in opened)
