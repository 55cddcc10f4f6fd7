"""What a device profile gives `edgefill run`, `export`, `build-engine` and `bench`: the model at
the profile's precision, a TensorRT preference that cannot take a shipped model name answered
with `auto` and a warning, the profile itself passed on to the TensorRT backend (the engine key
`build-engine --profile` used), an empty --profile refused, and a profile file read by its path
whatever it is called."""

from __future__ import annotations

import argparse
import logging

import pytest
import yaml

from edgefill import cli
from edgefill.backends import Availability
from edgefill.backends.tensorrt import TensorRTBackend
from edgefill.errors import BackendUnavailableError, ConfigError
from edgefill.profiles import DeviceProfile, profiles_dir

from .fakes import fake_export_toolchain


def _args(**given) -> argparse.Namespace:
    base = dict(profile=None, backend=None, model=None, deadline_ms=None, threads=None, buckets=None)
    return argparse.Namespace(**{**base, **given})


def _copy(folder, shipped, as_name, **runtime):
    data = yaml.safe_load((profiles_dir() / f"{shipped}.yaml").read_text())
    data["name"] = as_name
    data["runtime"].update(runtime)
    path = folder / f"{as_name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def tensorrt_installed(monkeypatch):
    """As on a Jetson: tensorrt and pycuda import (is_available only looks them up)."""
    monkeypatch.setattr(TensorRTBackend, "is_available", classmethod(lambda cls: Availability(True)))


def test_a_tensorrt_profile_without_a_bundle_runs_auto_and_says_how_to_make_one(tensorrt_installed, caplog):
    """`run --profile orin-nano` on a Jetson stopped with "backend 'tensorrt' is unavailable: needs
    an export bundle ..., not 'lite'": every shipped Jetson profile names a shipped model."""
    args = _args(profile="orin-nano")
    with caplog.at_level(logging.WARNING, logger="edgefill.cli"):
        cli._apply_profile(args)
    assert args.backend == "auto"
    assert "edgefill export --profile orin-nano -o BUNDLE, then pass --model BUNDLE" in caplog.text


def test_a_tensorrt_profile_with_a_bundle_keeps_tensorrt(tensorrt_installed, tmp_path):
    (tmp_path / "bundle.json").write_text('{"tensorrt": {"onnx": "model.trt.onnx"}}')
    args = _args(profile="orin-nano", model=str(tmp_path))
    cli._apply_profile(args)
    assert (args.backend, args.model) == ("tensorrt", str(tmp_path))


@pytest.mark.parametrize("shipped, precision, model, expected", [
    ("x86-cpu", "int8", None, "lite.int8"),   # bench --profile measured lite.int8; run ran lite
    ("x86-cpu", "fp32", None, "lite"),
    ("rpi5", "int8", None, "nano.int8"),
    ("rpi5", "fp16", None, "nano"),           # no shipped fp16 graph: the FP32 one
    ("x86-cpu", "int8", "nano", "nano"),      # an explicit --model is run as given
    ("orin-nano", "int8", None, "lite"),      # TensorRT's int8 given up for auto: not the CPU INT8 graph
])
def test_run_takes_the_profiles_model_at_its_precision(tmp_path, shipped, precision, model, expected):
    args = _args(profile=str(_copy(tmp_path, shipped, "board", precision=precision)), model=model)
    cli._apply_profile(args)
    assert args.model == expected


def test_run_passes_the_profile_to_the_tensorrt_backend(tmp_path, monkeypatch):
    """The engine `build-engine BUNDLE --profile orin-nx` built was never used: the run keyed its
    engine on the bundle's recorded profile and rebuilt it on the board."""
    import edgefill.capture
    import edgefill.inpainter
    from edgefill.errors import InputError

    seen = {}

    def fake_inpainter(**kwargs):
        seen.update(kwargs)
        raise InputError("stopped here")

    monkeypatch.setattr(edgefill.capture, "open_source", lambda uri, options=None: object())
    monkeypatch.setattr(edgefill.inpainter, "Inpainter", fake_inpainter)
    common = ["run", "c.mp4", "--mask", "rect:0,0,5,5", "--stats-json", str(tmp_path / "s.json")]
    assert cli.main([*common, "--profile", "orin-nx"]) == 2
    assert seen["profile"].name == "orin-nx"
    seen.clear()
    assert cli.main([*common, "--profile", "orin-nx", "--backend", "onnxruntime"]) == 2
    assert "profile" not in seen  # an option ONNX Runtime would only warn about
    seen.clear()
    assert cli.main(common) == 2
    assert "profile" not in seen


