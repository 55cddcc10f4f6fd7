import numpy as np
import pytest

from edgefill import maskgen
from edgefill.cli import main
from edgefill.imageio import read_mask


@pytest.mark.parametrize("family", sorted(maskgen.FAMILIES))
@pytest.mark.parametrize("lo,hi", [(0.0, 0.1), (0.1, 0.2), (0.3, 0.4)])
def test_families_hit_the_ratio_and_are_seeded(family, lo, hi):
    a = maskgen.FAMILIES[family](128, 160, np.random.default_rng(7), lo, hi)
    b = maskgen.FAMILIES[family](128, 160, np.random.default_rng(7), lo, hi)
    assert np.array_equal(a, b) and a.dtype == np.uint8 and set(np.unique(a)) <= {0, 255}
    r = maskgen.hole_ratio(a)
    assert (lo <= r <= hi) or (lo == 0 and 0 < r <= hi)


def test_scratches_are_thin():
    m = maskgen.scratches(256, 256, np.random.default_rng(1), 0.02, 0.05)
    import cv2

    eroded = cv2.erode(m, np.ones((7, 7), np.uint8))
    assert np.count_nonzero(eroded) < 0.2 * np.count_nonzero(m)  # mostly lines, not blobs


def test_masks_cli(tmp_path):
    assert main(["masks", "--family", "rects", "--ratio", "0.2", "0.3", "--width", "96", "--height", "64",
                 "--count", "3", "-o", str(tmp_path)]) == 0
    files = sorted(tmp_path.glob("*.png"))
    assert len(files) == 3 and read_mask(files[0]).shape == (64, 96)
    assert main(["masks", "--ratio", "0.5", "0.2", "-o", str(tmp_path)]) == 2
