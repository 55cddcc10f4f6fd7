"""Review of export bundles: a second export into a folder being written is refused (it deleted
the first one's staging folder), --force leaves another tool's bundle.json files alone, a bundle
named like a shipped model is said to be shadowed, a bundle reports its MACs as its graph file
does, SIGTERM unwinds an export as Ctrl-C does, and an empty -o is refused."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal

import pytest

from edgefill.cli import main
from edgefill.models import MODELS_DIR, resolve_model

from ..fakes import fake_export_toolchain


def _bundle_of_nano(folder):
    """A one-graph FP32 bundle made of the shipped nano's files (no torch needed)."""
    folder.mkdir()
    shutil.copy(MODELS_DIR / "nano.onnx", folder / "model.fp32.onnx")
    shutil.copy(MODELS_DIR / "nano.json", folder / "model.fp32.json")
    sha = hashlib.sha256((folder / "model.fp32.onnx").read_bytes()).hexdigest()
    (folder / "bundle.json").write_text(json.dumps({
        "format": "edgefill-bundle/1", "model": "nano", "precision": "fp32", "multiple": 64,
        "artifacts": {"fp32": {"file": "model.fp32.onnx", "sha256": sha}}, "tensorrt": None}))
    return folder


def test_a_bundle_reports_the_macs_of_its_graph(tmp_path):
    """`bench --model BUNDLE` showed "-" for GFLOP/s and % of peak; the same graph as a file did not."""
    from edgefill.bench import conv_macs

    bundle = _bundle_of_nano(tmp_path / "b")
    assert conv_macs(str(bundle), 256) == conv_macs("nano", 256) > 0


def test_a_bundle_named_like_a_shipped_model_is_said_to_be_shadowed(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    _bundle_of_nano(tmp_path / "nano")
    with caplog.at_level(logging.WARNING):
        assert resolve_model("nano").path.parent == MODELS_DIR
    assert "is a shipped model and also a file or folder here; the shipped one runs (give ./nano" in caplog.text
    assert resolve_model("./nano").path.parent == (tmp_path / "nano").resolve()


def test_export_warns_when_its_folder_is_named_like_a_shipped_model(tmp_path, monkeypatch, caplog):
    fake_export_toolchain(monkeypatch, lambda req, **kw: (_ for _ in ()).throw(ValueError("stop here")))
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING):
        assert main(["export", "--model", "nano", "-o", "nano"]) == 2
    assert "-o nano is named like a shipped model: run the bundle as --model ./nano" in caplog.text


def test_an_empty_output_folder_is_refused(tmp_path, monkeypatch, capsys):
    """-o "$OUTDIR" unset wrote the bundle into the current folder."""
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--model", "nano", "-o", ""]) == 2
    assert "-o is empty" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_sigterm_unwinds_like_ctrl_c():
    """A SIGTERM killed the export outright: its staging folder and ONNX Runtime's temporary graphs
    stayed; a BaseException now unwinds through the clean-up, exit 143."""
    from edgefill.cli import _sigterm_unwinds

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as e:
        with _sigterm_unwinds():
            os.kill(os.getpid(), signal.SIGTERM)
    assert e.value.code == 143
    assert signal.getsignal(signal.SIGTERM) == before


torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export]")
from edgefill_export import bundle as bundle_mod  # noqa: E402


def test_a_second_export_into_a_folder_being_written_is_refused(tmp_path):
    """It took the running export's staging folder for a killed one's and deleted it: the first
    export died with a traceback."""
    out = tmp_path / "b"
    out.mkdir()
    live_stage = out / ".export-live"
    live_stage.mkdir()
    held = bundle_mod._locked(out)
    try:
        req = bundle_mod.ExportRequest(model="nano", out_dir=out, precision="fp32")
        with pytest.raises(FileExistsError, match="another export is writing into"):
            bundle_mod.export_bundle(req, progress=False)
        assert live_stage.is_dir()
    finally:
        bundle_mod._unlock(out, held)


def test_force_leaves_the_files_of_another_tools_bundle_json(tmp_path):
    folder = tmp_path / "foreign"
    folder.mkdir()
    (folder / "bundle.json").write_text(json.dumps({"format": "other-tool/3",
                                                    "artifacts": {"main": {"file": "detector.onnx"}},
                                                    "calibration": {"file": "labels.json"}}))
    for name in ("detector.onnx", "detector.json", "labels.json"):
        (folder / name).write_text("x")
    assert bundle_mod._bundle_files(folder) == set()
