from __future__ import annotations

import numpy as np
import pytest

import edgefill

#: the tests that run a shipped model need ONNX Runtime (edgefill[ort])
LEARNED = pytest.mark.skipif(not edgefill.backends.backend_class("onnxruntime").is_available(),
                             reason="onnxruntime not installed")


def natural_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth, textured BGR test image (no downloads)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([128 + 90 * np.sin(xx / 37 + c) * np.cos(yy / 29 - 2 * c) for c in range(3)], -1)
    return np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)


def inpaint_file(folder, image: np.ndarray, mask: np.ndarray, out_name: str, backend: str) -> np.ndarray:
    """``edgefill inpaint`` on ``image`` and ``mask`` written as PNG files in ``folder``, with
    ``backend``, to ``folder / out_name``: the output as ``cv2.IMREAD_UNCHANGED`` reads it (the
    command must succeed)."""
    import cv2

    from edgefill.cli import main

    cv2.imwrite(str(folder / "in.png"), image)
    cv2.imwrite(str(folder / "mask.png"), mask)
    assert main(["inpaint", str(folder / "in.png"), "--mask", str(folder / "mask.png"), "-o", str(folder / out_name),
                 "--backend", backend]) == 0
    return cv2.imread(str(folder / out_name), cv2.IMREAD_UNCHANGED)


@pytest.fixture
def image_720p() -> np.ndarray:
    return natural_image(720, 1280)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def unsteady_fills(fill, shape: tuple[int, int], seed: int, cases: int = 10, calls: int = 10) -> int:
    """How many of ``cases`` random (image, hole) pairs of ``shape`` get more than one result from
    ``calls`` calls of ``fill(model_fill, image, hole)``, with other arrays allocated around each
    call (a fill that reads memory outside its image changes with them)."""
    rng = np.random.default_rng(seed)
    changed = 0
    for _ in range(cases):
        img = rng.integers(0, 255, shape + (3,), np.uint8)
        hole = (rng.random(shape) < 0.3).astype(np.uint8) * 255
        model_fill = np.zeros_like(img)
        results = set()
        for _i in range(calls):
            _ = [rng.integers(0, 255, (int(rng.integers(1, 50)), int(rng.integers(1, 400)), 3), np.uint8)
                 for _ in range(3)]  # other memory around the image
            results.add(fill(model_fill, img.copy(), hole.copy()).tobytes())
        changed += len(results) > 1
    return changed
