"""`python -m edgefill_export.ship --int8` prints the INT8 graph's change against FP32 with its
sign: the sidecar's ``delta_db`` is FP32 minus INT8 (a loss), and a loss of 0.020 dB was printed
"+0.020 dB vs fp32", as if INT8 were better."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")


@pytest.mark.parametrize("delta, shown", [(0.02, "-0.020 dB vs fp32"), (-0.007, "+0.007 dB vs fp32")])
def test_the_int8_change_is_printed_with_its_sign(tmp_path, monkeypatch, capsys, delta, shown):
    from edgefill_export import ship as ship_mod

    weights = tmp_path / "lite.safetensors"
    weights.write_bytes(b"")
    fp32 = tmp_path / "lite.onnx"
    int8 = tmp_path / "lite.int8.onnx"
    fp32.with_suffix(".json").write_text(json.dumps({"parameters": 1, "parity": {"max_abs_diff_uint8": 0}}))
    int8.with_suffix(".json").write_text(json.dumps(
        {"validation": {"hole_psnr_db": 20.0, "delta_db": delta, "gate_db": 0.3}}))
    monkeypatch.setattr(ship_mod, "ship", lambda *a, **k: fp32)
    monkeypatch.setattr(ship_mod, "ship_int8", lambda *a, **k: int8)
    monkeypatch.setattr(ship_mod, "write_manifest", lambda *a, **k: "manifest")
    assert ship_mod.main([str(weights), "--int8"]) == 0
    assert shown in capsys.readouterr().out
