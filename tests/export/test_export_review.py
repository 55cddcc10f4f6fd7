"""The export path a user runs (``edgefill export``, ``edgefill data fetch``): conflicting options,
damaged downloads, and what a fetch may take as a stand-in."""

import shutil
import zipfile

import cv2
import numpy as np
import pytest

pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill.cli import main  # noqa: E402
from edgefill.errors import ConfigError  # noqa: E402
from edgefill_export import bundle, fetch  # noqa: E402
from edgefill_export.bundle import ExportRequest, export_bundle  # noqa: E402

from ..conftest import natural_image  # noqa: E402
from .fake_deb import build_deb  # noqa: E402


@pytest.fixture(scope="module")
def one_photo(tmp_path_factory):
    d = tmp_path_factory.mktemp("photo")
    cv2.imwrite(str(d / "p.png"), natural_image(300, 320, seed=7))
    return d


class _Started(Exception):
    """Raised in place of the export's work: the request got past every check."""


@pytest.fixture
def no_work(monkeypatch):
    def started(*args, **kwargs):
        raise _Started

    monkeypatch.setattr(bundle, "_write_bundle", started)


def test_int8_for_a_board_without_int8_tensor_cores_is_refused_before_any_work(one_photo, tmp_path, no_work, capsys):
    """jetson-nano (Maxwell) has no INT8: its own profile refuses runtime.precision int8, and the
    export made an INT8 TensorRT bundle for it anyway, which only failed on the board."""
    out = tmp_path / "b"
    with pytest.raises(ConfigError, match="no INT8 tensor cores"):
        export_bundle(ExportRequest(model="nano", out_dir=out, precision="int8", profile="jetson-nano",
                                    calib_dir=one_photo, val_dir=one_photo), progress=False)
    assert not out.exists()
    assert main(["export", "--model", "nano", "--profile", "jetson-nano", "--precision", "int8", "--calib",
                 str(one_photo), "--val", str(one_photo), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "jetson-nano" in err and "fp16" in err and "Traceback" not in err and not out.exists()
    with pytest.raises(_Started):  # fp16 for it, and int8 for a board with INT8, go ahead
        export_bundle(ExportRequest(model="nano", out_dir=out, precision="fp16", profile="jetson-nano",
                                    val_dir=one_photo), progress=False)
    with pytest.raises(_Started):
        export_bundle(ExportRequest(model="nano", out_dir=out, precision="int8", profile="orin-nano",
                                    calib_dir=one_photo, val_dir=one_photo), progress=False)


def test_a_cpu_int8_target_for_a_tensorrt_board_or_an_unknown_target_is_refused_before_any_work(one_photo, tmp_path,
                                                                                                no_work):
    """The CPU target's asymmetric uint8 graph is no TensorRT graph: refused after the whole
    calibration, with every one of its ~150 Q/DQ nodes listed in one error message."""
    out = tmp_path / "b"
    with pytest.raises(ConfigError, match="int8_target 'cpu'.*orin-nano"):
        export_bundle(ExportRequest(model="nano", out_dir=out, precision="int8", profile="orin-nano", int8_target="cpu",
                                    calib_dir=one_photo, val_dir=one_photo), progress=False)
    with pytest.raises(ConfigError, match="int8_target must be one of tensorrt, cpu, not 'CPU'"):
        export_bundle(ExportRequest(model="nano", out_dir=out, precision="int8", int8_target="CPU",
                                    calib_dir=one_photo, val_dir=one_photo), progress=False)
    assert not out.exists()
    with pytest.raises(_Started):  # the CPU target without TensorRT (rpi5) is what it is for
        export_bundle(ExportRequest(model="nano", out_dir=out, precision="int8", profile="rpi5", int8_target="cpu",
                                    calib_dir=one_photo, val_dir=one_photo), progress=False)


def test_a_graph_tensorrt_would_not_parse_is_one_readable_line(one_photo, tmp_path, monkeypatch):
    problems = [f"QuantizeLinear q{i}: the zero point must be a constant 0 (symmetric)" for i in range(150)]
    monkeypatch.setattr(bundle.trt_support, "check", lambda model, version: problems)
    out = tmp_path / "b"
    with pytest.raises(ValueError, match="would not parse in TensorRT 8.6") as info:
        export_bundle(ExportRequest(model="nano", out_dir=out, profile="orin-nano", val_dir=one_photo), progress=False)
    msg = str(info.value)
    assert "q0:" in msg and "and 147 more" in msg and "q149" not in msg and len(msg) < 500
    assert not out.exists()


def test_a_damaged_member_of_a_cached_wheel_is_one_line_and_the_wheel_is_removed(tmp_path, monkeypatch, capsys):
    """A wheel whose zip directory is intact but whose deflated data is damaged raised zlib.error:
    a traceback, and the wheel stayed in the cache, so every later fetch failed the same way."""
    monkeypatch.setattr(fetch, "read_sources", lambda roles=fetch.ROLES: [
        fetch.Source("eval", "pypi:fake-pkg", "CC0", 10, 10, "pypi_images/fake-pkg/a.png")])
    whl = tmp_path / "downloads" / "fake_pkg-1.0-py3-none-any.whl"
    whl.parent.mkdir(parents=True)
    with zipfile.ZipFile(whl, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("fake_pkg/a.png", np.random.default_rng(0).integers(0, 4, 200_000, dtype=np.uint8).tobytes())
    data = bytearray(whl.read_bytes())
    data[2000:2100] = bytes(b ^ 0x5A for b in data[2000:2100])  # inside the member's deflated bytes
    whl.write_bytes(bytes(data))
    assert fetch.main(["--roles", "eval", "--cache", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "damaged" in err and "Traceback" not in err
    assert not whl.exists()  # the next run downloads it again
    assert not fetch.image_path(tmp_path, fetch.read_sources()[0]).exists()


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb not installed (Debian/Ubuntu only)")
def test_a_missing_image_never_gets_another_roles_image_as_its_stand_in(tmp_path, monkeypatch):
    """``--roles texture`` alone: a package version without the wanted texture took the largest
    photo of its folder instead, here the package's eval photo, which then trained the models."""
    # no board.jpg in this version of the package
    build_deb(tmp_path / "cache" / "downloads" / "fake-doc_1.0_all.deb", "fake-doc",
              {"usr/share/doc/fake-doc/data/building.jpg": b"eval photo" * 100}, tmp_path)
    sources = [fetch.Source("texture", "deb:fake-doc", "BSD", 640, 480, "usr/share/doc/fake-doc/data/board.jpg"),
               fetch.Source("eval", "deb:fake-doc", "BSD", 868, 600, "usr/share/doc/fake-doc/data/building.jpg")]
    monkeypatch.setattr(fetch, "read_sources", lambda roles=fetch.ROLES: [s for s in sources if s.role in roles])
    with pytest.raises(fetch.FetchError, match="board.jpg was not found in deb:fake-doc"):
        fetch.fetch(("texture",), tmp_path / "cache", progress=False)
    assert fetch.list_images("texture", tmp_path / "cache") == []


def test_an_unknown_calibrate_method_is_a_clear_error_before_the_pairs_are_read(tmp_path):
    """A KeyError ('MinMax') came out of the middle of the INT8 stage, after every calibration image was read."""
    from edgefill.models import resolve_model
    from edgefill_export.onnx_export import OnnxFromTorch
    from edgefill_export.quantize import QuantizeOnnx

    fp32 = OnnxFromTorch(resolve_model("nano").path.with_suffix(".safetensors"), tmp_path / "nano.onnx")()
    read = []

    def pairs():
        read.append(1)
        yield np.zeros((256, 256, 3), np.uint8), np.full((256, 256), 255, np.uint8)

    with pytest.raises(ValueError, match="unknown calibrate_method 'MinMax'; known: percentile, minmax, entropy"):
        QuantizeOnnx("int8", pairs(), calibrate_method="MinMax")(fp32, tmp_path / "q.onnx")
    assert not read and not (tmp_path / "q.onnx").exists()
