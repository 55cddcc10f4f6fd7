"""Long training runs interrupted and resumed across sessions: the run folder, a resume on other
photos, a run that diverges or fills the disk, and settings no run can train with."""

import csv
import errno
import shutil
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

import edgefill_export.train as train_mod  # noqa: E402
from edgefill_export.train import TrainConfig, main, train  # noqa: E402
from edgefill_export.weights import _read  # noqa: E402


def _cfg(steps, **kw):
    return TrainConfig(model="nano", steps=steps, batch=2, crop=64, save_every=2, val_every=2, warmup=1, threads=1,
                       **kw)


def _step_of(ckpt):
    import json

    return json.loads(_read(ckpt)[1]["state"])["step"]


def test_an_out_that_is_a_file_is_one_line_error(tmp_path, photos):
    out = tmp_path / "run"
    out.write_text("notes")
    with pytest.raises(SystemExit, match="is a file"):
        train(_cfg(1), out, photos)
    assert out.read_text() == "notes"


def test_an_out_that_cannot_be_made_is_one_line_error(tmp_path, photos, monkeypatch):
    """A read-only disk or a folder of another user (root, who runs the tests here, can write
    anywhere, so the refusal is simulated)."""
    real = train_mod.Path.mkdir

    def refuse(self, *a, **kw):
        if self.name == "run":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *a, **kw)

    monkeypatch.setattr(train_mod.Path, "mkdir", refuse)
    with pytest.raises(SystemExit, match="cannot write there"):
        train(_cfg(1), tmp_path / "run", photos)


def test_weights_without_their_checkpoint_are_not_silently_trained_over(tmp_path, photos):
    """A finished run whose checkpoint was deleted (or came back from the GPU in parts): the
    same command again would start at step 0, cut the log back to its header and replace the
    trained weights. It is refused; --no-resume says a fresh start is wanted."""
    first = train(_cfg(2), tmp_path, photos)
    log, trained = (tmp_path / "log.csv").read_bytes(), first.read_bytes()
    ckpt = tmp_path / "checkpoint.safetensors"
    data = ckpt.read_bytes()
    ckpt.unlink()
    with pytest.raises(SystemExit, match="--no-resume"):
        train(_cfg(2), tmp_path, photos)
    assert (tmp_path / "log.csv").read_bytes() == log and first.read_bytes() == trained
    (tmp_path / "checkpoint.safetensors.part-aa").write_bytes(data[:1000])
    (tmp_path / "checkpoint.safetensors.part-ab").write_bytes(data[1000:])
    with pytest.raises(SystemExit, match="join its parts"):
        train(_cfg(2), tmp_path, photos)
    train(_cfg(2), tmp_path, photos, resume=False)  # asked for: a fresh run
    assert _step_of(ckpt) == 2


