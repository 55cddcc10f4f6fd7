"""ship --models-dir: trained weights installed into another folder, to compare them with the
shipped models (edgefill bench quality --models lite,DIR/NAME.onnx) before shipping them."""

import json

import pytest

pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export import ship as ship_mod  # noqa: E402
from edgefill_export.model import build_model  # noqa: E402
from edgefill_export.weights import save_weights  # noqa: E402


def test_ships_into_another_folder_and_leaves_the_shipped_models_alone(tmp_path, capsys):
    src = tmp_path / "run" / "nano.safetensors"
    src.parent.mkdir()
    save_weights(build_model("nano"), src, {"steps": 3})
    shipped = {p.name: p.stat().st_mtime_ns for p in ship_mod.MODELS_DIR.iterdir()}
    dest = tmp_path / "ab" / "models"
    assert ship_mod.main([str(src), "--name", "nano-try", "--models-dir", str(dest)]) == 0
    assert sorted(p.name for p in dest.iterdir()) == ["manifest.json", "nano-try.json", "nano-try.onnx",
                                                      "nano-try.safetensors"]
    assert set(json.loads((dest / "manifest.json").read_text())["models"]) == {"nano-try"}
    assert {p.name: p.stat().st_mtime_ns for p in ship_mod.MODELS_DIR.iterdir()} == shipped
    import edgefill
    with edgefill.Inpainter(model=dest / "nano-try.onnx", backend="onnxruntime") as inp:
        assert inp.backend.name == "onnxruntime"
    assert str(dest / "nano-try.onnx") in capsys.readouterr().out


def test_models_dir_refuses_int8_no_weights_and_a_file(tmp_path, capsys):
    (tmp_path / "w.safetensors").write_bytes(b"")
    for args, says in ((["--int8"], "--int8 ships into edgefill/models only"),
                       ([], "needs the weights files")):
        with pytest.raises(SystemExit) as e:
            ship_mod.main(([str(tmp_path / "w.safetensors")] if args else []) + args + ["--models-dir", str(tmp_path / "d")])
        assert e.value.code == 2 and says in capsys.readouterr().err
    (tmp_path / "f").write_text("x")
    with pytest.raises(SystemExit):
        ship_mod.main([str(tmp_path / "w.safetensors"), "--models-dir", str(tmp_path / "f")])
    assert "is not a folder" in capsys.readouterr().err


def test_a_file_in_the_models_folder_is_reshipped_under_its_own_name(tmp_path):
    """Regression: ``ship edgefill/models/lite-surface.safetensors --wide-ns-weight 0.4`` shipped
    the weights as ``lite`` (their architecture's name), replacing the shipped lite."""
    dest = tmp_path / "models"
    dest.mkdir()
    save_weights(build_model("nano"), dest / "nano-surface.safetensors", {"steps": 3})
    assert ship_mod.main([str(dest / "nano-surface.safetensors"), "--models-dir", str(dest)]) == 0
    assert sorted(p.name for p in dest.iterdir()) == ["manifest.json", "nano-surface.json", "nano-surface.onnx",
                                                      "nano-surface.safetensors"]
    src = tmp_path / "run" / "nano-surface.safetensors"  # elsewhere: the architecture's name, as before
    src.parent.mkdir()
    save_weights(build_model("nano"), src, {"steps": 3})
    assert ship_mod.main([str(src), "--models-dir", str(dest)]) == 0
    assert (dest / "nano.onnx").is_file()


def test_reshipping_with_no_weights_anywhere_is_an_error(tmp_path, monkeypatch, capsys):
    """After a plain `pip install .` the folder looked in was the source tree's (absent): `ship`
    with no weights wrote an empty manifest and said nothing was wrong (exit 0)."""
    import edgefill.models

    assert ship_mod.MODELS_DIR == edgefill.models.MODELS_DIR  # the package's folder, wherever it is installed
    empty = tmp_path / "models"
    empty.mkdir()
    monkeypatch.setattr(ship_mod, "MODELS_DIR", empty)
    assert ship_mod.main([]) == 2
    assert "no weights given and no *.safetensors in" in capsys.readouterr().err
    assert not (empty / "manifest.json").exists()  # nothing attempted: no (empty) manifest written either
