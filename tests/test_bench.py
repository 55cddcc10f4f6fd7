import json

import cv2
import pytest

from edgefill import bench
from edgefill.backends import InputInfo
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
    assert bench.model_for("lite.int8", "int8") == "lite.int8"  # was "no shipped int8 version of 'lite.int8'"
    with pytest.raises(ModelError):
        bench.model_for("lite", "fp16")
    with pytest.raises(ModelError):
        bench.model_for("lite.int8", "fp16")


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
            self.input_info = InputInfo(multiple=1)

        def infer(self, img, mask):
            calls.append(self.name)
            return img

        def close(self):
            calls.append(f"close {self.name}")

    monkeypatch.setattr(bench, "create_backend", lambda backend, model=None: Fake(f"{backend}/{model}"))
    monkeypatch.setattr(bench, "pipeline_stages", lambda *a, **k: {})
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
        def __init__(self, model):  # runs the precision its file is for, as a real backend does
            self.input_info = InputInfo(multiple=1, precision=model.split(".")[-1])

        def infer(self, img, mask):
            calls.append("model")

        def close(self):
            pass

    monkeypatch.setattr(bench, "create_backend", lambda backend, model=None: Fake(model))
    monkeypatch.setattr(bench, "pipeline_stages", lambda *a, **k: {})
    monkeypatch.setattr(bench, "model_for", lambda m, p: f"{m}.{p}")
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

    def measure(configs, size, warmup, reps, check_sizes=None, profile=None):
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


class _Fake:
    """A backend stand-in: ``infer`` calls are counted; ``stop_at`` raises KeyboardInterrupt (Ctrl-C)
    on that call."""

    def __init__(self, info=None, stop_at=None, name="fake", uses_model=True):
        self.input_info = info or InputInfo(multiple=1)
        self.calls, self.stop_at, self.name, self.uses_model, self.closed = 0, stop_at, name, uses_model, False

    def infer(self, img, mask):
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt

    def close(self):
        self.closed = True


def _fast(monkeypatch, fake):
    monkeypatch.setattr(bench, "create_backend", lambda backend, model=None: fake)
    monkeypatch.setattr(bench, "pipeline_stages", lambda *a, **k: {})
    monkeypatch.setattr(bench, "GEMM_SETTLE_S", 0.0)
    monkeypatch.setattr(bench, "GEMM_N", 64)
    monkeypatch.setattr(bench, "gemm_peak_gflops", lambda p: 1.0)


def test_gpu_row_is_not_a_percentage_of_the_cpu_gemm(monkeypatch):
    """Regression: a TensorRT / CUDA row's GFLOP/s was divided by the CPU's numpy GEMM, printing
    '% of peak' figures in the thousands for a Jetson's GPU."""
    _fast(monkeypatch, _Fake(InputInfo(multiple=1, device="cuda")))
    (r,) = bench.measure_size([("lite", "onnxruntime", "fp32")], 64, warmup=0, reps=2, gemm_n=64)
    assert r.device == "cuda" and r.gflops > 0
    assert r.percent_of_peak is None and r.peak_gflops is None


def test_no_cpu_gemm_is_timed_for_gpu_rows(monkeypatch):
    """The CPU GEMM peaks (and their 0.1 s pause) ran in every round of a GPU-only bench and were
    thrown away: 95% of its wall time, and on a Jetson the heat of the SoC its GPU shares."""
    gemms = []
    _fast(monkeypatch, _Fake(InputInfo(multiple=1, device="cuda")))
    monkeypatch.setattr(bench, "gemm_runner", lambda p, n: lambda: gemms.append(p))
    (r,) = bench.measure_size([("lite", "onnxruntime", "fp32")], 64, warmup=1, reps=3, gemm_n=64)
    assert gemms == [] and r.peak_gflops is None and r.reps == 3


def test_auto_falling_back_to_opencv_is_reported_as_opencv(monkeypatch):
    """Regression: with onnxruntime missing, ``--backend auto`` ran OpenCV Telea but the row said
    'lite auto fp32' and credited Telea with lite's FLOPs (GFLOP/s and % of peak of a model
    that never ran)."""
    from edgefill.backends.base import Availability
    from edgefill.backends.onnxruntime import OnnxRuntimeBackend

    monkeypatch.setattr(OnnxRuntimeBackend, "is_available", classmethod(lambda cls: Availability(False, "missing")))
    monkeypatch.setattr(bench, "pipeline_stages", lambda *a, **k: {})
    monkeypatch.setattr(bench, "GEMM_SETTLE_S", 0.0)
    (r,) = bench.measure_size([("lite", "auto", "fp32")], 64, warmup=0, reps=2, gemm_n=64)
    assert (r.model, r.backend, r.precision) == ("-", "opencv-telea", "-")
    assert r.gflops is None and r.percent_of_peak is None


