"""Training run folders and their files under misuse: another model's finished run, a finished
run run again with other flags, a changed --d-lr on resume, the README's fine-tuning command
(no --context), a second Ctrl-C while the checkpoint is written, photos above the pixel limit,
a broken link among the photos (and the pack command's errors), and a save killed mid-write."""

import csv
import json
import logging
import os
import shutil
import signal
import time

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

import edgefill_export.train as train_mod  # noqa: E402
from edgefill_export import pack as pack_mod  # noqa: E402
from edgefill_export.model import build_model  # noqa: E402
from edgefill_export.train import TrainConfig, load_photos, main, train  # noqa: E402
from edgefill_export.weights import _read, save_weights  # noqa: E402

from ..conftest import natural_image  # noqa: E402
from .test_train_resume import _step_of  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
def _cfg(steps, **kw):
    """nano (unless ``model`` says), batch 2, 64-px crops, a checkpoint and a validation every 2 steps."""
    settings = dict(model="nano", steps=steps, batch=2, crop=64, save_every=2, val_every=2, warmup=1, threads=1)
    return TrainConfig(**{**settings, **kw})


TINY = ["--crop", "64", "--batch", "2", "--threads", "1", "--warmup", "1", "--save-every", "2", "--val-every", "2"]


def _log_steps(path):
    return [r["step"] for r in csv.DictReader(path.open())]


def test_another_models_finished_run_is_refused_and_its_log_kept(tmp_path, photos, capsys):
    """nano trained into a folder, its checkpoint deleted, then lite trained into the same folder:
    it trained without a word and cut nano's log.csv back to lite's rows."""
    train(_cfg(4), tmp_path, photos)
    (tmp_path / "checkpoint.safetensors").unlink()
    log = (tmp_path / "log.csv").read_bytes()
    with pytest.raises(SystemExit, match="holds nano.safetensors, another model's weights"):
        train(_cfg(1, model="lite"), tmp_path, photos)
    assert (tmp_path / "log.csv").read_bytes() == log and not (tmp_path / "lite.safetensors").exists()
    capsys.readouterr()
    train(_cfg(2, model="lite"), tmp_path, photos, resume=False)  # asked for: lite beside nano, nano's log kept aside
    assert (tmp_path / "log.1.csv").read_bytes() == log
    assert "moved it to log.1.csv" in capsys.readouterr().err
    assert _log_steps(tmp_path / "log.csv") == ["2"]
    assert (tmp_path / "nano.safetensors").exists() and (tmp_path / "lite.safetensors").exists()


def test_a_fresh_start_moves_the_earlier_log_aside(tmp_path, photos, capsys):
    """--no-resume over a run: its log's rows were cut back to nothing; now they are kept aside."""
    train(_cfg(4), tmp_path, photos)
    log = (tmp_path / "log.csv").read_bytes()
    capsys.readouterr()
    train(_cfg(2), tmp_path, photos, resume=False)
    assert (tmp_path / "log.1.csv").read_bytes() == log
    assert "moved it to log.1.csv" in capsys.readouterr().err
    assert _log_steps(tmp_path / "log.csv") == ["2"]


def test_a_finished_run_run_again_with_other_flags_rewrites_nothing(tmp_path, photos, capsys):
    """Nothing trained, yet the checkpoint was rewritten recording the new flags (a later resume
    warned "--crop 128 -> 64" of a run never trained at 128) and, without --ema, lost its
    average, and the weights file (the average) was replaced by the trained weights."""
    train(_cfg(2, ema=0.9), tmp_path, photos)
    ckpt, weights = tmp_path / "checkpoint.safetensors", tmp_path / "nano.safetensors"
    before = {p: p.read_bytes() for p in (ckpt, weights, tmp_path / "nano.trained.safetensors")}
    assert any(k.startswith("ema.") for k in _read(ckpt)[0])
    train(_cfg(2, crop=128), tmp_path, photos)  # no --ema, another crop: nothing to train
    assert all(p.read_bytes() == data for p, data in before.items())
    capsys.readouterr()
    train(_cfg(4, ema=0.9), tmp_path, photos)  # trains on with the flags it was trained with
    assert "--crop" not in capsys.readouterr().err
    assert _step_of(ckpt) == 4
    weights.unlink()  # a missing weights file is written again from the checkpoint
    ckpt_bytes = ckpt.read_bytes()
    train(_cfg(4, ema=0.9), tmp_path, photos)
    assert weights.exists() and ckpt.read_bytes() == ckpt_bytes


