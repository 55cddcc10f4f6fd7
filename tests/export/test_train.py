from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.train import TrainConfig, train  # noqa: E402
from edgefill_export.weights import CheckpointError, load_weights  # noqa: E402


def _cfg(steps, **losses):
    return TrainConfig(model="nano", steps=steps, batch=2, crop=64, save_every=2, val_every=2, warmup=2, threads=1,
                       **losses)


def _assert_resume_is_bit_identical(tmp_path, photos, **losses):
    """Train 4 steps straight, and 2 + 2 with a resume; the weights must be identical."""
    straight = train(_cfg(4, **losses), tmp_path / "a", photos)
    train(_cfg(2, **losses), tmp_path / "b", photos)
    resumed = train(_cfg(4, **losses), tmp_path / "b", photos)
    a, b = load_weights(straight).state_dict(), load_weights(resumed).state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=0, rtol=0, msg=k)


def test_resume_reproduces_an_uninterrupted_run(tmp_path, photos):
    _assert_resume_is_bit_identical(tmp_path, photos)
    log = (tmp_path / "b" / "log.csv").read_text().splitlines()
    assert log[0].startswith("step,") and any(line.startswith("4,") for line in log)


def test_training_improves_the_validation_score(tmp_path, photos):
    cfg = TrainConfig(model="nano", steps=80, batch=4, crop=64, save_every=1000, val_every=20, warmup=5, lr=2e-3, threads=1)
    train(cfg, tmp_path, photos)
    header, *rows = (tmp_path / "log.csv").read_text().splitlines()
    col = header.split(",").index("val_hole_psnr")
    scores = [float(r.split(",")[col]) for r in rows if r.split(",")[col]]
    assert len(scores) == 4 and scores[-1] > scores[0]  # a fixed held-out set, not one noisy batch


def test_fine_tune_starts_from_given_weights(tmp_path, photos):
    from edgefill.models import MODELS_DIR

    shipped = load_weights(MODELS_DIR / "nano.safetensors").state_dict()
    cfg = TrainConfig(model="nano", steps=1, batch=2, crop=64, save_every=10, val_every=10, warmup=1, lr=1e-9, threads=1,
                      context=True)  # the shipped nano has the global-context block
    out = train(cfg, tmp_path, photos, init=MODELS_DIR / "nano.safetensors")
    tuned = load_weights(out).state_dict()
    key = "encoders.0.conv.weight"
    torch.testing.assert_close(tuned[key], shipped[key], atol=1e-6, rtol=0)


def test_pickle_checkpoints_are_refused(tmp_path):
    import pickle

    sentinel = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(sentinel), "w"))

    bad = tmp_path / "evil.pt"
    bad.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError, match="only .safetensors"):
        load_weights(bad)
    disguised = tmp_path / "evil.safetensors"
    disguised.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        load_weights(disguised)
    assert not sentinel.exists()


def test_resume_with_all_losses_reproduces_an_uninterrupted_run(tmp_path, photos):
    """The discriminator and its optimiser are checkpointed too."""
    _assert_resume_is_bit_identical(tmp_path, photos, grad_weight=1.0, ssim_weight=0.5, gan_weight=0.01)
    header, *rows = (tmp_path / "b" / "log.csv").read_text().splitlines()
    cols = header.split(",")
    last = dict(zip(cols, rows[-1].split(","), strict=True))
    assert all(last[k] for k in ("grad", "ssim", "gan_g", "gan_d", "val_hole_psnr", "val_hole_ssim", "train_hole_psnr"))


def test_checkpoint_without_discriminator_state_is_refused(tmp_path, photos):
    train(_cfg(2), tmp_path, photos)
    # and says what to do: resume without it, or start a new run from this run's weights
    with pytest.raises(CheckpointError, match=r"has no state for disc \(it was trained without it.*--gan-weight "
                                              r"for disc.*start a new run with --init .*nano\.safetensors\)"):
        train(TrainConfig(model="nano", steps=4, batch=2, crop=64, gan_weight=0.01, threads=1), tmp_path, photos)
    assert (tmp_path / "nano.safetensors").is_file()  # the weights the message names


