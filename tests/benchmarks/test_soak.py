"""benchmarks/soak.py: the leak soak (run for 100000 frames by hand; 500 here)."""

import json

import pytest

from . import load_script


@pytest.mark.parametrize("args, message", [
    (["--frames", "10"], "--frames must be >= 500"),
    (["--backend", "nope"], "unknown backend 'nope'"),
    (["--json", "{file}/report.json"], "cannot write the JSON report"),
])
def test_bad_arguments_are_one_line_errors_before_the_run(tmp_path, capsys, args, message):
    (tmp_path / "file").write_text("not a folder")
    args = [arg.format(file=tmp_path / "file") for arg in args]
    assert load_script("soak").main(["--frames", "500", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_memory_is_sampled_while_the_pipeline_holds_its_frames(tmp_path, monkeypatch):
    """RSS was read only after the pipeline had been deleted and collected, so memory the
    pipeline held (here: a sink that keeps every frame) never showed."""
    soak = load_script("soak")
    kept = []
    inner = soak.Probe.__call__

    def hoard(self, result):
        kept.append(result.image.copy())  # 36 KB a frame: 16 MB over the measured 450 frames
        inner(self, result)

    monkeypatch.setattr(soak.Probe, "__call__", hoard)
    assert soak.main(["--frames", "500", "--json", str(tmp_path / "soak.json")]) == 0
    res = json.loads((tmp_path / "soak.json").read_text())
    assert len(res["samples"]) == 50 and res["frames_lost"] == 0 and res["callback_frames"] == 500
    assert res["rss_growth_pct"] > 10  # the hoard shows while the pipeline runs
    assert res["host"]["cpus_usable"] >= 1 and res["edgefill"]
