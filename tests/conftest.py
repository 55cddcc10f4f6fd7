import numpy as np
import pytest


def natural_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth, textured BGR test image (no downloads)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([128 + 90 * np.sin(xx / 37 + c) * np.cos(yy / 29 - 2 * c) for c in range(3)], -1)
    return np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def image_720p() -> np.ndarray:
    return natural_image(720, 1280)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
