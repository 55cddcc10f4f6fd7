import json
import shutil

import pytest

from edgefill.errors import ModelError
from edgefill.models import MODELS_DIR, check_multiple, file_sha256, read_manifest, resolve_model, shipped_models


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


# --- edgefill.multiple ---

@pytest.mark.parametrize("value,ok", [(64, 64), ("64", 64), (1, 1), (0, None), (-64, None), ("64.0", None),
                                      (64.0, None), (True, None), (None, None), ([64], None)])
def test_check_multiple(value, ok):
    if ok is None:
        with pytest.raises(ModelError, match="src: invalid edgefill.multiple"):
            check_multiple(value, "src")
    else:
        assert check_multiple(value, "src") == ok


@pytest.mark.parametrize("value", ["0", "-64", "64.0"])
def test_onnxruntime_backend_refuses_an_invalid_multiple(tmp_path, value):
    """The reviewer's case: "0" divided by zero later, "-64" was accepted, "64.0" was "missing"."""
    onnx = pytest.importorskip("onnx")
    import edgefill

    if not edgefill.backends.backend_class("onnxruntime").is_available():
        pytest.skip("onnxruntime is not installed")
    model = onnx.load(str(MODELS_DIR / "nano.onnx"))
    for prop in model.metadata_props:
        if prop.key == "edgefill.multiple":
            prop.value = value
    onnx.save(model, str(tmp_path / "m.onnx"))
    with pytest.raises(ModelError, match="invalid edgefill.multiple"):
        edgefill.Inpainter(model=tmp_path / "m.onnx", backend="onnxruntime", threads=1)


# --- bundle.json ---

def _bundle(tmp_path, **changes):
    shutil.copy(MODELS_DIR / "nano.onnx", tmp_path / "model.fp32.onnx")
    bundle = {"format": "edgefill-bundle/1", "model": "nano", "precision": "fp32", "multiple": 64,
              "artifacts": {"fp32": {"file": "model.fp32.onnx", "sha256": file_sha256(tmp_path / "model.fp32.onnx")}}}
    bundle.update(changes)
    (tmp_path / "bundle.json").write_text(json.dumps(bundle))
    return tmp_path


def test_good_bundle_resolves(tmp_path):
    folder = _bundle(tmp_path)
    for spec in (folder, folder / "model.fp32.onnx"):
        mf = resolve_model(spec)
        assert mf.path.name == "model.fp32.onnx" and mf.precision == "fp32" and mf.sidecar["multiple"] == 64


@pytest.mark.parametrize("changes,says", [
    ({"artifacts": {"fp32": {"file": "model.fp32.onnx"}}}, r"artifacts\.fp32 lacks its 'sha256'"),
    ({"artifacts": {"fp32": {"sha256": "0" * 64}}}, r"artifacts\.fp32 lacks its 'file'"),
    ({"artifacts": {"fp32": {"file": "model.fp32.onnx", "sha256": None}}}, r"artifacts\.fp32 lacks its 'sha256'"),
    ({"artifacts": {"fp32": {"file": 5, "sha256": "0" * 64}}}, r"artifacts\.fp32 lacks its 'file'"),
    ({"artifacts": ["model.fp32.onnx"]}, "'artifacts' must be an object.*not list"),
    ({"artifacts": {"fp32": "model.fp32.onnx"}}, r"artifacts\.fp32 must be an object .*not str"),
    ({"artifacts": {"fp32": {"file": "../../etc/passwd", "sha256": "0" * 64}}}, r"artifacts\.fp32\.file .* must name a file inside"),
    ({"artifacts": {"fp32": {"file": "/etc/passwd", "sha256": "0" * 64}}}, r"artifacts\.fp32\.file .* must name a file inside"),
    ({"precision": ["fp32"]}, "'precision' must be a string"),
    ({"multiple": 0}, "invalid 'multiple' 0"),
    ({"multiple": "64"}, None),  # a string in JSON is accepted as the metadata's is
    ({"multiple": 64.5}, "invalid 'multiple' 64.5"),
])
def test_malformed_bundle_json_is_a_model_error_naming_file_and_field(tmp_path, changes, says):
    folder = _bundle(tmp_path, **changes)
    for spec in (folder, folder / "model.fp32.onnx"):
        if says is None:
            resolve_model(spec)
            continue
        with pytest.raises(ModelError, match=f"bundle.json: {says}"):
            resolve_model(spec)


