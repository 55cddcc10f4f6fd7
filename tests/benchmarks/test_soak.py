"""benchmarks/soak.py: the leak soak (run for 100000 frames by hand; 500 here)."""

import json

import pytest

from . import load_script, refused


@pytest.mark.parametrize("args, message", [
    (["--frames", "10"], "--frames must be >= 500"),
    (["--backend", "nope"], "unknown backend 'nope'"),
    (["--json", "{file}/report.json"], "cannot write the JSON report"),
])
def test_bad_arguments_are_one_line_errors_before_the_run(tmp_path, capsys, args, message):
    _, err = refused("soak", ["--frames", "500", *args], tmp_path, capsys)
    assert message in err and "Traceback" not in err


def test_memory_is_sampled_while_the_pipeline_holds_its_frames(tmp_path, monkeypatch):
    """RSS was read only after the pipeline had been deleted and collected, so memory the
    pipeline held never showed. Here the process's RSS is a stand-in that counts the frames a
    sink of the measured pipeline holds, 1 MB each, freed with the pipeline (the real RSS of a
    test process full of other tests' freed memory would not show a few MB)."""
    import weakref

    soak = load_script("soak")
    held = []
    monkeypatch.setattr(soak, "rss_mb", lambda: 100.0 + len(held))
    inner_run, inner_call = soak.run, soak.Probe.__call__

    def run(n, backend):
        pipe, probe = inner_run(n, backend)
        weakref.finalize(pipe, held.clear)  # what the pipeline holds goes with it
        return pipe, probe

    def hoard(self, result):
        held.append(result.index)
        inner_call(self, result)

    monkeypatch.setattr(soak, "run", run)
    monkeypatch.setattr(soak.Probe, "__call__", hoard)
    assert soak.main(["--frames", "500", "--json", str(tmp_path / "soak.json")]) == 0
    res = json.loads((tmp_path / "soak.json").read_text())
    assert len(res["samples"]) == 50 and res["frames_lost"] == 0 and res["callback_frames"] == 500
    assert res["rss_mb_after"] == 100.0  # after the pipeline: nothing to see
    assert res["rss_mb_during"]["last"] - res["rss_mb_during"]["first"] == 450  # frames 50 .. 500
    assert res["rss_growth_pct"] > 100
    assert res["host"]["cpus_usable"] >= 1 and res["edgefill"]
