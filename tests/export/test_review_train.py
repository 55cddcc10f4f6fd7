"""Training toolchain review: damaged photo packs, weights of another model width, the meaning of
--steps on a resume."""

import json
from dataclasses import asdict

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.model import build_model  # noqa: E402
from edgefill_export.pack import FORMAT, PackError, load_pack  # noqa: E402
from edgefill_export.train import TrainConfig, init_from, resume_notes  # noqa: E402
from edgefill_export.weights import (CheckpointError, load_checkpoint, load_weights, save_checkpoint,  # noqa: E402
                                     save_weights)


def _header(**extra):
    return np.array(json.dumps({"format": FORMAT, **extra}))


@pytest.mark.parametrize("arrays,match", [
    ({"names": np.array(["a.png"]), "photo_00000": np.zeros((10, 10), np.uint8)}, r"a\.png is not JPEG bytes.*\(10, 10\)"),
    ({"names": np.array(["a.png"]), "photo_00000": np.zeros(0, np.uint8)}, r"a\.png is not JPEG bytes.*\(0,\)"),
    ({"names": np.array("a.png"), "photo_00000": np.zeros(5, np.uint8)}, "'names' must be a list of file names"),
    ({"header": _header(skipped=5), "names": np.array(["a.png"])}, "'skipped' must be a list of file names"),
], ids=["2d-photo", "empty-photo", "scalar-names", "skipped-not-a-list"])
def test_a_damaged_or_crafted_pack_is_one_pack_error(tmp_path, arrays, match):
    """A pack's photo stored as a 2-D or empty array was an OpenCV assertion (cv2.error) from
    imdecode, a 0-d 'names' a TypeError, a non-list 'skipped' a TypeError in train's data_id:
    tracebacks from `edgefill train --pack`, where a PackError is one line."""
    path = tmp_path / "p.npz"
    np.savez(path, **{"header": _header(), **arrays})
    with pytest.raises(PackError, match=match):
        load_pack(path)


def test_init_from_weights_of_another_model_is_one_line(tmp_path):
    """`train --model lite --init nano.safetensors` loaded nano's tensors into lite and failed with
    a CheckpointError listing every size mismatch: ~60 lines."""
    path = tmp_path / "nano.safetensors"
    save_weights(build_model("nano"), path)
    with pytest.raises(SystemExit, match=r"holds model 'nano', not 'lite': fine-tune them with --model nano, "
                                         r"or widen them first \(python -m edgefill_export.widen") as exc:
        init_from(build_model("lite"), path)
    assert "\n" not in str(exc.value)
    init_from(build_model("nano"), path)  # its own model still loads


def test_weights_or_a_checkpoint_that_do_not_fit_say_so_in_one_line(tmp_path):
    """Weights recorded as 'lite' but of another width listed every mismatching tensor (dozens of
    lines); a checkpoint that did not fit said only "Error(s) in loading state_dict for PConvUNet:",
    the first line of torch's message, which names no tensor."""
    nano = build_model("nano")
    path = tmp_path / "w.safetensors"
    save_weights(nano, path)
    from safetensors.torch import load_file, save_file

    save_file(load_file(str(path)), str(tmp_path / "as_lite.safetensors"), metadata={"model": "lite"})
    with pytest.raises(CheckpointError, match=r"does not fit model 'lite': size mismatch for .* \(and \d+ more\)") as exc:
        load_weights(tmp_path / "as_lite.safetensors")
    assert "\n" not in str(exc.value)
    plain = build_model("nano")
    save_checkpoint(tmp_path / "ckpt.safetensors", plain, torch.optim.Adam(plain.parameters()), {"step": 1})
    with_context = build_model("nano", context=True)
    with pytest.raises(CheckpointError, match=r"--context or --refine\?\): Missing key\(s\) in state_dict: .*context"):
        load_checkpoint(tmp_path / "ckpt.safetensors", with_context, torch.optim.Adam(with_context.parameters()))


def test_resuming_with_another_steps_says_it_is_the_total_and_what_the_schedule_does():
    """--steps on a resume is the run's total (the loop runs while step < --steps) and the cosine
    schedule ends there; raising it was quiet, so a user who meant "N more steps" could not tell,
    and the learning rate jumped back up at the resumed step without a word."""
    saved = asdict(TrainConfig(steps=9000))
    notes = resume_notes(saved, TrainConfig(steps=11000), 9000, "checkpoint.safetensors")
    assert len(notes) == 1
    assert "the run's total, not steps to add" in notes[0] and "scheduled for 9000 steps and now trains to 11000" in notes[0]
    assert "2.00e-05 -> 5.95e-05" in notes[0]
    assert resume_notes(saved, TrainConfig(steps=9000), 4000, "checkpoint.safetensors") == []  # the same run: quiet
    assert resume_notes({**saved, "threads": 4}, TrainConfig(steps=9000, threads=2), 4000, "c") == []



def _tiny(steps, **kw):
    return TrainConfig(**{"model": "nano", "steps": steps, "batch": 2, "crop": 64, "save_every": 2, "val_every": 2,
                          "warmup": 2, "threads": 1, **kw})


def test_batch_1_at_the_smallest_crop_is_refused_before_any_work(tmp_path, photo_dir):
    """--batch 1 --crop 64 leaves nano's 1x1 bottleneck one value per channel, and BatchNorm in
    training mode raised a torch ValueError traceback at the first step (after the photos loaded)."""
    from edgefill_export.train import check_config, main

    with pytest.raises(SystemExit, match=r"--batch 1 with --crop 64 .* 1x1 bottleneck.* --batch 2 or more, or --crop 128"):
        main(["--model", "nano", "--crop", "64", "--batch", "1", "--steps", "1", "--threads", "1",
              "--out", str(tmp_path / "run"), "--images", str(photo_dir)])
    assert not (tmp_path / "run" / "log.csv").exists()
    check_config(_tiny(1, batch=1, crop=128))  # a 2x2 bottleneck: 4 values per channel
    check_config(_tiny(1))


def test_a_full_disk_while_writing_the_log_is_one_line(tmp_path, photos):
    """log.csv on a full disk (here /dev/full) raised OSError from the log's flush, then again from
    its close in the clean-up: a three-deep traceback. It is one line that says what is kept."""
    import os

    from edgefill_export.train import train

    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    out = tmp_path / "run"
    out.mkdir()
    (out / "log.csv").symlink_to("/dev/full")
    with pytest.raises(SystemExit, match=r"cannot write .*log\.csv at step 2: No space left on device; no checkpoint "
                                         r"was saved yet: free some space"):
        train(_tiny(2), out, photos)