def test_sidecar_sha256_must_be_a_string(tmp_path):
    shutil.copy(MODELS_DIR / "nano.onnx", tmp_path / "m.onnx")
    (tmp_path / "m.json").write_text(json.dumps({"sha256": None}))
    with pytest.raises(ModelError, match="'sha256' must be a string"):
        resolve_model(tmp_path / "m.onnx")


def test_a_sidecar_that_is_not_utf8_is_a_model_error(tmp_path):
    """It raised UnicodeDecodeError."""
    shutil.copy(MODELS_DIR / "nano.onnx", tmp_path / "m.onnx")
    (tmp_path / "m.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(ModelError, match="m.json is unreadable"):
        resolve_model(tmp_path / "m.onnx")


def test_a_folder_without_bundle_json_says_so(tmp_path):
    """It said "model file ... does not exist" of a folder that does."""
    with pytest.raises(ModelError, match="is a folder without a bundle.json"):
        resolve_model(tmp_path)


def _package_copy(tmp_path, monkeypatch, name="nano"):
    from edgefill import models

    shutil.copy(MODELS_DIR / f"{name}.onnx", tmp_path / f"{name}.onnx")
    manifest = read_manifest()
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    monkeypatch.setattr(models, "MANIFEST", tmp_path / "manifest.json")
    return manifest


def test_a_truncated_shipped_model_is_refused_against_the_manifest(tmp_path, monkeypatch):
    manifest = _package_copy(tmp_path, monkeypatch)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    data = (tmp_path / "nano.onnx").read_bytes()
    (tmp_path / "nano.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="does not match its sha256 in the package manifest"):
        resolve_model("nano")


@pytest.mark.parametrize("damage", [lambda m: m["files"].pop("nano.onnx"), lambda m: m["models"]["nano"].pop("onnx"),
                                    lambda m: m.pop("files"), lambda m: m["models"].update(nano="nano.onnx")])
def test_a_damaged_manifest_entry_is_a_model_error(tmp_path, monkeypatch, damage):
    """A shipped name whose manifest entry lacks its file or sha256 raised KeyError / TypeError."""
    manifest = _package_copy(tmp_path, monkeypatch)
    damage(manifest)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="reinstall"):
        resolve_model("nano")


def test_a_bundles_tensorrt_graph_resolves_by_its_path(tmp_path):
    """model.trt.int8.onnx, listed under bundle.json's tensorrt.artifacts, was "not listed"; it
    resolves, checked against its sha256 there, and a tampered one is refused."""
    import hashlib

    (tmp_path / "model.fp32.onnx").write_bytes(b"fp32 graph")
    (tmp_path / "model.trt.int8.onnx").write_bytes(b"trt int8 graph")
    sha = {n: hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ("model.fp32.onnx", "model.trt.int8.onnx")}
    (tmp_path / "bundle.json").write_text(json.dumps({
        "format": "edgefill-bundle/1", "model": "nano", "precision": "fp32",
        "artifacts": {"fp32": {"file": "model.fp32.onnx", "sha256": sha["model.fp32.onnx"]}},
        "tensorrt": {"artifacts": {"int8": {"file": "model.trt.int8.onnx", "sha256": sha["model.trt.int8.onnx"]}}}}))
    m = resolve_model(tmp_path / "model.trt.int8.onnx")
    assert m.path.name == "model.trt.int8.onnx" and m.precision == "int8"
    (tmp_path / "model.trt.int8.onnx").write_bytes(b"tampered")
    with pytest.raises(ModelError, match="sha256"):
        resolve_model(tmp_path / "model.trt.int8.onnx")
    (tmp_path / "other.onnx").write_bytes(b"x")
    with pytest.raises(ModelError, match="not listed"):
        resolve_model(tmp_path / "other.onnx")


def test_an_artifact_that_failed_its_gate_warns_when_it_loads(tmp_path, caplog):
    """Kept by --allow-accuracy-loss, it loaded without a word; only bundle.json said it failed."""
    import hashlib

    (tmp_path / "model.int8.onnx").write_bytes(b"int8 graph")
    sha = hashlib.sha256(b"int8 graph").hexdigest()
    (tmp_path / "bundle.json").write_text(json.dumps({
        "format": "edgefill-bundle/1", "model": "nano", "precision": "int8",
        "artifacts": {"int8": {"file": "model.int8.onnx", "sha256": sha,
                               "validation": {"delta_db": 0.9, "gate_db": 0.3, "passed": False}}}}))
    resolve_model(tmp_path)
    assert "failed its accuracy gate" in caplog.text and "0.9 dB below FP32" in caplog.text
