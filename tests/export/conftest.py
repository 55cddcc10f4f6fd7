import cv2
import pytest

from ..conftest import natural_image


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory):
    """Twelve small textured test photos (PNG) in a folder: enough for a train/validation split."""
    d = tmp_path_factory.mktemp("photos")
    for i in range(12):
        cv2.imwrite(str(d / f"p{i:02d}.png"), natural_image(160, 200, seed=i))
    return d


@pytest.fixture(scope="session")
def photos(photo_dir):
    """The photos of :func:`photo_dir`, as the sorted list of paths ``train`` takes."""
    return sorted(photo_dir.iterdir())
