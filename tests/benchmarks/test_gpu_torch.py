"""benchmarks/gpu_torch.py: the GPU latency script (part 3 of the performance issue), smoke-run
on the CPU here and for real where a CUDA GPU is present."""

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("edgefill_export")

from . import load_script  # noqa: E402

def test_cpu_smoke_run_reports_latency_and_percent_of_peak(tmp_path, capsys):
    out = tmp_path / "gpu.json"
    rc = load_script("gpu_torch").main(["--device", "cpu", "--dtype", "fp32", "--size", "64", "--reps", "2", "--peak-n", "256",
                       "--models", "nano", "--json", str(out)])
    assert rc == 0
    report = json.loads(out.read_text())
    (row,) = report["results"]
    assert row["model"] == "nano" and row["runtime"] == "pytorch-fp32" and row["size"] == 64
    assert row["p50_ms"] > 0 and row["gflops"] > 0 and row["percent_of_peak"] > 0
    assert 0 < row["executed_gmac"] < 1
    assert "matmul peak" in capsys.readouterr().out


def test_missing_cuda_is_a_clear_message(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert load_script("gpu_torch").main(["--models", "nano", "--size", "64"]) == 2
    assert "no CUDA device" in capsys.readouterr().out


@pytest.mark.gpu
def test_cuda_fp16_with_cuda_graphs(tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU (torch.cuda.is_available() is False)")
    out = tmp_path / "gpu.json"
    assert load_script("gpu_torch").main(["--size", "128", "--reps", "5", "--peak-n", "2048", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["results"]
    assert any(r["runtime"] == "pytorch-fp16-cudagraph" for r in rows)
