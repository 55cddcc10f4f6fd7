"""Review of how a backend and a model are chosen and reported: TensorRT takes only bundles with a
TensorRT part and never a folder named like a shipped model, a model's sidecar or weights given
as the model are named as such, one-channel graphs are refused, `doctor` and `backends` agree
with `doctor`'s own import check, and messages name what is missing."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from edgefill.backends import Availability
from edgefill.backends.onnxruntime import OnnxRuntimeBackend
from edgefill.backends.tensorrt import TensorRTBackend, verify_engine_file
from edgefill.cli import main
from edgefill.errors import ModelError
from edgefill.models import MODELS_DIR, resolve_model

ORT = pytest.mark.skipif(not OnnxRuntimeBackend.is_available(), reason="onnxruntime not installed")


def _bundle(folder, tensorrt):
    folder.mkdir()
    (folder / "bundle.json").write_text(json.dumps({"precision": "fp32", "tensorrt": tensorrt}))
    return folder


def test_tensorrt_takes_only_a_bundle_with_a_tensorrt_part(tmp_path):
    """A bundle exported without a profile (or for x86-cpu, rpi5) was taken, and `auto` stopped with
    "was exported without a TensorRT profile" on every machine with TensorRT, not falling back to
    ONNX Runtime, which runs it."""
    cpu = TensorRTBackend.accepts_model(_bundle(tmp_path / "cpu", None))
    assert not cpu and "exported without a TensorRT profile" in cpu.reason and "ONNX Runtime runs it" in cpu.reason
    assert TensorRTBackend.accepts_model(_bundle(tmp_path / "orin", {"onnx": "model.trt.onnx"}))
    assert TensorRTBackend.accepts_model(tmp_path / "x.engine")


def test_a_shipped_name_is_never_a_folder_of_that_name_to_tensorrt(tmp_path, monkeypatch):
    """With an exported bundle in ./lite, TensorRT took `lite` (also the CLI's default) as that
    folder, while ONNX Runtime, after a failed build, ran the shipped lite: two models, one name."""
    monkeypatch.chdir(tmp_path)
    _bundle(tmp_path / "lite", {"onnx": "model.trt.onnx"})
    assert not TensorRTBackend.accepts_model("lite")
    assert resolve_model("lite").path.parent == MODELS_DIR
    assert TensorRTBackend.accepts_model("./lite")  # a path is the folder


@pytest.mark.parametrize("suffix, says", [(".json", "the JSON sidecar of a model"), (".safetensors", "PyTorch weights")])
def test_a_sidecar_or_weights_given_as_the_model_are_named(tmp_path, suffix, says):
    """nano.json was read as its own sidecar and called "corrupt or was modified"."""
    path = tmp_path / f"nano{suffix}"
    shutil.copy(MODELS_DIR / f"nano{suffix}", path)
    with pytest.raises(ModelError, match=f"is {says}.*give the .onnx file beside it \\(nano.onnx\\)"):
        resolve_model(path)


def test_a_sha256_in_capitals_is_the_same_digest(tmp_path):
    for name in ("nano.onnx", "nano.json"):
        shutil.copy(MODELS_DIR / name, tmp_path / name)
    side = json.loads((tmp_path / "nano.json").read_text())
    side["sha256"] = side["sha256"].upper()
    (tmp_path / "nano.json").write_text(json.dumps(side))
    assert resolve_model(tmp_path / "nano.onnx").sha256 == side["sha256"].lower()


def test_a_missing_engine_is_said_to_be_missing(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        verify_engine_file(tmp_path / "no.engine")


@ORT
@pytest.mark.parametrize("out_channels", [1, 4])
def test_a_graph_without_three_output_channels_is_refused(tmp_path, out_channels):
    """The inputs' and the output's rank were checked, not their channels: a one-channel output
    came back HxWx1 and the hole was filled with the broadcast mask."""
    onnx = pytest.importorskip("onnx", reason="onnx builds the foreign graph (edgefill[export])")
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Concat", ["image", "mask"], ["all"], axis=3),
             helper.make_node("Slice", ["all", "s", "e", "a"], ["out"])]
    inits = [helper.make_tensor(n, TensorProto.INT64, [1], [v]) for n, v in (("s", 0), ("e", out_channels), ("a", 3))]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("image", TensorProto.UINT8, [1, "h", "w", 3]),
                                       helper.make_tensor_value_info("mask", TensorProto.UINT8, [1, "h", "w", 1])],
                          [helper.make_tensor_value_info("out", TensorProto.UINT8, [1, "h", "w", out_channels])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    m.metadata_props.add(key="edgefill.multiple", value="64")
    onnx.save(m, str(tmp_path / "g.onnx"))
    with pytest.raises(ModelError, match=f"output 'out' has {out_channels} channels.*expected 3"):
        OnnxRuntimeBackend(model=str(tmp_path / "g.onnx"))


def test_doctor_does_not_call_a_backend_that_does_not_import_available(monkeypatch, capsys):
    """`doctor` printed "problem: onnxruntime ... does not import" and, two lines on, "onnxruntime
    available"."""
    import edgefill.cli as cli

    monkeypatch.setattr(cli, "_broken_imports", lambda: [("onnxruntime", "onnxruntime is installed but does not "
                                                                          "import (libonnxruntime.so.1)")])
    monkeypatch.setattr(OnnxRuntimeBackend, "is_available", classmethod(lambda cls: Availability(True)))
    main(["doctor"])
    out = capsys.readouterr().out
    assert "problem: onnxruntime is installed but does not import" in out
    assert "onnxruntime    unavailable: installed but does not import" in out


def test_the_export_toolchain_is_not_installed_without_onnxruntime(monkeypatch):
    """doctor said "export toolchain: installed", and `edgefill export` crashed in its parity check
    after the ONNX export."""
    import importlib.util

    import edgefill.cli as cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    monkeypatch.setattr(cli, "export_python_note", lambda: None)
    assert cli.export_toolchain_status() == "not installed (onnxruntime missing: edgefill[export])"


def test_export_without_onnxruntime_is_one_line_before_any_work(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert main(["export", "--model", "nano", "-o", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "the export toolchain cannot be imported" in err and "onnxruntime" in err and "edgefill[export]" in err
    assert not (tmp_path / "b").exists()


def test_quality_torch_without_the_export_tools_is_one_line(monkeypatch, capsys, tmp_path):
    """BackendUnavailableError was given one argument of its three: a TypeError traceback."""
    from edgefill.quality import main as quality_main

    monkeypatch.setitem(sys.modules, "edgefill_export.onnx_export", None)
    images = tmp_path / "imgs"
    images.mkdir()
    shutil.copy(MODELS_DIR.parents[1] / "samples" / "coffee.png", images / "a.png")
    rc = quality_main(["--images", str(images), "--models", "nano", "--torch", "--limit", "1", "--per-bucket", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "the export tools cannot be imported" in err and "edgefill[export]" in err


def test_inpaint_on_an_opencv_fallback_does_not_warn_about_a_model_never_given(tmp_path, monkeypatch, caplog):
    """Without ONNX Runtime every image said "backend 'opencv-telea' does not use a model; 'lite' is
    ignored": the CLI put in the default model itself."""
    import logging

    import cv2
    import numpy as np

    monkeypatch.setattr(OnnxRuntimeBackend, "is_available",
                        classmethod(lambda cls: Availability(False, "onnxruntime is not installed")))
    img = np.full((64, 64, 3), 120, np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[20:30, 20:30] = 255
    cv2.imwrite(str(tmp_path / "i.png"), img)
    cv2.imwrite(str(tmp_path / "m.png"), mask)
    with caplog.at_level(logging.WARNING):
        assert main(["inpaint", str(tmp_path / "i.png"), "--mask", str(tmp_path / "m.png"), "-o",
                     str(tmp_path / "o.png")]) == 0
    assert "does not use a model" not in caplog.text
