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