def test_a_diverged_run_stops_before_saving_over_the_last_good_checkpoint(tmp_path, photos, monkeypatch):
    """One NaN loss makes every weight NaN from then on; a run that went on saved NaN over the
    last good checkpoint and wrote NaN weights."""
    real, calls = train_mod.loss_fn, []

    def nan_at_step_3(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(1)
        if len(calls) == 3:
            out["loss"] = out["loss"] * float("nan")
        return out

    monkeypatch.setattr(train_mod, "loss_fn", nan_at_step_3)
    with pytest.raises(SystemExit, match="diverged.*step 3"):
        train(_cfg(4), tmp_path, photos)
    ckpt = tmp_path / "checkpoint.safetensors"
    assert _step_of(ckpt) == 2
    assert all(torch.isfinite(t).all() for t in _read(ckpt)[0].values())
    assert not (tmp_path / "nano.safetensors").exists()
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert [r["step"] for r in rows] == ["2"]


def test_a_full_disk_is_one_line_error_and_keeps_the_previous_checkpoint(tmp_path, photos, monkeypatch):
    real, calls = train_mod.save_checkpoint, []

    def full_the_second_time(path, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # as atomic_write_bytes fails: nothing replaced
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(train_mod, "save_checkpoint", full_the_second_time)
    with pytest.raises(SystemExit, match="No space left on device.*previous checkpoint"):
        train(_cfg(6), tmp_path, photos)
    assert _step_of(tmp_path / "checkpoint.safetensors") == 2


def test_resuming_on_other_photos_says_so(tmp_path, photo_dir, photos, capsys):
    """--data, --images or --pack changed between sessions: the run trains on the new photos,
    as with any other changed setting, but not without a word."""
    train(_cfg(2), tmp_path / "run", photos)
    capsys.readouterr()
    train(_cfg(4), tmp_path / "run", photos)  # the same photos: nothing to say
    assert "other photos" not in capsys.readouterr().err
    other = tmp_path / "other"
    shutil.copytree(photo_dir, other)
    (other / "extra.png").write_bytes((photo_dir / "p00.png").read_bytes())
    train(_cfg(6), tmp_path / "run", sorted(other.iterdir()))
    err = capsys.readouterr().err
    assert "trained on other photos (12 files" in err and "13 files" in err


def test_a_folder_and_its_pack_are_the_same_photos(tmp_path, photos):
    from edgefill_export.pack import pack_photos

    pack_photos(photos, tmp_path / "p.npz", progress=False)
    assert train_mod.data_id(tmp_path / "p.npz") == train_mod.data_id(photos)


@pytest.mark.parametrize("args,msg", [(["--lr", "inf"], "--lr must be a finite number"),
                                      (["--hole-weight", "-1"], "--hole-weight must be 0 or more"),
                                      (["--tv-weight", "nan"], "--tv-weight must be 0 or more"),
                                      (["--ssim-weight", "inf"], "--ssim-weight must be a finite number"),
                                      (["--refine", "-1"], "--refine must be 0 or more"),
                                      (["--d-lr", "-1", "--gan-weight", "0.1"], "--d-lr must be above 0"),
                                      (["--context", "--context-lr-mult", "-1"], "--context-lr-mult must be 0 or more")])
def test_settings_no_run_can_train_with_are_refused_before_any_work(tmp_path, photo_dir, args, msg):
    """--lr inf trained NaN weights; --refine -1 and --d-lr -1 ended in torch tracebacks."""
    with pytest.raises(SystemExit, match=msg):
        main(["--model", "nano", "--crop", "64", "--steps", "1", "--batch", "2", "--threads", "1", "--out", str(tmp_path),
              "--images", str(photo_dir), *args])
    assert not (tmp_path / "log.csv").exists()


def test_a_time_limit_stop_saves_once_and_the_log_has_each_step_once(tmp_path, photos, monkeypatch):
    """--max-minutes: one checkpoint at the stop, a weights file marked unfinished, and after the
    resume a log with every logged step once, in order."""
    real, saves = train_mod.save_checkpoint, []

    def count(path, model, opt, state, *a, **kw):
        saves.append(state["step"])
        return real(path, model, opt, state, *a, **kw)

    monkeypatch.setattr(train_mod, "save_checkpoint", count)
    clock = iter(range(0, 10**6, 2))  # 2 s a reading: 0.1 minutes run out after a few steps
    monkeypatch.setattr(train_mod, "time", SimpleNamespace(time=lambda: float(next(clock))))
    cfg = TrainConfig(model="nano", steps=30, batch=2, crop=64, save_every=1000, val_every=1000, warmup=1,
                      threads=1, max_minutes=0.1)
    early = train(cfg, tmp_path, photos)
    assert saves == [saves[0]] and 0 < saves[0] < 30 and _read(early)[1]["finished"] == "false"
    monkeypatch.setattr(train_mod, "time", SimpleNamespace(time=lambda: 0.0))
    train(cfg, tmp_path, photos)
    steps = [int(r["step"]) for r in csv.DictReader((tmp_path / "log.csv").open())]
    assert steps == [saves[0], 25, 30] and saves[1:] == [30]
    assert _read(tmp_path / "nano.safetensors")[1]["finished"] == "true"


def test_a_rerun_of_a_finished_run_trains_nothing_and_changes_nothing(tmp_path, photos, capsys):
    def contents():  # safetensors writes its metadata in no fixed order: compare what the files hold
        return {p.name: _read(p) if p.suffix == ".safetensors" else p.read_bytes() for p in tmp_path.iterdir()}

    def same(a, b):  # (a resumed optimizer's parameter groups carry lr_mult 1.0, which changes nothing)
        if isinstance(a, bytes):
            return a == b
        meta = [{k: v for k, v in m.items() if k != "param_groups"} for m in (a[1], b[1])]
        return meta[0] == meta[1] and a[0].keys() == b[0].keys() and all(torch.equal(a[0][k], b[0][k]) for k in a[0])

    first = train(_cfg(2), tmp_path, photos)
    before = contents()
    capsys.readouterr()
    assert train(_cfg(2), tmp_path, photos) == first
    assert "nothing is trained" in capsys.readouterr().err
    after = contents()
    assert after.keys() == before.keys() and all(same(before[k], after[k]) for k in before)
