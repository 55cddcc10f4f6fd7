import json

import cv2
import pytest

from edgefill import bench
from edgefill.cli import main
from edgefill.errors import ConfigError, ModelError

TEGRASTATS = ("RAM 2803/7620MB (lfb 3x4MB) CPU [12%@1510,8%@1510] GR3D_FREQ 45% cpu@48.5C GPU@47.1C "
              "VDD_IN 6120mW/6120mW VDD_CPU_GPU_CV 1450mW/1450mW")


def test_telemetry_parsers():
    t = bench.summarize_telemetry("tegrastats", [TEGRASTATS, TEGRASTATS.replace("6120mW/", "7000mW/")])
    assert t["power_mw_max"] == 7000 and t["gpu_temp_c_max"] == 47.1 and t["samples"] == 2
    v = bench.summarize_telemetry("vcgencmd", ["temp=61.2'C throttled=0x0", "temp=64.0'C throttled=0x50000"])
    assert v["temp_c_max"] == 64.0 and v["throttled"] == ["0x0", "0x50000"]
    assert bench.summarize_telemetry(None, []) == {"source": None}


def test_model_for_precision():
    assert bench.model_for("lite", "fp32") == "lite"
    assert bench.model_for("lite", "int8") == "lite.int8"
    assert bench.model_for("/x/model.onnx", "int8") == "/x/model.onnx"
    with pytest.raises(ModelError):
        bench.model_for("lite", "fp16")


def test_gemm_peak_is_positive():
    assert bench.gemm_peak_gflops("fp32", n=256, reps=2) > 0


def test_bench_cli_writes_table_json_and_plot(tmp_path, capsys):
    js, png = tmp_path / "b.json", tmp_path / "b.png"
    rc = main(["bench", "--model", "nano", "--backend", "onnxruntime,opencv-telea", "--precision", "fp32",
               "--size", "64,128", "--warmup", "1", "--reps", "3", "--json", str(js), "--plot", str(png)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "p50 ms" in out and "GEMM peak" in out
    data = json.loads(js.read_text())
    recs = data["results"]
    assert {r["backend"] for r in recs} == {"onnxruntime", "opencv-telea"} and len(recs) == 4
    for key in ("model", "backend", "precision", "size", "p50_ms", "p99_ms", "gflops", "percent_of_peak"):
        assert key in recs[0]
    ort = [r for r in recs if r["backend"] == "onnxruntime"]
    assert all(r["gflops"] > 0 and 0 < r["percent_of_peak"] for r in ort)
    assert set(ort[0]["stages_ms"]) == {"capture", "preprocess", "infer", "postprocess", "sink"}
    assert cv2.imread(str(png)).shape == (560, 1100, 3)  # plot + legend column


def test_bad_precision():
    with pytest.raises(ConfigError):
        bench.run_bench(["nano"], ["onnxruntime"], ["int4"], [64])


def test_configurations_of_a_size_are_timed_round_robin(monkeypatch):
    """After every backend's warm-up, one call of each configuration per round (noise hits all)."""
    calls = []

    class Fake:
        def __init__(self, name):
            self.name = name
            self.input_info = type("I", (), {"device": "cpu"})()

        def infer(self, img, mask):
            calls.append(self.name)
            return img

        def close(self):
            calls.append(f"close {self.name}")

    monkeypatch.setattr(bench, "create_backend", lambda backend, model=None: Fake(f"{backend}/{model}"))
    monkeypatch.setattr(bench, "pipeline_stages", lambda *a: {})
    monkeypatch.setattr(bench, "gemm_runner", lambda p, n: lambda: calls.append(f"gemm {p}"))
    monkeypatch.setattr(bench, "GEMM_SETTLE_S", 0.0)
    res = bench.measure_size([("lite", "onnxruntime", "fp32"), ("-", "opencv-telea", "-")], 64, warmup=1, reps=3,
                             gemm_n=64)
    a, b = "onnxruntime/lite", "opencv-telea/None"
    # the fp32 GEMM (the peak of the fp32 row) runs in the same rounds
    assert calls == [a, b, "gemm fp32"] + [a, b, "gemm fp32"] * 3 + [f"close {a}", f"close {b}"]
    assert [(r.model, r.backend) for r in res] == [("lite", "onnxruntime"), ("-", "opencv-telea")]
    assert res[0].gflops and res[0].peak_gflops and res[1].gflops is None and res[1].peak_gflops is None
    assert res[0].percent_of_peak == pytest.approx(100 * res[0].gflops / res[0].peak_gflops)


def test_blas_gemm_runs_last_in_a_round(monkeypatch):
    """numpy's BLAS threads spin after a product: the ONNX Runtime INT8 GEMM must not follow it."""
    calls = []

    class Fake:
        input_info = type("I", (), {"device": "cpu"})()

        def infer(self, img, mask):
            calls.append("model")

        def close(self):
            pass

    monkeypatch.setattr(bench, "create_backend", lambda backend, model=None: Fake())
    monkeypatch.setattr(bench, "pipeline_stages", lambda *a: {})
    monkeypatch.setattr(bench, "model_for", lambda m, p: m)
    monkeypatch.setattr(bench, "gemm_runner", lambda p, n: lambda: calls.append(f"gemm {p}"))
    monkeypatch.setattr(bench, "GEMM_SETTLE_S", 0.0)
    bench.measure_size([("lite", "onnxruntime", "fp32"), ("lite", "onnxruntime", "int8")], 64, warmup=0, reps=1, gemm_n=64)
    assert calls[-4:] == ["model", "model", "gemm int8", "gemm fp32"]