def test_the_log_records_the_hole_mse_and_a_resumed_log_keeps_its_columns(tmp_path, photos):
    import csv

    cfg = TrainConfig(model="nano", steps=4, batch=2, crop=64, save_every=1000, val_every=1000, warmup=1,
                      hole_mse_weight=10.0, hole_db_weight=0.04, threads=1)
    train(cfg, tmp_path / "new", photos)
    rows = list(csv.DictReader((tmp_path / "new" / "log.csv").open()))
    assert float(rows[-1]["hole_mse"]) > 0 and rows[-1]["step"] == "4"
    assert -40 < float(rows[-1]["hole_db"]) < 0  # an untrained fill's hole error in dB
    # a log written before the hole_mse column existed: appended rows follow its own header (a run
    # resumed from its checkpoint; a fresh start moves a log with rows aside)
    old = "step,time,lr,loss,hole,valid,tv,grad,ssim,gan_g,gan_d,val_hole_psnr,val_hole_ssim,crop"
    train(TrainConfig(**{**cfg.__dict__, "steps": 2}), tmp_path / "old", photos)
    (tmp_path / "old" / "log.csv").write_text(old + "\n2,0.0,1e-4,1,1,1,1,,,,,,,64\n")
    train(cfg, tmp_path / "old", photos)
    lines = (tmp_path / "old" / "log.csv").read_text().splitlines()
    assert lines[0] == old and len(lines) == 3
    assert all(len(line.split(",")) == len(old.split(",")) for line in lines)


def test_a_run_stopped_early_logs_the_step_it_stopped_at(tmp_path, photos, monkeypatch):
    """The log's last row is the last step trained, even between the every-25-steps rows (the GPU
    recipe reads its throughput probe's speed from it)."""
    import csv

    cfg = TrainConfig(model="nano", steps=100, stop_at=7, batch=2, crop=64, save_every=1000, val_every=1000,
                      warmup=1, threads=1)
    import edgefill_export.train as train_module

    bars = []

    class Bar(train_module.tqdm):
        def __init__(self, *a, **kw):
            bars.append(kw)
            super().__init__(*a, **kw)

    monkeypatch.setattr(train_module, "tqdm", Bar)
    train(cfg, tmp_path, photos)
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert [r["step"] for r in rows] == ["7"] and float(rows[0]["loss"]) > 0
    assert [b["total"] for b in bars if b.get("unit") == "step"] == [7]  # its ETA was to step 100


def test_min_scale_sets_how_much_of_a_photo_a_crop_may_cover():
    """A horizontal ramp 0..255 over 1024 px: a crop's range of values measures its side before
    rescaling. At 1x-0.25x a 64 px crop comes from at most 256 px (a range <= 64 levels); with
    --min-scale 0.1 some come from up to 640 px."""
    import numpy as np

    from edgefill_export.train import CropSampler

    ramp = np.broadcast_to(np.linspace(0, 255, 1024)[None, :, None], (1024, 1024, 3)).astype(np.uint8)

    def widest(min_scale):
        sampler = CropSampler([ramp], 64, 0.5, min_scale=min_scale)
        rng = np.random.default_rng(0)
        return max(int(p.max()) - int(p.min()) for p in (sampler.crop_one(rng) for _ in range(200)))

    assert widest(0.25) <= 66
    assert 100 < widest(0.1) <= 162


