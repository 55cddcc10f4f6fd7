"""TensorRT end to end: build an engine from a bundle, run it, compare with ONNX Runtime.

Runs wherever ``import tensorrt`` and pycuda work (a Jetson or an NVIDIA GPU machine);
skipped elsewhere, with the reason.
"""

import cv2
import numpy as np
import pytest

trt = pytest.importorskip("tensorrt", reason="TensorRT is not installed here (it comes with JetPack / NVIDIA's wheels)")
pytest.importorskip("pycuda.driver", reason="pycuda is not installed (pip install edgefill[trt])")
pytest.importorskip("torch", reason="building the test bundle needs edgefill[export]")

pytestmark = [pytest.mark.tensorrt, pytest.mark.gpu]

import edgefill  # noqa: E402
from edgefill_export.bundle import ExportRequest, export_bundle  # noqa: E402

from ..conftest import natural_image  # noqa: E402


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    d = tmp_path_factory.mktemp("b")
    (d / "val").mkdir()  # fp16 is not calibrated: no calibration images (refused for fp16)
    for i in range(4):
        cv2.imwrite(str(d / "val" / f"{i}.png"), natural_image(300, 300, seed=i + 10))
    out = d / "bundle"
    export_bundle(ExportRequest(model="nano", out_dir=out, precision="fp16", profile="orin-nano",
                                val_dir=d / "val", allow_accuracy_loss=True), progress=False)
    return out


def test_engine_matches_onnxruntime(bundle):
    img = natural_image(256, 384, seed=3)
    mask = np.zeros((256, 384), np.uint8)
    mask[80:160, 120:260] = 255
    with edgefill.create_backend("tensorrt", model=str(bundle)) as trt_b, \
            edgefill.create_backend("onnxruntime", model=str(bundle)) as ort_b:
        a, b = trt_b.infer(img, mask), ort_b.infer(img, mask)
    keep = mask == 0
    assert np.array_equal(a[keep], img[keep])
    assert np.abs(a[~keep].astype(int) - b[~keep].astype(int)).mean() < 2.0


def test_engine_cache_is_reused(bundle):
    from edgefill.trt.build import build_for_bundle

    first = build_for_bundle(bundle)
    assert build_for_bundle(bundle) == first
