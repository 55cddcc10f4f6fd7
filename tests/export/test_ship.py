"""The ship command's own argument checks (shipping itself is covered by the shipped-model tests)."""

import pytest

pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")


def test_ship_refuses_calibration_folders_without_int8(tmp_path, capsys):
    from edgefill_export.ship import main as ship_main

    with pytest.raises(SystemExit) as e:
        ship_main(["w.safetensors", "--calib", str(tmp_path)])
    assert e.value.code == 2 and "only apply with --int8" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ship_main(["w.safetensors", "--int8", "--calib", str(tmp_path / "missing")])
    assert "is not a folder" in capsys.readouterr().err
