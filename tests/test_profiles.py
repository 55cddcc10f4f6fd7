import pytest
import yaml

from edgefill.cli import main
from edgefill.errors import ConfigError
from edgefill.profiles import DeviceProfile, list_profiles, profiles_dir

BOARDS = {"jetson-nano", "xavier-nx", "orin-nano", "orin-nx", "agx-orin", "rpi5", "x86-cpu"}


def test_every_board_has_a_valid_profile():
    assert BOARDS <= set(list_profiles())
    for name in list_profiles():
        p = DeviceProfile.load(name)
        assert p.name == name and p.runtime.latency_budget_ms > 0


def test_board_facts():
    nano = DeviceProfile.load("jetson-nano")
    assert nano.board.tensorrt == "8.2" and nano.board.jetpack == "4.6" and not nano.board.int8_tensor_cores
    assert nano.runtime.precision == "fp16"
    assert DeviceProfile.load("rpi5").runtime.backend == "onnxruntime"
    assert DeviceProfile.load("rpi5").runtime.camera.source.startswith("picam://")
    assert DeviceProfile.load("xavier-nx").board.dla_cores == 2


def _write(tmp_path, mutate):
    data = yaml.safe_load((profiles_dir() / "orin-nx.yaml").read_text())
    mutate(data)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["runtime"].update(turbo=True), "unknown key"),
    (lambda d: d["board"].update(memory_gb="lots"), "memory_gb"),
    (lambda d: d["runtime"].update(precision="int4"), "precision"),
    (lambda d: d["runtime"].update(buckets=[256, 300]), "multiples of 64"),
    (lambda d: d["runtime"].update(use_dla=True, dla_core=5), "dla_core"),
    (lambda d: d["board"].update(int8_tensor_cores=False), "INT8"),
    (lambda d: d["runtime"].pop("model"), "missing key"),
    (lambda d: d["runtime"]["camera"].update(iso=800), "unknown key"),
])
def test_schema_rejects(tmp_path, mutate, message):
    with pytest.raises(ConfigError, match=message):
        DeviceProfile.load(_write(tmp_path, mutate))


def test_unknown_profile_lists_known():
    with pytest.raises(ConfigError, match="orin-nano"):
        DeviceProfile.load("tx2")


def test_cli_list_and_show(capsys):
    assert main(["profiles", "list"]) == 0
    out = capsys.readouterr().out
    assert all(b in out for b in BOARDS)
    assert main(["profiles", "show", "orin-nano"]) == 0
    assert '"compute_capability": "8.7"' in capsys.readouterr().out
    assert main(["profiles", "show", "nope"]) == 2