def test_channel_shuffle_permutes_colours_of_the_same_crops_and_masks():
    """--channel-shuffle P: about P of the crops come with their colour channels in another
    order; the crops and masks themselves are those of a run without it."""
    import numpy as np

    from edgefill_export.train import CropSampler

    rng = np.random.default_rng(3)
    photo = np.stack([rng.integers(0, 80, (300, 300)), rng.integers(90, 170, (300, 300)),
                      rng.integers(180, 255, (300, 300))], -1).astype(np.uint8)  # B < G < R everywhere
    plain = CropSampler([photo], 64, 0.5)
    shuffled = CropSampler([photo], 64, 0.5, channel_shuffle=0.5)
    x0, v0 = plain.batch(200, np.random.default_rng(7))
    x1, v1 = shuffled.batch(200, np.random.default_rng(7))
    assert torch.equal(v0, v1)
    assert torch.equal(x0.sort(dim=1).values, x1.sort(dim=1).values)  # the same values per pixel
    moved = (x0 != x1).flatten(1).any(1).float().mean().item()
    assert 0.35 < moved < 0.65
    means = x1.mean(dim=(2, 3))
    assert (means[:, 0] > means[:, 2]).any()  # some crops now have more blue than red
    with pytest.raises(ValueError, match="share of the crops"):
        CropSampler([photo], 64, 0.5, channel_shuffle=1.5)


def _teacher():
    from edgefill.models import MODELS_DIR

    return str(MODELS_DIR / "lite.safetensors")


def test_distillation_pulls_the_fill_towards_the_teacher(tmp_path, photos):
    """Trained on the distill term alone, the student's hole fill ends closer to the teacher's
    than where it started; the term is logged."""
    import csv

    import numpy as np

    from edgefill_export.model import build_model
    from edgefill_export.train import CropSampler, load_photos

    cfg = TrainConfig(model="nano", steps=8, batch=2, crop=64, save_every=1000, val_every=1000, warmup=1, lr=2e-3,
                      hole_weight=0, valid_weight=0, tv_weight=0, teacher=_teacher(), distill_weight=100.0, threads=1)
    torch.manual_seed(cfg.seed)  # train() seeds the same way before it builds the student
    start = build_model("nano").eval()
    out = train(cfg, tmp_path, photos)
    assert float(list(csv.DictReader((tmp_path / "log.csv").open()))[-1]["distill"]) > 0
    teacher, student = load_weights(Path(cfg.teacher)).eval(), load_weights(out).eval()
    x, valid = CropSampler(load_photos(photos), 64, 0.5).batch(4, np.random.default_rng(5))
    with torch.no_grad():
        t = teacher(x, valid).clamp(-1, 1)

        def gap(m):
            return float((((m(x, valid) - t) ** 2) * (1 - valid)).mean())

        assert gap(student) < 0.9 * gap(start)  # 0.78x after 8 steps; without the term nothing trains


def test_distillation_resumes_bit_identically(tmp_path, photos):
    _assert_resume_is_bit_identical(tmp_path, photos, teacher=_teacher(), distill_weight=10.0)


@pytest.mark.parametrize("kw,msg", [({"distill_weight": 1.0}, "needs both"),
                                    ({"distill_weight": 1.0, "teacher": "nope.safetensors"}, "no such file")])
def test_distillation_settings_are_checked(tmp_path, photos, kw, msg):
    with pytest.raises(SystemExit, match=msg):
        train(_cfg(1, **kw), tmp_path, photos)


