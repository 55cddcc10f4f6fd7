"""Review of `edgefill bench`: empty options refused, the Jetson power mode recorded (not the fan
mode), one graph timed once, numpy integers taken, no install hint for an installed TensorRT, the
stage split on the row's own hole, long legend labels kept apart, and the INT8 peak said n/a."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from edgefill import bench
from edgefill.backends import Availability
from edgefill.backends.tensorrt import TensorRTBackend
from edgefill.cli import main
from edgefill.errors import BackendUnavailableError

FAST = ["--warmup", "0", "--reps", "1", "--backend", "opencv-telea", "--size", "64"]


@pytest.mark.parametrize("flag", ["--model", "--size", "--backend", "--precision", "--json", "--plot"])
def test_an_empty_option_is_refused(tmp_path, monkeypatch, capsys, flag):
    """--json "" wrote nothing (exit 0); --size "" ran 256 and 512, minutes on a Pi."""
    monkeypatch.chdir(tmp_path)
    args = [a for a in FAST]
    if flag in args:
        i = args.index(flag)
        del args[i:i + 2]
    assert main(["bench", *args, flag, ""]) == 2
    assert f"{flag} is empty" in capsys.readouterr().err


def test_the_power_mode_is_recorded_not_the_fan_mode(tmp_path, monkeypatch):
    tool = tmp_path / "nvpmodel"
    tool.write_text("#!/bin/sh\nprintf 'NV Fan Mode:quiet\\nNV Power Mode: MAXN\\n0\\n'\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    line = "RAM 2000/7000MB CPU [1%@1000] GPU@41.2C VDD_IN 5210mW/5210mW"
    assert bench.summarize_telemetry("tegrastats", [line])["nvpmodel"] == "MAXN"


def test_one_graph_is_timed_once(monkeypatch):
    """nano.int8 at --precision fp32,int8 was measured twice under one label (the plot kept one)."""
    seen = []

    def measure(configs, size, warmup, reps, check_sizes=(), profile=None):
        seen.append(list(configs))
        return [None] * len(configs)

    monkeypatch.setattr(bench, "measure_size", measure)
    monkeypatch.setattr(bench, "gemm_peak_gflops", lambda p: None)
    bench.run_bench(["nano.int8", "lite"], ["onnxruntime"], ["fp32", "int8"], [64], warmup=0, reps=1)
    assert seen == [[("nano.int8", "onnxruntime", "fp32"), ("lite", "onnxruntime", "fp32"),
                     ("lite", "onnxruntime", "int8")]]


def test_numpy_integers_reach_the_json():
    rows, env = bench.run_bench("-", "opencv-telea", "fp32", np.arange(64, 129, 64), warmup=np.int64(0),
                                reps=np.int64(1))
    report = json.loads(bench.to_json(rows, env))
    assert [r["size"] for r in report["results"]] == [64, 128]


def test_an_installed_tensorrt_given_a_shipped_name_gets_no_install_hint(monkeypatch):
    monkeypatch.setattr(TensorRTBackend, "is_available", classmethod(lambda cls: Availability(True)))
    with pytest.raises(BackendUnavailableError) as e:
        bench.run_bench(["lite"], ["tensorrt"], ["int8"], [64], warmup=0, reps=1)
    assert "install edgefill[trt]" not in str(e.value)


def test_the_stage_split_runs_the_rows_own_hole(monkeypatch):
    """It ran seed 1's hole (24% of the crop) against the row's seed 0 (29%): Telea's "infer"
    stage came out 18% below the row's p50."""
    used = []
    real = bench.synthetic

    def recorded(size, seed=0):
        used.append(seed)
        return real(size, seed)

    monkeypatch.setattr(bench, "synthetic", recorded)
    bench.pipeline_stages(None, "opencv-telea", 64, frames=2)
    assert used == [0]


def test_long_legend_labels_keep_their_ends(tmp_path):
    from edgefill.plot import _keep_end

    a = "/tmp/bundles/line-3-camera-2/nano.onnx onnxruntime fp32"
    b = "/tmp/bundles/line-3-camera-2/nano.int8.onnx onnxruntime int8"
    assert _keep_end(a, 40) != _keep_end(b, 40) and len(_keep_end(a, 40)) == 40
    assert _keep_end("nano onnxruntime fp32", 40) == "nano onnxruntime fp32"


def test_the_int8_peak_without_onnx_is_said(monkeypatch):
    env = {"gemm_peak_gflops": {"fp32": 200.0, "int8": None}, "telemetry": {}, "reps": 1, "warmup": 0}
    assert "int8 n/a (needs the onnx and onnxruntime packages)" in bench.table([], env)


def test_bench_profile_reaches_the_tensorrt_backend(monkeypatch):
    """`bench --profile orin-nx --model BUNDLE` keyed its engine on the bundle's recorded profile:
    another engine than `run --profile orin-nx` and `build-engine --profile orin-nx` use."""
    from edgefill.profiles import DeviceProfile

    seen = {}

    def create(backend, **options):
        seen.update(options)
        raise BackendUnavailableError(backend, "stopped here")

    monkeypatch.setattr(TensorRTBackend, "is_available", classmethod(lambda cls: Availability(True)))
    monkeypatch.setattr(TensorRTBackend, "accepts_model", classmethod(lambda cls, m: Availability(True)))
    monkeypatch.setattr(bench, "create_backend", create)
    monkeypatch.setattr(bench, "gemm_peak_gflops", lambda p: None)
    prof = DeviceProfile.load("orin-nx")
    with pytest.raises(BackendUnavailableError, match="stopped here"):
        bench.run_bench(["b/"], ["tensorrt"], ["int8"], [64], warmup=0, reps=1, profile=prof)
    assert seen["profile"] is prof
    assert bench._engine_options("onnxruntime", prof) == {}