def test_ctrl_c_keeps_the_completed_rounds(monkeypatch):
    """Regression: Ctrl-C during a long run printed 'interrupted' and nothing else: the sizes and
    rounds already measured were lost. Now the rows of the completed rounds are returned."""
    fake = _Fake(stop_at=2 + 3 + 2)  # size 64: 2 warm-up + 3 timed; size 128: 2 warm-up, then Ctrl-C
    _fast(monkeypatch, fake)
    results, env = bench.run_bench(["lite"], ["onnxruntime"], ["fp32"], [64, 128, 256], warmup=2, reps=3)
    assert env["interrupted"] is True and fake.closed
    assert [(r.size, r.reps) for r in results] == [(64, 3)]
    assert "INTERRUPTED" in bench.table(results, env)

    fake = _Fake(stop_at=1 + 2 + 1)  # one warm-up, two complete rounds, Ctrl-C in the third
    _fast(monkeypatch, fake)
    monkeypatch.setattr(bench, "pipeline_stages", lambda *a, **k: pytest.fail("ran the pipeline after Ctrl-C"))
    with pytest.raises(bench.BenchInterrupted) as exc:
        bench.measure_size([("lite", "onnxruntime", "fp32")], 64, warmup=1, reps=5, gemm_n=64)
    (r,) = exc.value.results
    assert r.reps == 2 and r.p50_ms >= 0 and fake.closed


def test_ctrl_c_before_any_round_is_a_plain_interrupt(monkeypatch):
    _fast(monkeypatch, _Fake(stop_at=1))  # during the warm-up
    with pytest.raises(KeyboardInterrupt) as exc:
        bench.run_bench(["lite"], ["onnxruntime"], ["fp32"], [64], warmup=2, reps=3)
    assert not isinstance(exc.value, bench.BenchInterrupted)


def test_a_size_the_model_cannot_take_fails_before_anything_is_timed(monkeypatch):
    """Regression: --size 64,100 timed every configuration at 64, then failed at 100 with 'the
    input (must be a non-empty multiple of 64) is 100x100 ...', the 64 results lost."""
    fake = _Fake(InputInfo(multiple=64))
    _fast(monkeypatch, fake)
    with pytest.raises(ConfigError, match=r"size 100 is not a multiple of 64.*try 64 or 128"):
        bench.run_bench(["nano"], ["onnxruntime"], ["fp32"], [64, 100], warmup=1, reps=2)
    assert fake.calls == 0 and fake.closed
    fake = _Fake(InputInfo(multiple=1, max_size=512))
    _fast(monkeypatch, fake)
    with pytest.raises(ConfigError, match="size 1024 is above 512"):
        bench.run_bench(["nano"], ["onnxruntime"], ["fp32"], [256, 1024], warmup=1, reps=2)
    assert fake.calls == 0


def test_huge_size_is_refused_before_allocating(monkeypatch):
    """Regression: --size 100000 went on to allocate a 30 GB synthetic frame (MemoryError or the
    OOM killer on a board)."""
    monkeypatch.setattr(bench, "gemm_peak_gflops", lambda p: pytest.fail("measured a GEMM first"))
    monkeypatch.setattr(bench, "measure_size", lambda *a, **k: pytest.fail("measured"))
    with pytest.raises(ConfigError, match="sizes must be <= 10000.*got 100000"):
        bench.run_bench(["nano"], ["opencv-telea"], ["fp32"], [64, 100000], warmup=0, reps=1)


def test_tegrastats_of_jetpack_4_and_6():
    """Regression: 'VDD_IN 5297/5297' (JetPack 4: TX2, Xavier NX) carries no 'mW', and JetPack 6
    writes 'gpu@44.5C' in lower case: both gave no power / no GPU temperature."""
    jp4 = ("RAM 3276/7859MB CPU [44%@1421,49%@2031] EMC_FREQ 1%@1866 GR3D_FREQ 0%@114 GPU@39.5C "
           "VDD_SYS_GPU 182/182 VDD_IN 5297/5297 VDD_SYS_CPU 1917/1917")
    jp6 = ("RAM 2270/7620MB CPU [1%@729,0%@729] GR3D_FREQ 0% cpu@47.2C soc2@44.5C gpu@44.5C tj@47.2C "
           "VDD_IN 3906mW/3906mW VDD_CPU_GPU_CV 439mW/439mW")
    t = bench.summarize_telemetry("tegrastats", [jp4])
    assert t["power_mw_max"] == 5297 and t["gpu_temp_c_max"] == 39.5
    t = bench.summarize_telemetry("tegrastats", [jp6])
    assert t["power_mw_max"] == 3906 and t["gpu_temp_c_max"] == 44.5


