"""benchmarks/pipeline.py: pipeline overhead, latency and flicker on a synthetic 1080p clip."""

import json

import pytest

from . import load_script, refused


def quick_script():
    """The script with its flicker measurement (3 x 40 frames of 720p) stubbed out."""
    mod = load_script("pipeline")
    mod.flicker = lambda *args, **kwargs: 0.0
    return mod


@pytest.mark.parametrize("args, message", [
    (["--frames", "0"], "--frames must be >= 1"),
    (["--frames", "-3"], "--frames must be >= 1"),
    (["--model", "no-such-model"], "unknown model 'no-such-model'"),
    (["--json", "{file}/report.json"], "cannot write the JSON report"),
])
def test_bad_arguments_are_one_line_errors_before_the_run(tmp_path, capsys, args, message):
    _, err = refused("pipeline", ["--model", "nano", "--frames", "1", *args], tmp_path, capsys)
    assert message in err and "Traceback" not in err


def test_json_records_the_host_versions_and_settings(tmp_path):
    out = tmp_path / "pipeline.json"
    assert quick_script().main(["--model", "nano", "--frames", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    machine = report["machine"]
    assert machine["cpus"] >= 1 and machine["platform"] and machine["python"]
    assert machine["opencv"] and machine["onnxruntime"] and report["edgefill"]
    assert report["backend"] == "onnxruntime" and report["model"] == "nano" and report["frames"] == 1
    assert report["flicker_frames"] == 40
