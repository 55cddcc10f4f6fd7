"""The training command's smaller promises: a learning-rate schedule that only decays, one note
for photos below the crop size, a log.csv of something else kept aside rather than appended to,
a log time that goes on over a resume, and a thread count that outlives no run."""

import csv
from types import SimpleNamespace

import cv2
import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

import edgefill_export.train as train_mod  # noqa: E402
from edgefill_export.train import TrainConfig, check_config, lr_at, main, train  # noqa: E402

from ..conftest import natural_image  # noqa: E402
from .test_train_resume import _cfg  # noqa: E402  (nano, batch 2, 64-px crops, a checkpoint every 2 steps)


def test_an_lr_min_above_lr_is_refused(tmp_path, photo_dir):
    """The cosine "decay" from --lr 1e-5 to --lr-min 1e-4 rose tenfold over the run."""
    with pytest.raises(SystemExit, match=r"--lr-min 0.0001 is above --lr 1e-05"):
        main(["--model", "nano", "--crop", "64", "--steps", "1", "--batch", "2", "--threads", "1", "--out", str(tmp_path),
              "--images", str(photo_dir), "--lr", "1e-5", "--lr-min", "1e-4"])
    assert not (tmp_path / "log.csv").exists()


def test_the_default_lr_min_never_lifts_a_lower_lr():
    """A fine-tuning --lr below the default --lr-min (2e-5) trains at most at --lr, not rising to 2e-5."""
    cfg = TrainConfig(lr=1e-5, steps=100, warmup=10)
    check_config(cfg)  # not refused: the user gave no --lr-min
    after_warmup = [lr_at(s, cfg) for s in range(cfg.warmup, cfg.steps)]
    assert max(after_warmup) <= cfg.lr
    assert all(b <= a for a, b in zip(after_warmup, after_warmup[1:]))
    usual = TrainConfig(steps=100, warmup=10)  # --lr above the floor: the schedule is as before
    assert lr_at(99, usual) == pytest.approx(usual.lr_min, rel=0.01) and lr_at(10, usual) == usual.lr


def test_photos_smaller_than_the_crop_are_noted_once_per_run(tmp_path, photos, capsys):
    small = tmp_path / "photos"
    small.mkdir()
    for i in range(12):
        cv2.imwrite(str(small / f"p{i:02d}.png"), natural_image(50 if i in (2, 7) else 160, 200, seed=i))
    train(_cfg(1), tmp_path / "a", sorted(small.iterdir()))
    err = capsys.readouterr().err
    assert err.count("smaller than the") == 1
    assert "2 of 12 photos are smaller than the 64-px crop" in err
    train(_cfg(1), tmp_path / "b", photos)  # none below the crop: no note
    assert "smaller than the" not in capsys.readouterr().err


@pytest.mark.parametrize("foreign", [b"garbage header\n2,0.3,2e-05,0.5\n", b"\xff\xfe\x00\x01 binary\n",
                                     # past the first 8 KiB the text reader decodes (a real log's size): was a traceback
                                     b"step,time,lr,loss\n" + b"2,0.3,2e-05,0.5\n" * 2000 + b"\xff\xfe torn\n"])
def test_a_log_that_train_did_not_write_is_moved_aside_not_appended_to(tmp_path, photos, capsys, foreign):
    """A log.csv whose header is not train's columns got this run's rows under its names (here:
    empty rows), and its own rows were cut as malformed. It is kept whole under the first free
    log.N.csv (log.1.csv is taken here) and the run starts a new log."""
    train(_cfg(2), tmp_path, photos)
    (tmp_path / "log.csv").write_bytes(foreign)
    (tmp_path / "log.1.csv").write_text("an earlier one\n")
    capsys.readouterr()
    train(_cfg(4), tmp_path, photos)
    assert (tmp_path / "log.2.csv").read_bytes() == foreign
    assert (tmp_path / "log.1.csv").read_text() == "an earlier one\n"
    assert "moved it to log.2.csv" in capsys.readouterr().err
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert [r["step"] for r in rows] == ["4"] and float(rows[0]["loss"]) > 0


def test_the_log_time_goes_on_over_a_resume(tmp_path, photos, monkeypatch):
    """The time column is training seconds since step 0; after a resume it started again at 0.
    Each run gets a clock that starts again (as a new process's would)."""
    def fresh_clock():
        ticks = iter(range(0, 10**6, 5))
        return SimpleNamespace(time=lambda: float(next(ticks)))

    monkeypatch.setattr(train_mod, "time", fresh_clock())
    train(_cfg(2), tmp_path, photos)
    monkeypatch.setattr(train_mod, "time", fresh_clock())
    train(_cfg(4), tmp_path, photos)
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert [r["step"] for r in rows] == ["2", "4"]
    first, second = (float(r["time"]) for r in rows)
    assert 0 < first < second and second >= 2 * first  # the second run took as long again, from where the first ended


def test_a_checkpoint_without_training_time_starts_the_clock_at_zero():
    assert train_mod._elapsed_of({"step": 3}) == 0.0
    assert train_mod._elapsed_of({"elapsed": 12.5}) == 12.5
    for bad in ("12", None, float("nan"), -1.0, True):
        assert train_mod._elapsed_of({"elapsed": bad}) == 0.0


def test_train_puts_the_thread_count_back(tmp_path, photos):
    """--threads held for the rest of the process (edgefill train and the tests run train() in it)."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        train(_cfg(1), tmp_path / "a", photos)  # threads=1
        assert torch.get_num_threads() == 3
        with pytest.raises(SystemExit, match="need at least 6 readable"):  # raised after the threads were set
            train(_cfg(1), tmp_path / "b", [])
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


def test_a_log_csv_that_is_a_folder_is_one_line(tmp_path, photos):
    """Was an IsADirectoryError traceback."""
    (tmp_path / "log.csv").mkdir()
    with pytest.raises(SystemExit, match="log.csv is a folder"):
        train(_cfg(2), tmp_path, photos)


def test_the_module_command_leaves_a_broken_link_among_the_photos_out(tmp_path, photo_dir, capsys, caplog):
    """python -m edgefill_export.train caught only pack and checkpoint errors: a folder holding a
    broken link was an InputError traceback there (edgefill train printed one line, about frames
    and masks pairing up by their order, which training's photos do not). It is left out with a
    warning, as a by-name batch of edgefill inpaint leaves it out, and the run trains."""
    import logging
    import shutil

    folder = tmp_path / "photos"
    shutil.copytree(photo_dir, folder)
    (folder / "gone.png").symlink_to(tmp_path / "nowhere.png")
    with caplog.at_level(logging.WARNING):
        assert main(["--model", "nano", "--crop", "64", "--steps", "1", "--batch", "2", "--threads", "1",
                     "--out", str(tmp_path / "run"), "--images", str(folder)]) == 0
    assert "gone.png is a broken link" in caplog.text and "left out" in caplog.text
    assert "Traceback" not in capsys.readouterr().err


def test_a_folder_where_a_checkpoint_is_expected_is_named_a_folder(tmp_path):
    from edgefill_export.weights import CheckpointError, checkpoint_state, load_weights

    (tmp_path / "checkpoint.safetensors").mkdir()
    for read in (checkpoint_state, load_weights):
        with pytest.raises(CheckpointError, match="is a folder, not a weights or checkpoint file"):
            read(tmp_path / "checkpoint.safetensors")
