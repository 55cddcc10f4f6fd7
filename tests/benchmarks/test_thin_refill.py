"""benchmarks/thin_refill.py: the cost of the default refinements (thin-hole refill, wide NS mix), smoke-run small."""

import json

from . import load_script

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
