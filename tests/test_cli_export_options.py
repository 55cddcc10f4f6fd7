"""`edgefill export`: --calib-images is refused for a precision that is not calibrated (it was
ignored without a word), and --val-images reaches the export request."""

from __future__ import annotations

import pytest

from edgefill.cli import main

from .fakes import fake_export_toolchain


@pytest.mark.parametrize("precision", ["fp16", "fp32"])
def test_calib_images_for_a_precision_that_is_not_calibrated_is_refused(tmp_path, capsys, precision):
    out = tmp_path / "b"
    assert main(["export", "--model", "nano", "--precision", precision, "--calib-images", "8", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--calib-images is for --precision int8 only; {precision} is not calibrated" in err
    assert not out.exists()


def test_val_images_and_calib_images_reach_the_request(tmp_path, monkeypatch):
    seen = {}

    def export_bundle(req, **kwargs):
        seen.update(val=req.val_images, calib=req.calib_images)
        raise ValueError("stop here")

    fake_export_toolchain(monkeypatch, export_bundle)
    assert main(["export", "--model", "nano", "--precision", "int8", "--val-images", "5", "--calib-images", "7",
                 "-o", str(tmp_path / "b")]) == 2
    assert seen == {"val": 5, "calib": 7}
    assert main(["export", "--model", "nano", "--precision", "int8", "-o", str(tmp_path / "b")]) == 2
    assert seen == {"val": 64, "calib": 32}
