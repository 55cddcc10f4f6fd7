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
    env = data["environment"]  # what the figures were measured on, and how many calls they rest on
    assert env["reps"] == 3 and env["warmup"] == 1 and env["host"]["cpus"] >= 1 and env["host"]["cpu"]
    assert "3 timed calls after 1 warm-up" in out
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


@pytest.mark.parametrize("kwargs", [{"reps": 0}, {"warmup": -1}, {"sizes": [64, 0]}])
def test_bad_reps_warmup_or_size_is_a_config_error(kwargs):
    """Regression: --reps 0 ended in an IndexError from np.percentile, --size 0 in a ZeroDivisionError."""
    args = {"sizes": [64], **kwargs}
    with pytest.raises(ConfigError):
        bench.run_bench(["nano"], ["opencv-telea"], ["fp32"], args.pop("sizes"), **args)


def test_a_size_given_twice_is_measured_once(monkeypatch):
    """Regression: --size 64,64 printed the one measurement twice, as if it were two."""
    seen = []

    def measure(configs, size, warmup, reps):
        seen.append(size)
        return [bench.BenchResult("-", "opencv-telea", "-", size, 1, 1, 1, 0, 1000, None, None, 1)]

    monkeypatch.setattr(bench, "measure_size", measure)
    monkeypatch.setattr(bench, "gemm_peak_gflops", lambda p: None)
    results, _ = bench.run_bench(["nano"], ["opencv-telea"], ["fp32"], [64, 128, 64], warmup=0, reps=1)
    assert seen == [64, 128] and [r.size for r in results] == [64, 128]


def test_stage_timings_are_each_frames_own(monkeypatch):
    """Regression: the timings were read from ``Inpainter.last_timing`` in the sink thread, by
    which time the inference thread had often moved on to a later frame (here, with a slow sink,
    the median was that of the last frames); the warm-up call is left out."""
    import time

    import numpy as np

    from edgefill import inpainter, sinks

    produced = []

    def inpaint(self, image, mask, invert=False):
        k = len(produced) + 1
        self.last_timing = inpainter.InpaintTiming(total=k / 1000, infer=k / 1000)
        produced.append(k)
        return image.copy()

    write = sinks.CallbackSink.write

    def slow_write(self, result):
        time.sleep(0.02)
        write(self, result)

    monkeypatch.setattr(inpainter.Inpainter, "inpaint", inpaint)
    monkeypatch.setattr(sinks.CallbackSink, "write", slow_write)
    stages = bench.pipeline_stages(None, "opencv-telea", 64, frames=12)
    assert stages["infer"] == pytest.approx(float(np.median(produced[-12:])))  # old code: 11.5 for 6.5
    assert produced == list(range(1, 14))  # one warm-up call, then the 12 frames
