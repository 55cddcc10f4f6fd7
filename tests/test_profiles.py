import pytest
import yaml

from edgefill.cli import main
from edgefill.errors import ConfigError
from edgefill.profiles import DeviceProfile, list_profiles, profiles_dir

BOARDS = {"jetson-nano", "xavier-nx", "orin-nano", "orin-nano-super", "orin-nx", "orin-nx-super", "agx-orin",
          "agx-orin-jp62", "rpi5", "x86-cpu"}


def test_every_board_has_a_valid_profile():
    assert BOARDS <= set(list_profiles())
    for name in list_profiles():
        p = DeviceProfile.load(name)
        assert p.name == name and p.runtime.latency_budget_ms > 0


def test_board_facts():
    nano = DeviceProfile.load("jetson-nano")
    assert nano.board.tensorrt == "8.2" and nano.board.jetpack == "4.6.1" and not nano.board.int8_tensor_cores
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
    # accepted before: values no board or camera can have
    (lambda d: d["runtime"]["camera"].update(width=0), "camera.width"),
    (lambda d: d["runtime"]["camera"].update(height=-720), "camera.height"),
    (lambda d: d["runtime"]["camera"].update(fps=-30), "camera.fps"),
    (lambda d: d["runtime"]["camera"].update(fps=float("nan")), "camera.fps"),
    (lambda d: d["runtime"]["camera"].update(flip=12), "camera.flip"),
    (lambda d: d["runtime"]["camera"].update(source="bogus://x"), "unknown scheme bogus"),
    (lambda d: d["runtime"]["camera"].update(source=" "), "camera.source"),
    (lambda d: d["runtime"].update(buckets=[0, 64]), "positive multiples of 64"),
    (lambda d: d["runtime"].update(threads=-3), "threads"),
    (lambda d: d["runtime"].update(workspace_mb=-1), "workspace_mb"),
    (lambda d: d["runtime"].update(latency_budget_ms=float("nan")), "latency_budget_ms"),
    (lambda d: d["runtime"].update(latency_budget_ms=float("inf")), "latency_budget_ms"),
    (lambda d: d["board"].update(memory_gb=-8), "memory_gb"),
    (lambda d: d["board"].update(dla_cores=-1), "dla_cores"),
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
    lines = out.splitlines()  # the columns line up, the longest name (orin-nano-super) included
    assert len({line.index(line.split()[1]) for line in lines}) == 1
    assert main(["profiles", "show", "orin-nano"]) == 0
    assert '"compute_capability": "8.7"' in capsys.readouterr().out
    assert main(["profiles", "show", "nope"]) == 2


def test_the_reviewers_bad_profile_is_rejected(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("""name: bad
description: validation gaps
board: {soc: x, cpu: y, memory_gb: 8}
runtime:
  backend: onnxruntime
  precision: fp32
  model: lite
  buckets: [64]
  latency_budget_ms: .nan
  camera: {source: "bogus://x", width: 0, height: -720, fps: -30, flip: 12}
""")
    with pytest.raises(ConfigError, match="latency_budget_ms"):
        DeviceProfile.load(path)


def test_every_shipped_camera_source_opens_a_known_scheme():
    from edgefill.capture import scheme_of, source_class

    for name in list_profiles():
        cam = DeviceProfile.load(name).runtime.camera
        source_class(scheme_of(cam.source))  # raises for an unknown scheme
        assert cam.width > 0 and cam.height > 0 and cam.fps > 0 and 0 <= cam.flip <= 7


def _raw(tmp_path, text):
    path = tmp_path / "raw.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _shipped_text() -> str:
    return (profiles_dir() / "x86-cpu.yaml").read_text()


@pytest.mark.parametrize("extra", ["\n1: x\n", "\n1: x\nfoo: y\n", "\n~: x\n"])
def test_non_string_keys_are_unknown_keys_not_type_errors(tmp_path, extra):
    """sorted() / join() over a number or null key raised TypeError."""
    with pytest.raises(ConfigError, match=r"raw\.yaml: unknown key\(s\) "):
        DeviceProfile.load(_raw(tmp_path, _shipped_text() + extra))


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path):
    """It raised UnicodeDecodeError."""
    with pytest.raises(ConfigError, match="raw.yaml"):
        DeviceProfile.load(_raw(tmp_path, b"\xff\xfe" + _shipped_text().encode()))


def test_a_yaml_syntax_error_is_one_line_with_its_position(tmp_path):
    """PyYAML's message spans four lines with a snippet of the file."""
    with pytest.raises(ConfigError) as err:
        DeviceProfile.load(_raw(tmp_path, _shipped_text() + "oops: [1,\n"))
    assert "\n" not in str(err.value) and "raw.yaml" in str(err.value) and "line " in str(err.value)


SECOND_RUNTIME = "\nruntime: {backend: opencv-ns, precision: fp32, model: lite, buckets: [256], latency_budget_ms: 50}\n"


@pytest.mark.parametrize("extra,key", [("\nname: other\n", "name"), (SECOND_RUNTIME, "runtime")])
def test_a_key_given_twice_is_refused(tmp_path, extra, key):
    """The last one won silently: a second runtime: block replaced the first unseen."""
    with pytest.raises(ConfigError, match=f"duplicate key '{key}'.*line"):
        DeviceProfile.load(_raw(tmp_path, _shipped_text() + extra))


