"""Weights files that are not what load_weights expects give one clear CheckpointError."""

import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from safetensors.torch import save_file  # noqa: E402

from edgefill_export.model import build_model  # noqa: E402
from edgefill_export.weights import CheckpointError, _read, load_weights, save_checkpoint, save_weights  # noqa: E402


def test_a_training_checkpoint_given_as_weights_is_named_as_such(tmp_path):
    """runs/X/checkpoint.safetensors lies next to runs/X/nano.safetensors: the error says which to pass,
    instead of listing every key of the model."""
    model = build_model("nano")
    opt = torch.optim.Adam(model.parameters())
    save_checkpoint(tmp_path / "checkpoint.safetensors", model, opt, {"step": 0})
    with pytest.raises(CheckpointError, match="training checkpoint") as info:
        load_weights(tmp_path / "checkpoint.safetensors")
    assert len(str(info.value).splitlines()) == 1 and "nano.safetensors" in str(info.value)


def test_a_negative_refine_width_in_the_metadata_is_a_checkpoint_error(tmp_path):
    save_weights(build_model("nano"), tmp_path / "w.safetensors")
    tensors, meta = _read(tmp_path / "w.safetensors")
    save_file(tensors, tmp_path / "bad.safetensors", metadata={**meta, "refine": "-3"})
    with pytest.raises(CheckpointError, match="bad refine width"):
        load_weights(tmp_path / "bad.safetensors")
