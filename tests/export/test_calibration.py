import pytest

pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.calibration import CalibrationError, ImageFolderPairs  # noqa: E402


@pytest.mark.parametrize("kwargs", [{"limit": 0}, {"limit": -1}, {"per_image": 0}, {"size": 0}, {"limit": 2.5}])
def test_bad_counts_are_refused_not_sliced(photo_dir, kwargs):
    """limit=-1 calibrated on all images but the last (files[:-1]) and limit=0 on all of them;
    per_image=0 gave no pairs at all."""
    with pytest.raises(CalibrationError, match="must be a whole number >= 1"):
        ImageFolderPairs(photo_dir, **kwargs)


def test_limit_takes_the_first_images(photo_dir):
    assert ImageFolderPairs(photo_dir, limit=3).summary()["images"] == 3
    assert ImageFolderPairs(photo_dir).summary()["images"] == 12