@pytest.mark.parametrize("mutate,key", [
    (lambda d: d["runtime"].update(precision="int4"), "runtime.precision"),
    (lambda d: d["runtime"].update(buckets=[256, 300]), "runtime.buckets"),
    (lambda d: d["runtime"].update(latency_budget_ms=-1), "runtime.latency_budget_ms"),
    (lambda d: d["runtime"]["camera"].update(width=0), "runtime.camera.width"),
    (lambda d: d["runtime"].update(use_dla=True, dla_core=5), "runtime.dla_core"),
])
def test_value_errors_name_the_file_and_the_full_key(tmp_path, mutate, key):
    """They named the profile's own name and the bare key ("profile orin-nx: precision ...")."""
    with pytest.raises(ConfigError, match=rf"^p\.yaml: .*{key}"):
        DeviceProfile.load(_write(tmp_path, mutate))


def test_versions_written_without_quotes_keep_their_digits(tmp_path):
    """``tensorrt: 10.10`` read as the float 10.1 and became "10.1" (which picks the ONNX flavour
    of an export); numbers where numbers are expected still read as numbers."""
    text = _shipped_text().replace("memory_gb: 8", "memory_gb: 16.50")
    text = text.replace("board:\n", "board:\n  tensorrt: 10.10\n  cuda: 12.0\n  jetpack: 6.10\n", 1)
    p = DeviceProfile.load(_raw(tmp_path, text))
    assert (p.board.tensorrt, p.board.cuda, p.board.jetpack) == ("10.10", "12.0", "6.10")
    assert isinstance(p.board.memory_gb, float) and p.board.memory_gb == 16.5


def test_a_deeply_nested_file_is_a_config_error(tmp_path):
    """PyYAML composes nested lists recursively: RecursionError, a traceback."""
    with pytest.raises(ConfigError, match="raw.yaml: its lists or mappings are nested too deeply"):
        DeviceProfile.load(_raw(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n"))


@pytest.mark.parametrize("text", ["", "# a comment only\n", "~\n"])
def test_an_empty_file_says_it_is_empty(tmp_path, text):
    """It said "expected a mapping for DeviceProfile, got NoneType"."""
    with pytest.raises(ConfigError, match=r"^raw\.yaml: the profile is empty; it needs the keys name, description"):
        DeviceProfile.load(_raw(tmp_path, text))


def test_a_wrong_type_for_an_optional_key_names_yaml_types(tmp_path):
    """It said "[8, 7] is not a valid typing.Optional[str]", a Python typing construct."""
    text = _shipped_text().replace("board:\n", "board:\n  compute_capability: [8, 7]\n", 1)
    with pytest.raises(ConfigError, match=r"compute_capability: expected str or null, got \[8, 7\]$") as err:
        DeviceProfile.load(_raw(tmp_path, text))
    assert "typing" not in str(err.value)


@pytest.mark.parametrize("model", ["''", "'  '"])
def test_an_empty_model_is_refused(tmp_path, model):
    """It was accepted, and `edgefill run --profile` then failed with ". is a folder without a bundle.json"."""
    with pytest.raises(ConfigError, match="runtime.model is empty"):
        DeviceProfile.load(_raw(tmp_path, _shipped_text().replace("model: lite", f"model: {model}")))


def test_edgefill_profiles_pointing_nowhere_is_a_config_error(tmp_path, monkeypatch, capsys):
    """A mistyped $EDGEFILL_PROFILES made `profiles list` print nothing (status 0) and every
    profile "unknown ...; known: " with an empty list."""
    monkeypatch.setenv("EDGEFILL_PROFILES", str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="EDGEFILL_PROFILES=.*nope is not a folder"):
        DeviceProfile.load("orin-nano")
    assert main(["profiles", "list"]) == 2
    assert "EDGEFILL_PROFILES" in capsys.readouterr().err


def test_each_jetson_description_names_the_tensorrt_it_records():
    """orin-nx and agx-orin said "JetPack 6.x" but record TensorRT 8.6 (JetPack 6.0; 6.1 / 6.2 ship
    10.3), which picks the export's ONNX flavour; the Nano said "JetPack 4.6.x" with TensorRT 8.2,
    which JetPack 4.6 itself (TensorRT 8.0.1) does not have."""
    for name in list_profiles():
        b = DeviceProfile.load(name)
        if b.board.tensorrt:
            assert f"TensorRT {b.board.tensorrt}" in b.description, name
            assert "JetPack 6.x" not in b.description and b.board.jetpack in b.description, name


def test_every_orin_has_a_profile_for_jetpack_6_0_and_for_6_1_and_later():
    """JetPack 6.1 / 6.2 (TensorRT 10.3) is what an Orin ships with now; only the Orin Nano had a
    profile for it. Each JetPack 6.0 profile names its twin, which differs in versions only."""
    import re
    from dataclasses import asdict

    twins = 0
    for name in list_profiles():
        p = DeviceProfile.load(name)
        if p.board.soc != "t234" or p.board.jetpack != "6.0":
            continue
        other = re.search(r"use ([a-z0-9-]+)\)", p.description)
        assert other, name
        q = DeviceProfile.load(other.group(1))
        assert (q.board.jetpack, q.board.tensorrt, q.board.cuda) == ("6.2", "10.3", "12.6"), q.name
        versions = ("jetpack", "tensorrt", "cuda")
        assert {k: v for k, v in asdict(p.board).items() if k not in versions} == \
            {k: v for k, v in asdict(q.board).items() if k not in versions}
        assert p.runtime == q.runtime
        twins += 1
    assert twins == 3