def test_a_changed_d_lr_on_resume_is_applied(tmp_path, photos, capsys):
    """The run said "--d-lr 0.0002 -> 0.001" but the discriminator's Adam kept the saved rate."""
    train(_cfg(2, gan_weight=0.01, d_lr=2e-4), tmp_path, photos)
    capsys.readouterr()
    train(_cfg(4, gan_weight=0.01, d_lr=1e-3), tmp_path, photos)
    assert "--d-lr 0.0002 -> 0.001" in capsys.readouterr().err
    groups = json.loads(_read(tmp_path / "checkpoint.safetensors")[1]["disc.param_groups"])
    assert [g["lr"] for g in groups] == [1e-3]


def test_the_readme_fine_tuning_command_takes_the_architecture_from_init(tmp_path, photo_dir, capsys):
    """`edgefill train --model lite --init edgefill/models/lite.safetensors ...` was refused: every
    shipped model has the global-context block, and the command has no --context."""
    init = os.path.join(ROOT, "edgefill", "models", "nano.safetensors")
    run = ["--images", str(photo_dir), "--out", str(tmp_path / "mine"), *TINY]
    assert main(["--model", "nano", "--init", init, "--steps", "2", *run]) == 0
    err = capsys.readouterr().err
    assert "training with --context as the --init weights" in err
    meta = _read(tmp_path / "mine" / "nano.safetensors")[1]
    assert meta["context"] == "true" and meta["model"] == "nano"
    assert main(["--init", init, "--steps", "4", *run]) == 0  # the same command resumes (the checkpoint says so)
    assert "training with --model nano --context as the checkpoint" in capsys.readouterr().err
    assert _step_of(tmp_path / "mine" / "checkpoint.safetensors") == 4
    with pytest.raises(SystemExit, match="train with --context to fine-tune it"):  # a contradiction stays refused
        main(["--model", "nano", "--no-context", "--init", init, "--steps", "1", *run[:2], "--out",
              str(tmp_path / "other"), *TINY])


def test_a_refinement_head_and_the_model_come_from_init_too(tmp_path, photo_dir, capsys):
    init = tmp_path / "head.safetensors"
    save_weights(build_model("nano", context=False, refine=8), init)
    run = ["--images", str(photo_dir), "--steps", "1", *TINY]
    assert main(["--init", str(init), "--out", str(tmp_path / "a"), *run]) == 0
    assert "training with --model nano --refine 8 as the --init weights" in capsys.readouterr().err
    assert _read(tmp_path / "a" / "nano.safetensors")[1]["refine"] == "8"
    with pytest.raises(SystemExit, match="train with --refine 8"):
        main(["--init", str(init), "--refine", "4", "--out", str(tmp_path / "b"), *run])


def test_a_second_interrupt_while_the_checkpoint_is_written_waits_for_it(tmp_path, photos, monkeypatch, capsys):
    """The second Ctrl-C was raised into the atomic write: the run said "saving checkpoint at
    step 3" and "run the same command again to resume", and the checkpoint kept was step 2's."""
    real_step, steps = torch.optim.Adam.step, []

    def step_then_signal(self, *args, **kwargs):
        out = real_step(self, *args, **kwargs)
        steps.append(1)
        if len(steps) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return out

    real_save, saves = train_mod.save_checkpoint, []

    def signal_while_saving(*args, **kwargs):
        saves.append(1)
        if len(saves) == 2:  # the save on the interrupt (the first is step 2's)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)  # the handler runs here
        return real_save(*args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step_then_signal)
    monkeypatch.setattr(train_mod, "save_checkpoint", signal_while_saving)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(10), tmp_path, photos)
    assert signal.getsignal(signal.SIGTERM) is before
    assert _step_of(tmp_path / "checkpoint.safetensors") == 3
    said = capsys.readouterr()
    assert "saving checkpoint at step 3" in said.out and "the run stops when it is saved" in said.err


def _jpeg(path, h, w):
    cv2.imwrite(str(path), cv2.resize(natural_image(160, 200, seed=1), (w, h)))


