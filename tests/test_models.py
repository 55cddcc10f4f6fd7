import json
import shutil

import pytest

from edgefill.errors import ModelError
from edgefill.models import MODELS_DIR, file_sha256, read_manifest, resolve_model, shipped_models


def test_default_models_are_shipped():
    assert {"lite", "nano"} <= set(shipped_models())


def test_manifest_matches_files():
    man = read_manifest()
    for name, sha in man["files"].items():
        assert file_sha256(MODELS_DIR / name) == sha, name


@pytest.mark.parametrize("name", ["lite", "nano"])
def test_sidecars_describe_models(name):
    side = json.loads((MODELS_DIR / f"{name}.json").read_text())
    assert side["model"] == name and side["opset"] == 17 and side["multiple"] == 64
    assert side["sha256"] == file_sha256(MODELS_DIR / f"{name}.onnx")
    assert side["parity"]["max_abs_diff_uint8"] <= 2


@pytest.mark.parametrize("name", shipped_models())
def test_sidecar_and_graph_agree_on_the_refill_settings(name):
    """The refinement settings the runtime reads from the graph are the ones the sidecar
    documents (lite-surface records its wide NS mix; the photo models record none)."""
    import edgefill

    side = json.loads((MODELS_DIR / f"{name}.json").read_text())
    with edgefill.create_backend("onnxruntime", model=name) as backend:
        assert backend.refill == edgefill.RefillSettings.parse(side)


def test_user_model_with_tampered_sidecar_refused(tmp_path):
    shutil.copy(MODELS_DIR / "nano.onnx", tmp_path / "m.onnx")
    side = json.loads((MODELS_DIR / "nano.json").read_text())
    side["sha256"] = "0" * 64
    (tmp_path / "m.json").write_text(json.dumps(side))
    with pytest.raises(ModelError, match="does not match"):
        resolve_model(tmp_path / "m.onnx")


def test_user_model_with_good_sidecar(tmp_path):
    shutil.copy(MODELS_DIR / "nano.onnx", tmp_path / "m.onnx")
    shutil.copy(MODELS_DIR / "nano.json", tmp_path / "m.json")
    mf = resolve_model(tmp_path / "m.onnx")
    assert mf.name == "nano"


def test_missing_and_unknown():
    with pytest.raises(ModelError, match="unknown model"):
        resolve_model("huge")
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model("/nonexistent/x.onnx")


def test_every_shipped_int8_graph_sits_beside_its_fp32_model_and_passed_its_gate():
    int8 = sorted(p for p in MODELS_DIR.glob("*.int8.onnx"))
    assert {"lite.int8.onnx", "nano.int8.onnx"} <= {p.name for p in int8}
    for path in int8:
        side = json.loads(path.with_suffix(".json").read_text())
        fp32 = json.loads((MODELS_DIR / path.name.replace(".int8", "")).with_suffix(".json").read_text())
        assert side["precision"] == "int8" and side["sha256"] == file_sha256(path), path.name
        assert side["validation"]["passed"] and side["validation"]["delta_db"] <= side["validation"]["gate_db"], path.name
        assert (side["model"], side["channels"]) == (fp32["model"], fp32["channels"]), path.name
