"""``edgefill.bench`` as a Python caller uses it: run_bench's arguments, and what the stages time."""

from pathlib import Path

import pytest

from edgefill import bench
from edgefill.backends import backend_class
from edgefill.errors import ConfigError


@pytest.fixture
def no_timing(monkeypatch):
    """run_bench up to the measurement: what it would measure is recorded, nothing is timed."""
    seen = []

    def measure(configs, size, warmup, reps, check_sizes=None, profile=None):
        seen.append((configs, size, warmup, reps))
        return [bench.BenchResult(m, b, p, size, 1, 1, 1, 0, 1000, None, None, 1) for m, b, p in configs]

    monkeypatch.setattr(bench, "measure_size", measure)
    monkeypatch.setattr(bench, "gemm_peak_gflops", lambda p: None)
    return seen


def test_one_name_or_size_is_a_list_of_one(no_timing):
    """run_bench("nano", "onnxruntime", "fp32", 256) took each string letter by letter ("unknown
    model 'n'", "unknown backend 'o'", "unknown precision 'f'") and the size was a TypeError."""
    results, _ = bench.run_bench("nano", "onnxruntime", "fp32", 256, warmup=0, reps=1)
    assert no_timing == [([("nano", "onnxruntime", "fp32")], 256, 0, 1)]
    assert [(r.model, r.size) for r in results] == [("nano", 256)]


def test_a_model_path_is_taken_as_its_string(no_timing, tmp_path):
    bench.run_bench([Path("nano")], ["onnxruntime"], ["fp32"], [64], warmup=0, reps=1)
    assert no_timing[0][0] == [("nano", "onnxruntime", "fp32")]


@pytest.mark.parametrize("kwargs, message", [
    ({"sizes": [256.0]}, "sizes must be whole numbers of pixels, got 256.0"),
    ({"sizes": ["256"]}, "got '256'"),
    ({"sizes": []}, "nothing to measure"),
    ({"models": []}, "nothing to measure: onnxruntime needs at least one model"),
    ({"precisions": []}, "nothing to measure"),
    ({"models": [3]}, "models must be model names or paths, got 3"),
    ({"backends": None}, "backends must be a list of backend names"),
    ({"reps": 2.5}, "reps and warm-up must be whole numbers"),
    ({"warmup": "1"}, "reps and warm-up must be whole numbers"),
])
def test_bad_arguments_are_one_config_error_before_anything_runs(no_timing, kwargs, message):
    """Each was a TypeError from deep inside (or, for an empty list, an empty table as if measured)."""
    args = {"models": ["nano"], "backends": ["onnxruntime"], "precisions": ["fp32"], "sizes": [64], "warmup": 0,
            "reps": 1, **kwargs}
    with pytest.raises(ConfigError, match=message):
        bench.run_bench(**args)
    assert no_timing == []


def test_the_pipeline_stages_run_the_rows_own_crop_size(monkeypatch):
    """A size below the smallest bucket (or between two, or above the largest) ran the pipeline
    in another crop: the 128 row's "infer" stage timed a 256 crop, larger than the row's p50."""
    cls = backend_class("onnxruntime")
    shapes = []
    infer = cls.infer

    def recording(self, image, mask):
        shapes.append(image.shape[:2])
        return infer(self, image, mask)

    monkeypatch.setattr(cls, "infer", recording)
    for size in (128, 320):
        shapes.clear()
        bench.pipeline_stages("nano", "onnxruntime", size, frames=2)
        assert shapes and set(shapes) == {(size, size)}