def test_photos_above_the_pixel_limit_are_decoded_reduced(tmp_path, monkeypatch, capsys):
    """A 108 MP phone shot (above the runtime's 100 MP) was left out as "not a readable image".
    The limit is lowered here so that the photos stay small: 20000 pixels."""
    import edgefill.imageio as imageio

    monkeypatch.setattr(imageio, "MAX_PIXELS", 20000)
    _jpeg(tmp_path / "a_twice.jpg", 160, 200)  # 1.6 x the limit: half size
    _jpeg(tmp_path / "b_8x.jpg", 400, 400)  # 8 x: a quarter (libjpeg scales as it decodes)
    cv2.imwrite(str(tmp_path / "c_twice.png"), cv2.resize(natural_image(160, 200, seed=2), (200, 160)))
    cv2.imwrite(str(tmp_path / "d_8x.png"), np.zeros((400, 400, 3), np.uint8))  # a PNG is decoded whole: refused
    _jpeg(tmp_path / "e_bomb.jpg", 2000, 1000)  # 100 x: past 1/8
    photos = load_photos(sorted(tmp_path.iterdir()))
    assert [p.shape for p in photos] == [(80, 100, 3), (100, 100, 3), (80, 100, 3)]
    err = capsys.readouterr().err
    assert "2 of 5 files are left out" in err
    assert "d_8x.png (declares 400x400 pixels, above the 20000 limit)" in err
    assert "e_bomb.jpg (declares 1000x2000 pixels" in err
    full = cv2.imread(str(tmp_path / "a_twice.jpg"))
    assert np.abs(photos[0].astype(int) - cv2.resize(full, (100, 80), interpolation=cv2.INTER_AREA)).mean() < 4


def test_a_broken_link_among_the_photos_is_left_out(tmp_path, photo_dir, caplog):
    from edgefill_export.fetch import training_paths

    folder = tmp_path / "photos"
    shutil.copytree(photo_dir, folder)
    (folder / "gone.png").symlink_to(tmp_path / "nowhere.png")
    with caplog.at_level(logging.WARNING):
        paths = training_paths("train", folder)
    assert sorted(p.name for p in paths) == sorted(p.name for p in photo_dir.iterdir())
    assert "gone.png is a broken link" in caplog.text
    assert pack_mod.main(["--images", str(folder), "--out", str(tmp_path / "p.npz")]) == 0
    assert len(pack_mod.load_pack(tmp_path / "p.npz")[0]) == 12


def test_the_pack_command_reports_input_errors_and_ctrl_c_in_one_line(tmp_path, photo_dir, monkeypatch, capsys):
    from edgefill.errors import InputError

    def unlistable(*args, **kwargs):
        raise InputError("cannot list the images in DIR: Permission denied")

    monkeypatch.setattr(pack_mod, "training_paths", unlistable)
    assert pack_mod.main(["--images", str(photo_dir), "--out", str(tmp_path / "p.npz")]) == 2
    assert capsys.readouterr().err == "error: cannot list the images in DIR: Permission denied\n"
    monkeypatch.undo()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pack_mod, "pack_photos", interrupted)
    assert pack_mod.main(["--images", str(photo_dir), "--out", str(tmp_path / "p.npz")]) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted") and len(err.splitlines()) == 1 and not (tmp_path / "p.npz").exists()


def test_temporary_files_a_killed_save_left_are_removed(tmp_path, photos, capsys):
    """A SIGKILL mid-save left .checkpoint.safetensors.XXXXXXXX.part (full size) for good."""
    train(_cfg(2), tmp_path, photos)
    stale = [".checkpoint.safetensors.k2_x9abc.part", ".nano.safetensors.abcdefgh.part", ".log.csv.q1w2e3r4.part",
             ".nano.trained.safetensors.zzzzzzzz.part"]
    kept = [".lite.safetensors.abcdefgh.part", ".checkpoint.safetensors.abc.part", "notes.part",
            ".mine.safetensors.abcdefgh.part"]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"x" * 100)
    capsys.readouterr()
    train(_cfg(4), tmp_path, photos)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".part")) == sorted(kept)
    assert "removed 4 temporary file(s)" in capsys.readouterr().err


def test_weights_older_than_the_checkpoint_are_written_by_a_run_that_trains_no_step(tmp_path, photos):
    """A run stopped after a periodic save (Ctrl-C, or a failed weights write: "run the same command
    again") has a checkpoint newer than its weights; run again at that step it trained nothing and
    returned the old weights, labelled finished."""
    from edgefill_export.weights import recorded_steps

    train(_cfg(2), tmp_path, photos)
    old = (tmp_path / "nano.safetensors").read_bytes()
    train(_cfg(4, stop_at=3), tmp_path, photos)  # checkpoint and weights at step 3
    (tmp_path / "nano.safetensors").write_bytes(old)  # as if the step-3 weights were never written
    assert recorded_steps(tmp_path / "nano.safetensors") == (2, "true")
    train(_cfg(4, stop_at=3), tmp_path, photos)
    assert recorded_steps(tmp_path / "nano.safetensors") == (3, "false")