@pytest.mark.parametrize("command", [
    ["run", "c.mp4", "--mask", "rect:0,0,5,5", "--stats-json", "s.json"],
    ["export", "-o", "b"],
    ["build-engine", "b"],
    ["bench", "--warmup", "0", "--reps", "1"],
])
def test_an_empty_profile_is_refused(tmp_path, monkeypatch, capsys, command):
    """`--profile "$BOARD"` with BOARD unset ran without a profile: export wrote a bundle with no
    TensorRT part, found out only on the board."""
    monkeypatch.chdir(tmp_path)
    assert cli.main([*command, "--profile", ""]) == 2
    assert "the profile is empty: give a NAME" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_export_takes_the_profiles_model(tmp_path, monkeypatch, capsys):
    """The jetson-nano and rpi5 bundles carried lite, not the nano their budgets were set for."""
    seen = []

    def export_bundle(req, **kwargs):
        seen.append(req.model)
        raise ValueError("stop here")

    fake_export_toolchain(monkeypatch, export_bundle)
    for given, expected in (([], "nano"), (["--model", "lite"], "lite")):
        assert cli.main(["export", "--profile", "jetson-nano", *given, "-o", str(tmp_path / "b")]) == 2
        assert seen[-1] == expected
    assert cli.main(["export", "-o", str(tmp_path / "b")]) == 2
    assert seen[-1] == "lite"


@pytest.mark.parametrize("name", ["my-board.json", "My-Board.YAML", "my-board", "sub/my-board.txt"])
def test_a_profile_file_is_read_by_its_path_whatever_its_name(tmp_path, monkeypatch, name):
    """`profiles show NAME > my-board.json` (JSON, which YAML reads) and then `--profile
    my-board.json` was "unknown profile"; so was any name without .yaml/.yml."""
    import json

    monkeypatch.chdir(tmp_path)
    path = tmp_path / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(DeviceProfile.load("orin-nano").to_dict()))
    assert DeviceProfile.load(name).name == "orin-nano"
    with pytest.raises(ConfigError, match="unknown profile 'no-such-board'"):
        DeviceProfile.load("no-such-board")


def test_a_shipped_name_wins_over_a_file_of_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rpi5").write_text("not a profile")
    assert DeviceProfile.load("rpi5").name == "rpi5"


@pytest.mark.parametrize("source", ["/dev/video0", "0"])
def test_a_camera_source_run_cannot_open_is_refused_when_the_profile_loads(tmp_path, source):
    data = yaml.safe_load((profiles_dir() / "x86-cpu.yaml").read_text())
    data["runtime"]["camera"].update(source=source, fourcc=None)
    path = tmp_path / "x86-cpu.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=f"camera.source '{source}' is a camera: write it as v4l2://{source}"):
        DeviceProfile.load(path)


@pytest.mark.parametrize("scheme", ["rtsp", "rstp"])
def test_a_profiles_camera_password_is_never_printed(tmp_path, monkeypatch, capsys, scheme):
    data = yaml.safe_load((profiles_dir() / "x86-cpu.yaml").read_text())
    data["runtime"]["camera"].update(source=f"{scheme}://admin:S3cret@127.0.0.1:9/stream", fourcc=None)
    path = tmp_path / "x86-cpu.yaml"
    path.write_text(yaml.safe_dump(data))
    import edgefill.capture

    def stop(uri, options=None):
        raise ConfigError("stopped here")

    monkeypatch.setattr(edgefill.capture, "open_source", stop)
    assert cli.main(["run", "--profile", str(path), "--mask", "rect:0,0,5,5", "--stats-json",
                     str(tmp_path / "s.json")]) == 2
    err = capsys.readouterr().err
    assert "S3cret" not in err and ("stopped here" in err) == (scheme == "rtsp")


def test_bench_refuses_tensorrt_with_a_shipped_model_before_measuring(tensorrt_installed, monkeypatch):
    """`bench --profile orin-nano` on a Jetson timed the machine's GEMM peak, then stopped."""
    from edgefill import bench

    monkeypatch.setattr(bench, "gemm_peak_gflops", lambda p: pytest.fail("measured before the check"))
    with pytest.raises(BackendUnavailableError, match="needs an export bundle or an .engine file, not 'lite.int8'"):
        bench.run_bench(["lite"], ["tensorrt"], ["int8"], [64], warmup=0, reps=1)
