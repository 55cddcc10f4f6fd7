"""Review of ``edgefill bench`` and benchmarks/latency.py: a configuration named twice is timed
and reported once, and two models under one label are refused rather than one of them dropped."""

import json

import pytest

from edgefill import bench

from .benchmarks import load_script


def test_a_model_backend_or_precision_given_twice_is_measured_once(monkeypatch):
    """Regression: --model lite,lite (or --precision fp32,fp32) timed the one configuration
    again and again and reported identical rows, as if they were different ones."""
    seen = []

    def measure(configs, size, warmup, reps, check_sizes=None, profile=None):
        seen.append(list(configs))
        return [bench.BenchResult(m, b, p, size, 1, 1, 1, 0, 1000, None, None, 1) for m, b, p in configs]

    monkeypatch.setattr(bench, "measure_size", measure)
    monkeypatch.setattr(bench, "gemm_peak_gflops", lambda p: None)
    monkeypatch.setattr(bench, "available_class", lambda name: None)
    results, _ = bench.run_bench(["nano", "nano"], ["onnxruntime", "onnxruntime", "opencv-telea"], ["fp32", "fp32"],
                                 [64], warmup=0, reps=1)
    assert seen == [[("nano", "onnxruntime", "fp32"), ("-", "opencv-telea", "-")]]
    assert [(r.model, r.backend) for r in results] == [("nano", "onnxruntime"), ("-", "opencv-telea")]


def test_latency_refuses_one_label_for_two_models(tmp_path, capsys):
    """Regression: --onnx a=X --onnx a=Y timed only Y (the second replaced the first under the
    one label) and said nothing: the table and the JSON had one row."""
    mod = load_script("latency")
    mod.torch_runner = lambda m: None
    with pytest.raises(SystemExit) as exc:
        mod.main(["--models", "", "--no-opencv", "--sizes", "64", "--reps", "1", "--warmup", "0",
                  "--onnx", "a=nano", "--onnx", "a=lite", "--json", str(tmp_path / "l.json")])
    assert exc.value.code == 2
    assert "--onnx label 'a' is given twice" in capsys.readouterr().err
    assert not (tmp_path / "l.json").exists()


def test_latency_times_a_model_given_twice_once(tmp_path, monkeypatch):
    mod = load_script("latency")
    mod.torch_runner = lambda m: None
    opened = []
    real = mod.edgefill.create_backend

    def create(name, **kw):
        opened.append(name)
        return real(name, **kw)

    monkeypatch.setattr(mod.edgefill, "create_backend", create)
    assert mod.main(["--models", "nano,nano", "--no-opencv", "--sizes", "64", "--reps", "1", "--warmup", "0",
                     "--json", str(tmp_path / "l.json")]) == 0
    assert opened == ["onnxruntime"]
    assert [r["method"] for r in json.loads((tmp_path / "l.json").read_text())["results"]] == ["nano onnxruntime-fp32"]


def test_a_shipped_int8_name_is_labelled_int8():
    """`edgefill bench --model lite.int8` labelled the INT8 graph's row fp32, and took its % of
    peak against the FP32 GEMM: the relabelling skipped names in the shipped manifest."""
    rows = bench.measure_size([("nano.int8", "onnxruntime", "fp32")], 64, warmup=0, reps=1)
    assert [(r.model, r.precision) for r in rows] == [("nano.int8", "int8")]