def test_a_resumed_run_after_a_crash_does_not_log_a_step_twice(tmp_path, photos, monkeypatch):
    """A run that dies after its last checkpoint (OOM, kill -9) has logged steps it trains again
    when resumed: the log is cut back to the checkpoint's step, so every step appears once."""
    import csv

    import edgefill_export.train as train_mod

    cfg = TrainConfig(model="nano", steps=80, batch=2, crop=64, save_every=50, val_every=1000, warmup=1, threads=1)
    real, calls = train_mod.loss_fn, []

    def crash_at_step_76(*args, **kwargs):
        calls.append(1)
        if len(calls) == 76:
            raise RuntimeError("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "loss_fn", crash_at_step_76)
    with pytest.raises(RuntimeError, match="simulated"):
        train(cfg, tmp_path, photos)
    with (tmp_path / "log.csv").open("a", newline="") as f:
        f.write("76,3.2,1e-4,0.5")  # a row the crash cut short
    monkeypatch.setattr(train_mod, "loss_fn", real)
    train(cfg, tmp_path, photos)
    rows = list(csv.reader((tmp_path / "log.csv").open(newline="")))
    assert [r[0] for r in rows] == ["step", "25", "50", "75", "80"]
    assert all(len(r) == len(rows[0]) for r in rows)


def test_an_interrupt_inside_a_step_checkpoints_after_the_step(tmp_path, photos, monkeypatch):
    """SIGTERM (or Ctrl-C) arriving inside ``opt.step()`` must not checkpoint a half-made step
    under the previous step's number: the run stops at the step boundary, and the resumed run is
    still bit-identical to an uninterrupted one."""
    import os
    import signal

    straight = train(_cfg(4), tmp_path / "a", photos)
    real, calls = torch.optim.Adam.step, []

    def step_then_signal(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", step_then_signal)
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(4), tmp_path / "b", photos)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    monkeypatch.setattr(torch.optim.Adam, "step", real)
    resumed = train(_cfg(4), tmp_path / "b", photos)
    a, b = load_weights(straight).state_dict(), load_weights(resumed).state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=0, rtol=0, msg=k)


@pytest.mark.parametrize("args,msg", [(["--save-every", "0"], "--save-every must be at least 1"),
                                      (["--batch", "0"], "--batch must be at least 1"),
                                      (["--crop", "60"], "--crop must be a multiple of 64"),
                                      (["--model", "huge"], "unknown --model 'huge'"),
                                      (["--max-hole", "1.5"], r"--max-hole must be in \(0, 1\]")])
def test_bad_numbers_are_refused_in_one_line_before_any_work(tmp_path, photo_dir, args, msg):
    from edgefill_export.train import main

    with pytest.raises(SystemExit, match=msg):
        main(["--model", "nano", "--crop", "64", "--out", str(tmp_path), "--images", str(photo_dir), *args])
    assert not (tmp_path / "log.csv").exists()


def test_cuda_without_a_gpu_is_a_one_line_error(tmp_path, photos, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="sees no CUDA GPU"):
        train(TrainConfig(model="nano", steps=1, crop=64, device="cuda"), tmp_path, photos)


@pytest.mark.parametrize("device", ["gpu", "mps", "meta", "cuda:x", "cuda:"])
def test_a_device_that_is_not_cpu_or_cuda_is_a_one_line_error_before_any_work(tmp_path, photos, device):
    """It was a PyTorch traceback after the photos had loaded ("meta" left a run folder with a
    log.csv header only)."""
    with pytest.raises(SystemExit, match="--device must be cpu, cuda or cuda:N"):
        train(TrainConfig(model="nano", steps=1, crop=64, device=device), tmp_path / "run", photos)
    assert not (tmp_path / "run").exists()


def test_the_command_reports_a_missing_folder_and_a_checkpoint_of_another_model(tmp_path, photo_dir, capsys):
    from edgefill_export.train import main

    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "x"), "--images", str(tmp_path / "missing")])
    assert "not a folder" in capsys.readouterr().err
    train(_cfg(2), tmp_path / "run", sorted(photo_dir.iterdir()))
    assert main(["--model", "lite", "--steps", "2", "--crop", "64", "--out", str(tmp_path / "run"),
                 "--images", str(photo_dir)]) == 2
    assert "holds model 'nano', not 'lite'" in capsys.readouterr().err
    assert main(["--model", "nano", "--steps", "2", "--crop", "64", "--out", str(tmp_path / "new"),
                 "--images", str(photo_dir), "--init", str(tmp_path / "nope.safetensors")]) == 2
    assert "nope.safetensors does not exist" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()  # the refused run left no empty folder behind
    assert main(["--model", "nano", "--steps", "2", "--crop", "64", "--out", str(tmp_path / "a" / "b"),
                 "--images", str(photo_dir), "--init", str(tmp_path / "nope.safetensors")]) == 2
    assert not (tmp_path / "a").exists()


