"""Review of device profiles: a profile found by name carries that name, `profiles list` lists
the good profiles beside a broken one, and a csi:// camera rate the camera refuses is refused."""

from __future__ import annotations

import pytest
import yaml

from edgefill.cli import main
from edgefill.errors import ConfigError
from edgefill.profiles import DeviceProfile, profiles_dir


def _copy(folder, shipped, as_name, **camera):
    data = yaml.safe_load((profiles_dir() / f"{shipped}.yaml").read_text())
    data["runtime"]["camera"].update(camera)
    path = folder / f"{as_name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_profile_found_by_name_must_carry_that_name(tmp_path, monkeypatch):
    """A copy of orin-nano.yaml saved as my-board.yaml was listed as my-board, while `profiles show
    my-board`, `run --profile my-board` and bundle.json all called it orin-nano."""
    path = _copy(tmp_path, "orin-nano", "my-board")
    monkeypatch.setenv("EDGEFILL_PROFILES", str(tmp_path))
    with pytest.raises(ConfigError, match=r"^my-board\.yaml: name: 'orin-nano', but .*make it name: my-board"):
        DeviceProfile.load("my-board")
    assert DeviceProfile.load(path).name == "orin-nano"  # a file passed by its path may keep any name


def test_profiles_list_shows_the_good_profiles_beside_a_broken_one(tmp_path, monkeypatch, capsys):
    """One bad file in $EDGEFILL_PROFILES made `profiles list` print only its error."""
    _copy(tmp_path, "rpi5", "rpi5")
    (tmp_path / "bad.yaml").write_text("name: bad\n")
    monkeypatch.setenv("EDGEFILL_PROFILES", str(tmp_path))
    assert main(["profiles", "list"]) == 2
    out, err = capsys.readouterr()
    assert out.startswith("rpi5 ") and "bad.yaml: missing key 'description'" in err


@pytest.mark.parametrize("source,fps,refused", [("csi://0", 0.5, True), ("csi://0", 1, False),
                                                ("v4l2:///dev/video0", 0.5, False)])
def test_a_csi_camera_below_one_fps_is_refused_when_the_profile_loads(tmp_path, source, fps, refused):
    """It passed, and `run --profile` failed only when the camera opened, after the model loaded."""
    path = _copy(tmp_path, "orin-nano", "orin-nano", source=source, fps=fps)
    if refused:
        with pytest.raises(ConfigError, match="camera.fps must be at least 1 for a csi:// camera"):
            DeviceProfile.load(path)
    else:
        assert DeviceProfile.load(path).runtime.camera.fps == fps


@pytest.mark.parametrize("key, value, says", [
    ("tensorrt", "8.x", "board.tensorrt must be a version such as 8.6 or 10.3, got '8.x'"),
    ("tensorrt", "7.1", "board.tensorrt 7.1: edgefill builds engines with TensorRT 8.2 to 10.x"),
    ("tensorrt", "11.0", "board.tensorrt 11.0: edgefill builds engines with TensorRT 8.2 to 10.x"),
    ("jetpack", "six", "board.jetpack must be a version"),
    ("compute_capability", "sm_87", "board.compute_capability must be a version"),
])
def test_board_versions_are_checked_when_the_profile_loads(tmp_path, key, value, says):
    """"8.x" was an int() error naming neither the profile nor the key, after an export had built
    and gated its FP32 graph; "7.1" an opset error at the same point."""
    data = yaml.safe_load((profiles_dir() / "orin-nano.yaml").read_text())
    data["board"][key] = value
    path = tmp_path / "orin-nano.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=f"profile orin-nano: {says}"):
        DeviceProfile.load(path)


def test_a_yml_profile_is_found_by_name_and_listed(tmp_path, monkeypatch, capsys):
    """A .yml profile was read by its path only: by name it was unknown, and `profiles list`
    printed nothing."""
    data = yaml.safe_load((profiles_dir() / "rpi5.yaml").read_text())
    (tmp_path / "rpi5.yml").write_text(yaml.safe_dump(data))
    monkeypatch.setenv("EDGEFILL_PROFILES", str(tmp_path))
    assert DeviceProfile.load("rpi5").name == "rpi5"
    assert main(["profiles", "list"]) == 0
    assert capsys.readouterr().out.startswith("rpi5 ")