@pytest.mark.parametrize("line, power, source", [
    ("RAM 2403/30536MB CPU [0%@729] GR3D_FREQ 0%@[305,305] CPU@43.5C GPU@41.2C tj@43.5C VDD_GPU_SOC 2390mW/2390mW "
     "VDD_CPU_CV 398mW/398mW VIN_SYS_5V0 2215mW/2215mW VDDQ_VDD2_1V8AO 503mW/503mW", 5506, "sum of rails"),  # AGX Orin
    ("RAM 2230/31919MB CPU [1%@1190] GR3D_FREQ 0%@1377 AO@25.5C GPU@26C PMIC@100C CPU@27C GPU 0/0 CPU 309/309 "
     "SOC 1236/1236 CV 0/0 VDDRQ 155/155 SYS5V 1458/1458", 3158, "sum of rails"),  # AGX Xavier, JetPack 4
    ("RAM 1574/3956MB (lfb 337x4MB) SWAP 0/1978MB (cached 0MB) GPU@24C POM_5V_IN 1197/1197 POM_5V_GPU 0/0 "
     "POM_5V_CPU 118/118", 1197, "POM_5V_IN"),  # Nano: the input rail, not the sum
])
def test_boards_without_an_input_rail_report_the_sum_of_their_rails(line, power, source):
    """AGX Orin (a shipped profile) and AGX Xavier report no VDD_IN: their power was None."""
    t = bench.summarize_telemetry("tegrastats", [line])
    assert (t["power_mw_max"], t["power_source"]) == (power, source)


def test_peak_rss_is_mib_on_macos_too(monkeypatch):
    """Regression: macOS reports ru_maxrss in bytes (Linux: KiB), so the RSS column read 1024x too high."""
    import resource
    import sys

    monkeypatch.setattr(resource, "getrusage", lambda who: type("R", (), {"ru_maxrss": 300 * 1024 * 1024})())
    monkeypatch.setattr(sys, "platform", "darwin")
    assert bench.peak_rss_mb() == pytest.approx(300)
    monkeypatch.setattr(sys, "platform", "linux")
    assert bench.peak_rss_mb() == pytest.approx(300 * 1024)


def test_percentiles_match_numpy_on_small_samples(monkeypatch):
    """p50/p90/p99 of 5 calls are numpy's (linear) percentiles of those calls, jitter p99 - p50,
    throughput 1000 / the mean latency."""
    import numpy as np

    durations = iter([0.010, 0.030, 0.020, 0.050, 0.040])
    clock = [0.0]

    class Timed(_Fake):
        def infer(self, img, mask):
            clock[0] += next(durations)

    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock[0])
    _fast(monkeypatch, Timed())
    monkeypatch.setattr(bench, "gemm_runner", lambda p, n: None)
    (r,) = bench.measure_size([("-", "opencv-telea", "-")], 64, warmup=0, reps=5)
    ms = [10, 30, 20, 50, 40]
    assert [r.p50_ms, r.p90_ms, r.p99_ms] == pytest.approx(list(np.percentile(ms, [50, 90, 99])))
    assert r.jitter_ms == pytest.approx(r.p99_ms - r.p50_ms) and r.throughput_fps == pytest.approx(1000 / 30)
    assert r.reps == 5


def test_a_model_file_is_labelled_with_the_precision_it_runs(monkeypatch, caplog):
    """Regression: ``--model path/nano.int8.onnx`` (default --precision fp32) was labelled fp32
    and divided by the FP32 GEMM peak; ``--model nano.onnx --precision int8`` ran FP32 labelled
    int8, against the INT8 peak."""
    from edgefill.models import MODELS_DIR

    monkeypatch.setattr(bench, "pipeline_stages", lambda *a, **k: {})
    monkeypatch.setattr(bench, "GEMM_SETTLE_S", 0.0)
    int8, fp32 = str(MODELS_DIR / "nano.int8.onnx"), str(MODELS_DIR / "nano.onnx")
    res = bench.measure_size([(int8, "onnxruntime", "fp32"), (fp32, "onnxruntime", "int8")], 64, warmup=0, reps=1,
                             gemm_n=64)
    assert [r.precision for r in res] == ["int8", "fp32"]
    assert "nano.int8.onnx runs in int8" in caplog.text


def test_unknown_or_unavailable_backend_fails_before_the_gemm_peaks(monkeypatch):
    """Regression: the best-of-5 GEMM peaks (seconds per precision on a Raspberry Pi) ran before a
    misspelt or missing backend was noticed; now the one-line error comes first."""
    from edgefill.backends.base import Availability
    from edgefill.backends.onnxruntime import OnnxRuntimeBackend
    from edgefill.errors import BackendUnavailableError, UnknownBackendError

    monkeypatch.setattr(bench, "gemm_peak_gflops", lambda p: pytest.fail("measured the GEMM peak first"))
    with pytest.raises(UnknownBackendError, match="onnxruntim"):
        bench.run_bench(["nano"], ["onnxruntim"], ["fp32"], [64], warmup=0, reps=1)
    monkeypatch.setattr(OnnxRuntimeBackend, "is_available", classmethod(lambda cls: Availability(False, "not installed")))
    with pytest.raises(BackendUnavailableError, match=r"install edgefill\[ort\]"):
        bench.run_bench(["nano"], ["onnxruntime"], ["fp32"], [64], warmup=0, reps=1)