def test_resuming_with_other_settings_says_so_and_uses_the_new_lr_multiplier(tmp_path, photos, capsys):
    from dataclasses import asdict

    from edgefill_export.train import resume_notes

    train(_cfg(2, context=True, context_lr_mult=10.0), tmp_path, photos)
    capsys.readouterr()
    seen = {}
    real_adam = torch.optim.Adam

    class Spy(real_adam):
        def step(self, *a, **k):
            seen["mults"] = [g.get("lr_mult", 1.0) for g in self.param_groups]
            return super().step(*a, **k)

    torch.optim.Adam = Spy
    try:
        train(_cfg(3, context=True, context_lr_mult=3.0), tmp_path, photos)
    finally:
        torch.optim.Adam = real_adam
    err = capsys.readouterr().err
    assert "--context-lr-mult 10.0 -> 3.0" in err and seen["mults"] == [1.0, 3.0]
    saved = asdict(_cfg(100, gan_weight=0.01))
    notes = resume_notes(saved, _cfg(50), 100, tmp_path / "checkpoint.safetensors")
    assert any("past --steps 50" in n for n in notes) and any("discriminator" in n for n in notes)
    longer = resume_notes(asdict(_cfg(4)), _cfg(8), 4, tmp_path)  # a longer run is not a changed setting,
    assert len(longer) == 1 and "the run's total" in longer[0]  # but its schedule is stretched (test_review_train)


def test_weights_given_as_a_checkpoint_are_a_checkpoint_error(tmp_path):
    from edgefill_export.model import build_model
    from edgefill_export.weights import load_checkpoint, save_weights

    model = build_model("nano")
    save_weights(model, tmp_path / "w.safetensors")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "w.safetensors", model, torch.optim.Adam(model.parameters()))


def test_only_blocks_the_init_weights_lack_learn_faster_and_a_resume_keeps_the_groups(tmp_path, photos):
    """--context-lr-mult speeds up the blocks a fine-tune *adds* (they start as no-ops); a
    context block that the --init weights already trained learns at the base rate, like the rest.
    A resumed run rebuilds the groups it started with (recorded in the checkpoint)."""
    from edgefill_export.model import build_model
    from edgefill_export.train import init_from
    from edgefill_export.weights import checkpoint_state, save_weights

    save_weights(build_model("nano", context=True), tmp_path / "ctx.safetensors")
    assert init_from(build_model("nano", context=True), tmp_path / "ctx.safetensors") == ()
    assert init_from(build_model("nano", context=True, refine=8), tmp_path / "ctx.safetensors") == ("refine.",)
    save_weights(build_model("nano"), tmp_path / "plain.safetensors")
    assert init_from(build_model("nano", context=True), tmp_path / "plain.safetensors") == ("context.",)

    seen = []
    real_adam = torch.optim.Adam

    class Spy(real_adam):
        def step(self, *a, **k):
            seen.append([(len(g["params"]), g.get("lr_mult", 1.0)) for g in self.param_groups])
            return super().step(*a, **k)

    torch.optim.Adam = Spy
    try:
        cfg = _cfg(2, context=True, refine=4, context_lr_mult=10.0)
        train(cfg, tmp_path / "ft", photos, init=tmp_path / "ctx.safetensors")
        assert checkpoint_state(tmp_path / "ft" / "checkpoint.safetensors")["fast_blocks"] == ["refine."]
        train(_cfg(3, context=True, refine=4, context_lr_mult=10.0), tmp_path / "ft", photos)
        train(_cfg(1, context=True, context_lr_mult=10.0), tmp_path / "scratch", photos)
    finally:
        torch.optim.Adam = real_adam
    head = len(list(build_model("nano", refine=4).refine.parameters()))
    assert seen[0][1] == (head, 10.0) and seen[0][0][1] == 1.0  # the trained context block is in the rest
    assert seen[2] == seen[0]  # the resumed step
    assert seen[3][1] == (4, 10.0)  # from scratch: the context block (4 tensors) is new


