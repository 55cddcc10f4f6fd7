"""Export toolchain review: options that were ignored or unbounded, bundles that mixed old and new
files, and ONNX Runtime's quantiser talking to the user."""

import json
import logging

import cv2
import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")
pytest.importorskip("onnxruntime")

from edgefill.cli import main  # noqa: E402
from edgefill.errors import ConfigError  # noqa: E402
from edgefill_export.bundle import ExportRequest, export_bundle  # noqa: E402
from edgefill_export.model import build_model  # noqa: E402
from edgefill_export.onnx_export import OnnxFromTorch, sample_inputs  # noqa: E402
from edgefill_export.quantize import QuantizeOnnx  # noqa: E402

from ..conftest import natural_image  # noqa: E402
from .test_export_review import _Started, no_work  # noqa: E402,F401  (no_work: a fixture)


@pytest.fixture(scope="module")
def photo_dirs(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    for role, offset, n in (("calib", 0, 2), ("val", 100, 2)):
        (d / role).mkdir()
        for i in range(n):
            cv2.imwrite(str(d / role / f"p{i}.png"), natural_image(260, 280, seed=offset + i))
    return d


def test_int8_quantisation_prints_nothing_and_leaves_logging_alone(tmp_path, capfd, caplog):
    """ONNX Runtime's calibrator printed "Collecting tensor data and making histogram ...",
    "Number of tensors : 76" ... to stdout (four times: one per calibration candidate), into
    ``edgefill export``'s summary, and logged "Please consider to run pre-processing before
    quantization" on the root logger, which the CLI shows as ``edgefill: WARNING: ...``."""
    torch.manual_seed(0)
    fp32 = OnnxFromTorch(build_model("nano"), tmp_path / "f.onnx", check_size=(64, 64))()
    pairs = [(img[0], mask[0, ..., 0]) for img, mask in (sample_inputs(64, 64, seed=s) for s in range(2))]
    capfd.readouterr()
    with caplog.at_level(logging.INFO):
        QuantizeOnnx("int8", pairs, percentile=99.99)(fp32, tmp_path / "q.onnx")
    out = capfd.readouterr()
    assert "tensor" not in out.out.lower() and "histogram" not in out.out.lower(), out.out
    assert not [r for r in caplog.records if "onnxruntime" in r.pathname], [r.getMessage() for r in caplog.records]
    assert (tmp_path / "q.onnx").is_file()


@pytest.mark.usefixtures("no_work")
def test_calibration_images_for_a_precision_that_takes_none_are_refused(photo_dirs, tmp_path, capsys):
    """--calib DIR with fp16 or fp32 (or a profile whose precision is fp16, jetson-nano) was
    ignored without a word: the user believed the graph calibrated on their surfaces."""
    out = tmp_path / "b"
    for precision in ("fp16", "fp32"):
        with pytest.raises(ConfigError, match=rf"--calib .*precision int8 only; precision {precision}"):
            export_bundle(ExportRequest(model="nano", out_dir=out, precision=precision, calib_dir=photo_dirs / "calib",
                                        val_dir=photo_dirs / "val"), progress=False)
    assert main(["export", "--model", "nano", "--profile", "jetson-nano", "--calib", str(photo_dirs / "calib"),
                 "--val", str(photo_dirs / "val"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--calib" in err and "fp16" in err and "Traceback" not in err and not out.exists()
    with pytest.raises(_Started):  # int8 takes them; fp16 without them goes ahead
        export_bundle(ExportRequest(model="nano", out_dir=out, precision="int8", calib_dir=photo_dirs / "calib",
                                    val_dir=photo_dirs / "val"), progress=False)
    with pytest.raises(_Started):
        export_bundle(ExportRequest(model="nano", out_dir=out, precision="fp16", val_dir=photo_dirs / "val"),
                      progress=False)


def test_the_validation_set_is_the_first_val_images_photos(photo_dirs, tmp_path):
    """A --val folder was loaded whole, every photo's crops held in memory (a line's archive of
    thousands of photos: gigabytes, and the gate ran on all of them twice per graph)."""
    val = tmp_path / "val"
    val.mkdir()
    for i in range(3):
        cv2.imwrite(str(val / f"v{i}.png"), natural_image(256, 256, seed=50 + i))
    out = export_bundle(ExportRequest(model="nano", out_dir=tmp_path / "b", val_dir=val, val_images=2), progress=False)
    vs = json.loads((out / "bundle.json").read_text())["validation_set"]
    assert (vs["images"], vs["pairs"]) == (2, 4)
    for bad in (0, -1, 2.5):
        with pytest.raises(ConfigError, match=f"val_images .* whole number >= 1, got {bad!r}"):
            export_bundle(ExportRequest(model="nano", out_dir=tmp_path / "c", val_dir=val, val_images=bad))
    assert not (tmp_path / "c").exists()


@pytest.fixture(scope="module")
def fp16_trt_bundle(photo_dirs, tmp_path_factory):
    out = tmp_path_factory.mktemp("fp16") / "b"
    return export_bundle(ExportRequest(model="nano", out_dir=out, precision="fp16", profile="jetson-nano",
                                       val_dir=photo_dirs / "val"), progress=False)


def test_a_tensorrt_fp16_bundle_holds_no_fp16_graph_nothing_uses(fp16_trt_bundle):
    """TensorRT builds FP16 engines from the FP32 graph with the FP16 flag; the export also made,
    gated and shipped a model.trt.fp16.onnx (ONNX Runtime's float16 conversion) that nothing read."""
    b = json.loads((fp16_trt_bundle / "bundle.json").read_text())
    assert b["precision"] == "fp16" and b["tensorrt"]["onnx"] == "model.trt.fp32.onnx"
    assert set(b["tensorrt"]["artifacts"]) == {"fp32"} and not (fp16_trt_bundle / "model.trt.fp16.onnx").exists()
    assert set(b["artifacts"]) == {"fp32", "fp16"} and (fp16_trt_bundle / "model.fp16.onnx").is_file()


def test_a_forced_export_leaves_no_file_of_the_bundle_it_replaces(fp16_trt_bundle, photo_dirs, tmp_path):
    """--force wrote the new bundle's files over the old ones and left the rest: a TensorRT fp16
    bundle re-exported as plain fp32 kept model.fp16.onnx and the old model.trt.* graphs beside
    the new bundle.json (one folder, two exports); files that are not the bundle's stay."""
    import shutil

    out = tmp_path / "b"
    shutil.copytree(fp16_trt_bundle, out)
    (out / "notes.txt").write_text("the user's own")
    export_bundle(ExportRequest(model="nano", out_dir=out, precision="fp32", val_dir=photo_dirs / "val", force=True),
                  progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["bundle.json", "model.fp32.json", "model.fp32.onnx", "notes.txt"]
    assert (out / "notes.txt").read_text() == "the user's own"
