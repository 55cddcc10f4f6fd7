"""The bench table keeps its columns aligned whatever the model or backend name: "lite-surface",
its INT8 graph or a path to a model pushed every later column of its row to the right."""

from __future__ import annotations

from edgefill import bench


def _row(model: str, backend: str = "onnxruntime") -> bench.BenchResult:
    return bench.BenchResult(model=model, backend=backend, precision="fp32", size=256, p50_ms=74.0, p90_ms=75.0,
                             p99_ms=80.0, jitter_ms=1.0, throughput_fps=13.3, gflops=None, percent_of_peak=None,
                             peak_rss_mb=300.0, reps=5)


def test_columns_line_up_for_long_names():
    env = {"gemm_peak_gflops": {}, "telemetry": {}, "reps": 5, "warmup": 1}
    rows = [_row("lite"), _row("lite-surface.int8"), _row("/models/my_parts.onnx", "opencv-telea")]
    lines = bench.table(rows, env).splitlines()
    head, body = lines[0], lines[2:5]
    assert {line.index("fp32") for line in body} == {head.index("prec")}, body
    p50_end = head.index("p50 ms") + len("p50 ms")  # numbers are right-aligned under their header
    assert {line[:p50_end].endswith("74.0") for line in body} == {True}, body


def test_the_fp16_peak_says_it_is_an_fp32_gemm():
    """numpy has no fast FP16 product, so an fp16 row's peak is the FP32 GEMM: it was printed
    as "fp16 N GFLOP/s", as if measured in FP16."""
    env = {"gemm_peak_gflops": {"fp32": 100.0, "fp16": 98.0}, "telemetry": {}, "reps": 5, "warmup": 1}
    text = bench.table([_row("lite")], env)
    assert "fp16 (an FP32 GEMM) 98 GFLOP/s" in text and "fp32 100 GFLOP/s" in text