def test_freeze_bn_keeps_the_init_running_statistics_and_still_trains_the_weights(tmp_path, photos):
    """--freeze-bn: every BatchNorm normalises with the --init weights' running statistics and
    keeps them (validation does not switch them back to training mode); the rest learns."""
    from edgefill_export.model import build_model
    from edgefill_export.weights import save_weights

    start = build_model("nano")
    save_weights(start, tmp_path / "init.safetensors")
    before = start.state_dict()

    def changed(run):
        after = load_weights(tmp_path / run / "nano.safetensors").state_dict()
        stats = {k for k in before if k.endswith(("running_mean", "running_var"))}
        moved = {k for k in before if not torch.equal(before[k], after[k])}
        return moved & stats, moved - stats

    train(_cfg(4, freeze_bn=True), tmp_path / "frozen", photos, init=tmp_path / "init.safetensors")
    stats, weights = changed("frozen")
    assert not stats and weights  # validation ran at step 2 and 4: BN stayed frozen after it
    train(_cfg(4), tmp_path / "free", photos, init=tmp_path / "init.safetensors")
    stats, weights = changed("free")
    assert stats and weights


def test_a_fine_tune_carries_the_init_weights_inference_options_also_through_a_resume(tmp_path, photos):
    """Regression: the weights of a fine-tune of the shipped nano recorded no fill smoothing and
    no NS mix gate, so shipping them without the flags dropped both. A run resumed from its
    checkpoint (which builds the model afresh) keeps them too."""
    from edgefill.models import MODELS_DIR

    init = MODELS_DIR / "nano.safetensors"
    want = load_weights(init).config
    assert want.fill_passes and want.refill.to_dict()  # the shipped nano records both
    cfg = lambda steps: _cfg(steps, context=True, lr=1e-9)  # noqa: E731
    train(cfg(2), tmp_path / "ft", photos, init=init)
    resumed = load_weights(train(cfg(4), tmp_path / "ft", photos)).config
    assert (resumed.fill_passes, resumed.refill) == (want.fill_passes, want.refill)
    fresh = load_weights(train(cfg(2), tmp_path / "scratch", photos)).config
    assert (fresh.fill_passes, fresh.refill.to_dict()) == (0, {})


def test_rot90_turns_each_crop_by_a_random_quarter(photo_dir):
    """--rot90: the crop a run without it draws from the same generator state, turned by 0-3
    quarter turns (all four seen)."""
    import numpy as np

    from edgefill_export.train import CropSampler, load_photos

    imgs = load_photos(sorted(photo_dir.iterdir()))
    plain, turned = CropSampler(imgs, 48, 0.5), CropSampler(imgs, 48, 0.5, rot90=True)
    seen = set()
    for seed in range(24):
        a, b = plain.crop_one(np.random.default_rng(seed)), turned.crop_one(np.random.default_rng(seed))
        k = [q for q in range(4) if np.array_equal(np.rot90(a, q), b)]
        assert len(k) == 1
        seen.add(k[0])
    assert seen == {0, 1, 2, 3}


def test_the_validator_psnr_alone_is_the_first_score(photo_dir):
    """The training-photo score (``Validator.psnr``, no SSIM) is the PSNR the full call reports."""
    from edgefill_export.model import build_model
    from edgefill_export.train import Validator, load_photos

    torch.manual_seed(0)
    model = build_model("nano")
    validator = Validator(load_photos(sorted(photo_dir.iterdir())), 64, n=4)
    psnr, ssim = validator(model, "cpu")
    assert validator.psnr(model, "cpu") == psnr and 0 < ssim < 1
