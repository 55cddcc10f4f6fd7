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


def test_json_records_versions_and_settings(tmp_path):
    out = tmp_path / "gpu.json"
    assert load_script("gpu_torch").main(["--device", "cpu", "--dtype", "fp32", "--size", "64", "--reps", "2",
                                          "--peak-n", "128", "--models", "nano", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["torch"] and report["cuda"] is None and report["host"]["platform"] and report["host"]["cpus"] >= 1
    assert (report["reps"], report["peak_n"], report["graphs"]) == (2, 128, False) and report["form"]


@pytest.mark.parametrize("args, message", [
    (["--reps", "0"], "--reps, --peak-n and --size must be >= 1"),  # was StatisticsError
    (["--peak-n", "0"], "--reps, --peak-n and --size must be >= 1"),  # was ZeroDivisionError
    (["--size", "96"], "--size 96 is not a multiple of 64"),  # was a shape mismatch deep in the forward
    (["--models", "nano,no-such-model"], "no shipped weights for model 'no-such-model'"),
    (["--form", "no-such-form"], "unknown --form 'no-such-form'"),
    (["--json", "{file}/gpu.json"], "cannot write the JSON report"),  # was found after the whole run
])
def test_bad_arguments_are_one_line_errors_before_the_run(tmp_path, capsys, args, message):
    (tmp_path / "file").write_text("not a folder")
    args = [arg.format(file=tmp_path / "file") for arg in args]
    assert load_script("gpu_torch").main(["--device", "cpu", "--dtype", "fp32", "--size", "64", "--reps", "1",
                                          "--peak-n", "64", "--models", "nano", *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "matmul peak" not in captured.out  # nothing measured


def test_missing_cuda_is_a_clear_message_on_stderr(capsys, monkeypatch):
    """It went to stdout, with the results a run prints."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # also where a GPU is present
    assert load_script("gpu_torch").main(["--models", "nano", "--size", "64"]) == 2
    captured = capsys.readouterr()
    assert "no CUDA device" in captured.err and captured.out == ""


@pytest.mark.gpu
def test_cuda_fp16_with_cuda_graphs(tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU (torch.cuda.is_available() is False)")
    out = tmp_path / "gpu.json"
    assert load_script("gpu_torch").main(["--size", "128", "--reps", "5", "--peak-n", "2048", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["results"]
    assert any(r["runtime"] == "pytorch-fp16-cudagraph" for r in rows)
