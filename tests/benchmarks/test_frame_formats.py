"""benchmarks/frame_formats.py: one frame in four formats through Inpainter.inpaint, smoke-run small."""

import json

import numpy as np
import pytest


from . import load_script, refused
from ..conftest import LEARNED


@LEARNED
def test_every_format_is_timed_against_bgr8(tmp_path, capsys):
    out = tmp_path / "f.json"
    assert load_script("frame_formats").main(["--model", "nano", "--width", "320", "--height", "256", "--runs", "2",
                                              "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    rows = {r["format"]: r for r in report["rows"]}
    assert list(rows) == ["bgr8", "grey8", "grey16", "bgr16"] and rows["bgr8"]["ratio_to_bgr8"] == 1.0
    for r in rows.values():
        assert r["total_ms"] >= r["infer_ms"] > 0 and r["pre_ms"] >= 0 and r["post_ms"] >= 0
    assert "total / bgr8" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--width", "100"], "--width/--height must be >= 256"),
    (["--hole", "0.9"], "0 < --hole < 0.6"),
    (["--model", "no-such-model"], "no-such-model"),
    (["--json", "{file}/f.json"], "cannot write the JSON report"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, capsys, args, message):
    out, err = refused("frame_formats", ["--model", "nano", "--runs", "1", *args], tmp_path, capsys)
    assert message in err and "Traceback" not in err


def test_the_formats_are_one_scene():
    mod = load_script("frame_formats")
    bgr = np.random.default_rng(0).integers(0, 256, (8, 8, 3)).astype(np.uint8)
    f = mod.formats(bgr)
    assert [k for k in f] == ["bgr8", "grey8", "grey16", "bgr16"]
    assert f["grey16"].dtype == np.uint16 and f["bgr16"].max() <= 4095
    assert np.array_equal(np.rint(f["bgr16"].astype(int) * 255 / 4095), bgr)  # the 12-bit copy holds the 8-bit scene
