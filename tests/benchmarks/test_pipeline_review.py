"""benchmarks/pipeline.py: the per-frame inference time is reported beside the capture-to-sink
latency, which on a clip read ahead is mostly queue wait (and averages several frames' spread)."""

import json

from . import load_script


def test_inference_time_is_reported_apart_from_the_queue_wait(tmp_path, capsys):
    mod = load_script("pipeline")
    mod.flicker = lambda *args, **kwargs: 0.0  # 3 x 40 frames of 720p: not what is tested here
    out = tmp_path / "pipeline.json"
    assert mod.main(["--model", "nano", "--frames", "3", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    for sink in ("null_sink", "video_sink"):
        inference, latency = report[f"inference_{sink}"], report[f"latency_{sink}"]
        assert 0 < inference["p50_ms"] <= latency["p50_ms"]  # capture-to-sink includes the inference
    assert report["inference_p99_over_p50"] >= 1
    printed = capsys.readouterr().out
    assert "queue wait included" in printed and "inference p50" in printed
    assert "p99 of 3 frames is close to their maximum" in printed


def test_a_failed_run_is_one_line_and_closes_the_model(tmp_path, capsys, monkeypatch):
    """An OpenCV that cannot write the video (a board's own build) ended the benchmark in a
    traceback, after the model-only and null-sink runs, with the model's session left open."""
    import edgefill
    from edgefill.errors import InputError
    from edgefill.sinks import CallbackSink

    mod = load_script("pipeline")
    mod.flicker = lambda *args, **kwargs: 0.0
    made, real = [], edgefill.Inpainter

    def inpainter(**kw):
        made.append(real(**kw))
        return made[-1]

    def no_writer(path):
        def write(result):
            raise InputError(f"OpenCV cannot write {path}")
        return CallbackSink(write)

    monkeypatch.setattr(mod.edgefill, "Inpainter", inpainter)
    monkeypatch.setattr(mod, "VideoFileSink", no_writer)
    out = tmp_path / "pipeline.json"
    assert mod.main(["--model", "nano", "--frames", "2", "--json", str(out)]) == 1
    err = capsys.readouterr().err
    assert "OpenCV cannot write" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert made and made[0].backend._closed and not out.exists()
