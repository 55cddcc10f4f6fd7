"""ship after a failure: the models installed before it stay loadable (the manifest is rewritten
whatever happens), an INT8 graph of earlier weights is not left under the new model's name, and
a stray .onnx in a --models-dir folder does not stop the manifest."""

import hashlib
import json
import shutil

import pytest

pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

import torch  # noqa: E402

from edgefill_export import ship as ship_mod  # noqa: E402
from edgefill_export.calibration import CalibrationError  # noqa: E402
from edgefill_export.model import build_model  # noqa: E402
from edgefill_export.weights import save_weights  # noqa: E402


def _weights(path, seed):
    path.parent.mkdir(parents=True)
    torch.manual_seed(seed)
    save_weights(build_model("nano"), path)
    return path


def _manifest_matches(models):
    """Whether every file the manifest lists has its recorded sha256 (what the runtime checks)."""
    manifest = json.loads((models / "manifest.json").read_text())
    return all(hashlib.sha256((models / n).read_bytes()).hexdigest() == sha for n, sha in manifest["files"].items())


def _fake_int8(models):
    """A stand-in for nano.int8.onnx quantised from the weights shipped now (a copy of the FP32 pair)."""
    shutil.copy(models / "nano.onnx", models / "nano.int8.onnx")
    side = json.loads((models / "nano.json").read_text())
    (models / "nano.int8.json").write_text(json.dumps({**side, "precision": "int8"}))
    ship_mod.write_manifest(models)


def _shipped_with_int8(tmp_path, monkeypatch):
    """A models folder (as ship's MODELS_DIR) holding nano, shipped from seed-0 weights, and an
    INT8 graph of those weights."""
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setattr(ship_mod, "MODELS_DIR", models)
    assert ship_mod.main([str(_weights(tmp_path / "a" / "nano.safetensors", 0))]) == 0
    _fake_int8(models)
    return models


def test_a_failed_int8_step_leaves_the_shipped_models_loadable(tmp_path, monkeypatch, capsys):
    models = _shipped_with_int8(tmp_path, monkeypatch)
    assert ship_mod.main([]) == 0  # a re-export of the same weights keeps their INT8 graph
    assert (models / "nano.int8.onnx").exists() and _manifest_matches(models)

    def no_calibration(*args, **kwargs):
        raise CalibrationError("no calibration images in /nowhere")

    monkeypatch.setattr(ship_mod, "ship_int8", no_calibration)
    capsys.readouterr()
    assert ship_mod.main([str(_weights(tmp_path / "b" / "nano.safetensors", 1)), "--int8"]) == 2
    err = capsys.readouterr().err
    assert "nano.int8 was not shipped: no calibration images" in err and "Traceback" not in err
    # the manifest was rewritten (the new nano failed its checksum) and the earlier weights' INT8 graph is gone
    assert _manifest_matches(models)
    assert not (models / "nano.int8.onnx").exists() and not (models / "nano.int8.json").exists()
    assert set(json.loads((models / "manifest.json").read_text())["models"]) == {"nano"}
    import edgefill
    with edgefill.Inpainter(model=models / "nano.onnx", backend="onnxruntime") as inp:
        assert inp.backend.name == "onnxruntime"


def test_new_weights_without_int8_remove_the_earlier_int8_graph(tmp_path, monkeypatch, capsys):
    models = _shipped_with_int8(tmp_path, monkeypatch)
    assert ship_mod.main([str(_weights(tmp_path / "b" / "nano.safetensors", 1))]) == 0
    assert "removed nano.int8.onnx" in capsys.readouterr().out
    assert sorted(p.name for p in models.iterdir()) == ["manifest.json", "nano.json", "nano.onnx", "nano.safetensors"]
    assert _manifest_matches(models)


def test_a_stray_onnx_in_the_models_folder_is_left_out_of_the_manifest(tmp_path, capsys):
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / "other.onnx").write_bytes(b"someone else's graph")
    assert ship_mod.main([str(_weights(tmp_path / "a" / "nano.safetensors", 0)), "--models-dir", str(dest)]) == 0
    assert "other.onnx is left out of the manifest" in capsys.readouterr().err
    assert set(json.loads((dest / "manifest.json").read_text())["models"]) == {"nano"}
    assert (dest / "other.onnx").read_bytes() == b"someone else's graph"
