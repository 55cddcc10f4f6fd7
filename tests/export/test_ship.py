"""The ship command: its argument checks and the fill smoothing it can set (shipping itself is
covered by the shipped-model tests)."""

import json

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


def test_ship_sets_the_fill_smoothing_and_keeps_the_weights(tmp_path):
    import torch
    from safetensors import safe_open

    from edgefill_export.model import build_model
    from edgefill_export.ship import ship
    from edgefill_export.weights import save_weights

    torch.manual_seed(0)
    src = tmp_path / "run" / "nano.safetensors"
    src.parent.mkdir()
    save_weights(build_model("nano"), src, {"steps": 7})
    models = tmp_path / "models"
    models.mkdir()
    out = ship(src, models, fill_passes=3)
    assert json.loads(out.with_suffix(".json").read_text())["fill_passes"] == 3
    with safe_open(str(src), "pt") as a, safe_open(str(models / "nano.safetensors"), "pt") as b:
        assert b.metadata()["fill_passes"] == "3" and b.metadata()["steps"] == "7"
        assert all(torch.equal(a.get_tensor(k), b.get_tensor(k)) for k in a.keys())
    assert json.loads(ship(models / "nano.safetensors", models).with_suffix(".json").read_text())["fill_passes"] == 3


def test_ship_refuses_fill_passes_out_of_range(capsys):
    from edgefill_export.ship import main as ship_main

    with pytest.raises(SystemExit) as e:
        ship_main(["w.safetensors", "--fill-passes", "-1"])
    assert e.value.code == 2 and "--fill-passes" in capsys.readouterr().err


def test_ship_records_the_thin_radius_for_the_runtime(tmp_path):
    """--thin-radius goes into the weights, the ONNX metadata and the sidecar; the runtime
    (ONNX Runtime backend, Inpainter) uses it; 0 removes it again; a bad one is refused."""
    import onnx

    import edgefill
    from edgefill_export.model import build_model
    from edgefill_export.ship import main as ship_main
    from edgefill_export.ship import ship
    from edgefill_export.weights import CheckpointError, load_weights, save_weights

    src = tmp_path / "nano.safetensors"
    save_weights(build_model("nano"), src)
    models = tmp_path / "models"
    models.mkdir()
    out = ship(src, models, name="nano-surface", thin_radius=5)
    assert load_weights(models / "nano-surface.safetensors").config.thin_radius == 5.0
    assert {p.key: p.value for p in onnx.load(str(out)).metadata_props}["edgefill.thin_radius"] == "5"
    assert json.loads(out.with_suffix(".json").read_text())["thin_radius"] == 5.0
    with edgefill.Inpainter(model=out, backend="onnxruntime") as inp:
        assert inp.backend.thin_radius == 5.0 and inp.thin_radius == 5.0
    with edgefill.Inpainter(model=out, backend="onnxruntime", thin_radius=3) as inp:
        assert inp.thin_radius == 3.0  # the caller's choice wins
    out = ship(models / "nano-surface.safetensors", models, name="nano-surface", thin_radius=0)
    assert load_weights(models / "nano-surface.safetensors").config.thin_radius is None
    assert "edgefill.thin_radius" not in {p.key for p in onnx.load(str(out)).metadata_props}
    assert "thin_radius" not in json.loads(out.with_suffix(".json").read_text())
    with pytest.raises(ValueError, match="thin_radius"):
        build_model("nano", thin_radius=0.5)
    save_weights(build_model("nano"), src, {"thin_radius": "wide"})
    with pytest.raises(CheckpointError, match="thin_radius"):
        load_weights(src)
    for bad in ("-1", "11"):
        with pytest.raises(SystemExit) as e:
            ship_main(["w.safetensors", "--thin-radius", bad])
        assert e.value.code == 2
