"""`edgefill export` says when INT8 was calibrated on fewer images than --calib-images asked for
(a --calib folder with few photos): calibration went ahead silently on what was there. The export
toolchain is faked, as in tests/test_cli_docs_walk.py: no torch needed."""

from __future__ import annotations

import json

import pytest

from edgefill.cli import main

from .fakes import fake_export_toolchain


def _fake_export(monkeypatch, out, images):
    def export_bundle(req):
        out.mkdir()
        val = {"hole_psnr_db": 18.2, "reference_hole_psnr_db": 18.2, "delta_db": 0.0}
        bundle = {"format": "edgefill-bundle/1", "model": "nano", "precision": "int8",
                  "artifacts": {"int8": {"file": "model.int8.onnx", "sha256": "1" * 64, "validation": val}},
                  "calibration": {"file": "calibration.json", "sha256": "2" * 64}}
        (out / "bundle.json").write_text(json.dumps(bundle))
        (out / "calibration.json").write_text(json.dumps({"images": images, "pairs": images}))
        return out

    fake_export_toolchain(monkeypatch, export_bundle)


@pytest.mark.parametrize("images,noted", [(3, True), (32, False)])
def test_few_calibration_images_are_said(tmp_path, capsys, monkeypatch, images, noted):
    out = tmp_path / "bundle"
    _fake_export(monkeypatch, out, images)
    assert main(["export", "--model", "nano", "--precision", "int8", "--calib-images", "32", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert ("INT8 was calibrated on 3 images, fewer than --calib-images 32" in text) is noted, text
