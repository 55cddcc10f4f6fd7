"""QuantizeOnnx and the accuracy gate's validate(): bad calibration and validation data."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")
pytest.importorskip("onnxruntime")

from edgefill_export.model import build_model  # noqa: E402
from edgefill_export.onnx_export import OnnxFromTorch, sample_inputs  # noqa: E402
from edgefill_export.quantize import QuantizeOnnx, validate  # noqa: E402


def _pairs(h, w, n=1):
    out = []
    for seed in range(n):
        image, mask = sample_inputs(h, w, seed=seed)
        out.append((image[0], mask[0, ..., 0]))
    return out


@pytest.fixture(scope="module")
def fp32(tmp_path_factory):
    torch.manual_seed(0)
    return OnnxFromTorch(build_model("nano"), tmp_path_factory.mktemp("q") / "nano.onnx", check_size=(128, 128))()


def test_calibration_pairs_not_a_multiple_of_the_model_are_refused_clearly(fp32, tmp_path):
    """A 320x240 camera frame (240 is not a multiple of 64) was an ONNX Runtime broadcasting
    failure from inside the quantiser; it is a ValueError that says what to do."""
    pairs = _pairs(128, 128) + _pairs(240, 320)
    with pytest.raises(ValueError, match=r"calibration pair 1: the image is 320x240.*multiples of 64"):
        QuantizeOnnx("int8", pairs, percentile=99.99)(fp32, tmp_path / "q.onnx")
    assert not (tmp_path / "q.onnx").exists()


@pytest.mark.parametrize("bad,match", [
    (lambda img, mask: (img[:100, :100], mask[:100, :100]), "multiples of 64"),
    (lambda img, mask: (img, mask[:64]), "the mask is"),
    (lambda img, mask: (img.astype(np.float32), mask), "uint8 HxWx3"),
    (lambda img, mask: (img, mask, mask), r"\(image, mask\) pair"),
    (lambda img, mask: {"image": img[None], "mask": mask[None, ..., None]}, r"\(image, mask\) pair of arrays, got dict"),
], ids=["size", "mask-shape", "dtype", "not-a-pair", "ort-feed"])
def test_bad_validation_pairs_are_refused_clearly(fp32, bad, match):
    good = _pairs(128, 128)[0]
    with pytest.raises(ValueError, match=match):
        validate(fp32, fp32, [good, bad(*good)])


def test_validation_takes_hxwx1_masks(fp32):
    img, mask = _pairs(128, 128)[0]
    assert validate(fp32, fp32, [(img, mask[..., None])]) == validate(fp32, fp32, [(img, mask)])


def test_validate_refuses_a_candidate_that_outputs_nan(tmp_path):
    """Float32-I/O graphs (TensorRT < 9.2): a NaN output was clipped and cast to 0, costing only
    some PSNR, so a graph with a few NaN pixels could pass the gate."""
    torch.manual_seed(0)
    ref = OnnxFromTorch(build_model("nano"), tmp_path / "f.onnx", check_size=(128, 128), io="float32")()

    class NanAtOnePixel(torch.nn.Module):
        def forward(self, image, mask):
            nan = torch.zeros_like(image)
            nan[:, 5, 5, :] = float("nan")
            return image + nan + mask * 0  # reads the mask, so that it stays an input

    x = torch.zeros(1, 128, 128, 3)
    torch.onnx.export(NanAtOnePixel(), (x, x[..., :1]), str(tmp_path / "nan.onnx"), input_names=["image", "mask"],
                      output_names=["output"], opset_version=17, dynamo=False,
                      dynamic_axes={"image": {1: "H", 2: "W"}, "mask": {1: "H", 2: "W"}})
    with pytest.raises(ValueError, match="nan.onnx produces NaN"):
        validate(tmp_path / "nan.onnx", ref, _pairs(128, 128))


def test_the_calibration_reader_rewinds_for_a_second_pass():
    from edgefill_export.quantize import _OrtReader

    reader = _OrtReader(iter(_pairs(64, 64, n=2)))
    first = [reader.get_next() for _ in range(3)]
    reader.rewind()
    again = [reader.get_next() for _ in range(3)]
    assert first[2] is None and again[2] is None
    assert all(np.array_equal(x["image"], y["image"]) for x, y in zip(first[:2], again[:2]))
