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


def test_ship_records_the_refill_settings_for_the_runtime(tmp_path):
    """Refinement settings go into the weights, the ONNX metadata and the sidecar; the runtime
    (ONNX Runtime backend, Inpainter) uses them unless the caller sets its own; 0 removes them
    again; bad ones are refused."""
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
    settings = edgefill.RefillSettings(thin_radius=5, wide_ns_weight=0.2, wide_ns_scale=2, wide_ns_max_std=40,
                                       thin_ns_weight=0.5)
    out = ship(src, models, name="nano-surface", refill=settings.to_dict())
    assert load_weights(models / "nano-surface.safetensors").config.refill == settings
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert [meta[f"edgefill.{k}"] for k in edgefill.RefillSettings.keys()] == ["5", "0.2", "2", "40", "0.5"]
    side = json.loads(out.with_suffix(".json").read_text())
    assert [side[k] for k in edgefill.RefillSettings.keys()] == [5.0, 0.2, 2, 40.0, 0.5]
    with edgefill.Inpainter(model=out, backend="onnxruntime") as inp:
        assert inp.backend.refill == settings and inp.refill == settings
        assert (inp.thin_radius, inp.wide_ns_weight, inp.wide_ns_scale, inp.wide_ns_max_std, inp.thin_ns_weight) == \
            (5.0, 0.2, 2, 40.0, 0.5)
    with edgefill.Inpainter(model=out, backend="onnxruntime", thin_radius=3, wide_ns_weight=0, thin_ns_weight=1) as inp:
        assert (inp.thin_radius, inp.wide_ns_weight, inp.wide_ns_scale, inp.thin_ns_weight) == (3.0, 0.0, 2, 1.0)  # the caller's wins
    out = ship(models / "nano-surface.safetensors", models, name="nano-surface",
               refill={"wide_ns_scale": 0, "wide_ns_max_std": 0, "thin_ns_weight": 0})
    assert load_weights(models / "nano-surface.safetensors").config.refill == edgefill.RefillSettings(5, 0.2)
    out = ship(models / "nano-surface.safetensors", models, name="nano-surface",
               refill={"thin_radius": 0, "wide_ns_weight": 0})
    assert load_weights(models / "nano-surface.safetensors").config.refill == edgefill.RefillSettings()
    assert not {"edgefill.thin_radius", "edgefill.wide_ns_weight"} & {p.key for p in onnx.load(str(out)).metadata_props}
    assert not {"thin_radius", "wide_ns_weight", "wide_ns_scale"} & set(json.loads(out.with_suffix(".json").read_text()))
    with pytest.raises(ValueError, match="thin_radius"):
        build_model("nano", refill=edgefill.RefillSettings(thin_radius=0.5))
    with pytest.raises(ValueError, match="unknown refinement setting 'radius'"):
        ship(src, models, name="x", refill={"radius": 3})
    for key, value in (("thin_radius", "wide"), ("wide_ns_scale", "2.5"), ("wide_ns_weight", "2")):
        save_weights(build_model("nano"), src, {key: value})
        with pytest.raises(CheckpointError, match=key):
            load_weights(src)
    for flag, bad in (("--thin-radius", "-1"), ("--thin-radius", "11"), ("--wide-ns-weight", "1.5"),
                      ("--wide-ns-scale", "17"), ("--wide-ns-scale", "-2"), ("--wide-ns-max-std", "129")):
        with pytest.raises(SystemExit) as e:
            ship_main(["w.safetensors", flag, bad])
        assert e.value.code == 2


def test_weights_that_fail_the_export_checks_leave_the_shipped_pair_untouched(tmp_path, capsys):
    """Diverged weights (NaN) are refused by the ONNX export; the shipped .safetensors must
    still be the one its .onnx was exported from, with no temporary file left behind."""
    import torch

    from edgefill_export.model import build_model
    from edgefill_export.onnx_export import ExportError
    from edgefill_export.ship import main as ship_main
    from edgefill_export.ship import ship
    from edgefill_export.weights import save_weights

    models = tmp_path / "models"
    models.mkdir()
    good = tmp_path / "good" / "nano.safetensors"
    good.parent.mkdir()
    torch.manual_seed(0)
    save_weights(build_model("nano"), good)
    ship(good, models)
    shipped = {p.name: p.read_bytes() for p in models.iterdir()}
    bad_model = build_model("nano")
    with torch.no_grad():
        next(bad_model.parameters()).fill_(float("nan"))
    bad = tmp_path / "bad" / "nano.safetensors"
    bad.parent.mkdir()
    save_weights(bad_model, bad)
    for kw in ({}, {"fill_passes": 2}):
        with pytest.raises(ExportError, match="NaN"):
            ship(bad, models, **kw)
        assert {p.name: p.read_bytes() for p in models.iterdir()} == shipped
    with pytest.raises(SystemExit):
        ship_main([str(tmp_path / "missing.safetensors")])
    assert "no such weights file" in capsys.readouterr().err
    pickle_file = tmp_path / "run.pt"  # refused before anything is written
    pickle_file.write_bytes(b"not safetensors")
    assert ship_main([str(pickle_file)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "only .safetensors" in err and "Traceback" not in err
