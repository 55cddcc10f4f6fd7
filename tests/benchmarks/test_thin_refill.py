"""benchmarks/thin_refill.py: the cost of the default refinements (thin-hole refill, wide NS mix), smoke-run small."""

import json

import pytest

from . import load_script, refused


def test_reports_both_paths_per_mask(tmp_path, capsys):
    out = tmp_path / "t.json"
    assert load_script("thin_refill").main(["--model", "nano", "--size", "128", "--reps", "1", "--families", "scratches,objects",
                         "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["family"] for r in rows] == ["scratches"] * 2 + ["objects"] * 2
    assert all(r["off_ms"] > 0 and r["on_ms"] > 0 and r["refill_ms"] > 0 and r["wide_mix_ms"] > 0 for r in rows)
    scratches = rows[1]
    assert 0.5 * scratches["hole_ratio"] < scratches["thin_ratio"] <= scratches["hole_ratio"]  # mostly thin
    assert "ratio" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--reps", "0"], "--reps must be >= 1"),  # was a table of NaN and NaN in the JSON
    (["--size", "0"], "--size >= 16"),
    (["--families", "objects,no-such"], "unknown mask family 'no-such'"),
    (["--model", "no-such-model"], "unknown model 'no-such-model'"),
    (["--thin-radius", "-1"], "thin_radius must be from 1 to 10"),
    (["--json", "{file}/t.json"], "cannot write the JSON report"),
])
def test_bad_arguments_are_one_line_errors_before_the_run(tmp_path, capsys, args, message):
    out, err = refused("thin_refill", ["--model", "nano", "--size", "64", "--reps", "1", "--families", "objects", *args],
                       tmp_path, capsys)
    assert message in err and "Traceback" not in err
    assert "objects" not in out  # no row measured


def test_json_records_the_host_and_settings(tmp_path):
    out = tmp_path / "t.json"
    assert load_script("thin_refill").main(["--model", "nano", "--size", "64", "--reps", "1", "--families", "objects",
                                            "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["host"]["platform"] and report["host"]["cpus"] >= 1 and report["host"]["onnxruntime"]
    assert report["edgefill"] and report["thin_ns_weight"] > 0 and report["config"]["reps"] == "1"
