import csv

import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.ema import WeightAverage, decay_at  # noqa: E402
from edgefill_export.model import build_model  # noqa: E402
from edgefill_export.train import TrainConfig, train  # noqa: E402
from edgefill_export.weights import load_weights, recorded_model  # noqa: E402


def _cfg(steps, **kw):
    return TrainConfig(model="nano", steps=steps, batch=2, crop=64, save_every=2, val_every=2, warmup=2, threads=1, **kw)


def _state(path):
    return load_weights(path).state_dict()


def test_the_average_is_the_mean_of_the_weights_it_was_given():
    torch.manual_seed(0)
    model = build_model("nano")
    avg = WeightAverage(model, 0.5)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    avg.update(model, step=1000)  # past the warm-up: decay 0.5, halfway
    got = dict(avg.module.named_parameters())
    for name, _ in model.named_parameters():
        torch.testing.assert_close(got[name], start[name] + 0.5, msg=name)
    for name, b in model.named_buffers():  # BatchNorm statistics are taken as they are
        torch.testing.assert_close(dict(avg.module.named_buffers())[name], b, msg=name)
    assert not any(p.requires_grad for p in avg.module.parameters())


def test_the_decay_warms_up_to_the_given_one():
    assert decay_at(0, 0.999) == pytest.approx(0.1)
    assert decay_at(90, 0.999) == pytest.approx(91 / 100)
    assert decay_at(100_000, 0.999) == 0.999
    with pytest.raises(ValueError, match="above 0 and below 1"):
        WeightAverage(build_model("nano"), 1.0)


def test_a_run_with_ema_writes_the_average_and_the_trained_weights_and_logs_both(tmp_path, photos):
    out = train(_cfg(4, ema=0.9), tmp_path, photos)
    trained = tmp_path / "nano.trained.safetensors"
    assert recorded_model(out) == recorded_model(trained) == "nano"
    a, b = _state(out), _state(trained)
    key = "encoders.0.conv.weight"
    assert not torch.equal(a[key], b[key])  # the average lags the trained weights
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    last = rows[-1]
    assert last["step"] == "4" and last["val_hole_psnr"] and last["trained_val_hole_psnr"]
    assert last["val_hole_psnr"] != last["trained_val_hole_psnr"]


def test_without_ema_the_weights_are_the_trained_ones_and_no_second_file(tmp_path, photos):
    train(_cfg(2), tmp_path, photos)
    assert not (tmp_path / "nano.trained.safetensors").exists()
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert rows[-1]["trained_val_hole_psnr"] == ""


def test_a_resumed_ema_run_is_bit_identical_to_an_uninterrupted_one(tmp_path, photos):
    straight = train(_cfg(4, ema=0.9), tmp_path / "a", photos)
    train(_cfg(2, ema=0.9), tmp_path / "b", photos)
    resumed = train(_cfg(4, ema=0.9), tmp_path / "b", photos)
    for name in (straight.name, "nano.trained.safetensors"):
        a, b = _state(tmp_path / "a" / name), _state(tmp_path / "b" / name)
        for k in a:
            torch.testing.assert_close(a[k], b[k], atol=0, rtol=0, msg=f"{name}: {k}")
    assert resumed.name == straight.name


def test_ema_added_on_resume_starts_at_the_checkpoint_and_dropped_ema_is_said(tmp_path, photos, capsys):
    train(_cfg(2), tmp_path, photos)
    train(_cfg(4, ema=0.9), tmp_path, photos)
    assert "holds no weight average" in capsys.readouterr().err
    train(_cfg(6), tmp_path, photos)
    assert "leaves out" in capsys.readouterr().err


@pytest.mark.parametrize("decay", [1.0, -0.1, 1.5])
def test_bad_decays_are_refused_in_one_line(tmp_path, photos, decay):
    with pytest.raises(SystemExit, match="--ema is a decay"):
        train(_cfg(1, ema=decay), tmp_path / "r", photos)
