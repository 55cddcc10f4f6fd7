import cv2
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
    eroded = cv2.erode(m, np.ones((7, 7), np.uint8))
    assert np.count_nonzero(eroded) < 0.2 * np.count_nonzero(m)  # mostly lines, not blobs


def test_masks_cli(tmp_path):
    assert main(["masks", "--family", "rects", "--ratio", "0.2", "0.3", "--width", "96", "--height", "64",
                 "--count", "3", "-o", str(tmp_path)]) == 0
    files = sorted(tmp_path.glob("*.png"))
    assert len(files) == 3 and read_mask(files[0]).shape == (64, 96)
    assert main(["masks", "--ratio", "0.5", "0.2", "-o", str(tmp_path)]) == 2


def test_masks_cli_makes_masks_the_size_of_an_image_as_edgefill_reads_it(tmp_path, capsys):
    """--like: the masks fit the image `edgefill inpaint` is given, turned upright by its EXIF
    orientation (a JPEG with orientation 6, stored 48x32, reads as 32x48)."""
    img = np.zeros((32, 48, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "plain.png"), img)
    ok, jpg = cv2.imencode(".jpg", img)
    # an APP1 EXIF segment (big-endian TIFF, one entry: Orientation = 6) right after SOI
    tiff = b"MM\x00*\x00\x00\x00\x08" + b"\x00\x01" + b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00" + b"\x00" * 4
    app1 = b"Exif\x00\x00" + tiff
    data = jpg.tobytes()
    (tmp_path / "turned.jpg").write_bytes(data[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + data[2:])
    for name, shape in (("plain.png", (32, 48)), ("turned.jpg", (48, 32))):
        out = tmp_path / name.split(".")[0]
        assert main(["masks", "--like", str(tmp_path / name), "--count", "1", "-o", str(out)]) == 0
        assert read_mask(next(out.glob("*.png"))).shape == shape
    assert main(["masks", "--like", str(tmp_path / "plain.png"), "--width", "64", "-o", str(tmp_path / "x")]) == 2
    assert "--like or --width/--height, not both" in capsys.readouterr().err
    assert main(["masks", "--like", str(tmp_path / "missing.png"), "-o", str(tmp_path / "y")]) == 2


def _deepest(mask):
    return cv2.distanceTransform(mask, cv2.DIST_L2, 5).max()


def test_objects_are_deeper_holes_than_blobs_at_the_same_ratio():
    rng = np.random.default_rng(3)
    objects = [_deepest(maskgen.objects(256, 256, rng, 0.2, 0.3)) for _ in range(20)]
    blobs = [_deepest(maskgen.blobs(256, 256, rng, 0.2, 0.3)) for _ in range(20)]
    assert np.median(objects) > 1.4 * np.median(blobs) and np.median(objects) > 45


def test_training_mix_draws_every_family_and_is_seeded():
    rng = np.random.default_rng(0)
    masks = [maskgen.training_mix(128, 128, rng, 0.2, 0.3) for _ in range(60)]
    assert all(0.2 <= maskgen.hole_ratio(m) <= 0.3 for m in masks)
    thin = sum(np.count_nonzero(cv2.erode(m, np.ones((7, 7), np.uint8))) < 0.2 * np.count_nonzero(m)
               for m in masks)
    assert 3 <= thin <= 20  # scratches: 15% of the draws
    a = maskgen.training_mix(96, 96, np.random.default_rng(5), 0.1, 0.2)
    assert np.array_equal(a, maskgen.training_mix(96, 96, np.random.default_rng(5), 0.1, 0.2))
    small = [maskgen.training_mix(96, 96, rng, 0.0, 0.05) for _ in range(10)]  # no large object fits
    assert all(maskgen.hole_ratio(m) <= 0.05 for m in small)


def test_masks_cli_prints_the_ratio_range_it_was_given(tmp_path, capsys):
    """A range under 1% printed as '0%-0%'."""
    assert main(["masks", "--ratio", "0.001", "0.005", "--width", "64", "--height", "64", "--count", "1",
                 "-o", str(tmp_path / "a")]) == 0
    assert main(["masks", "--family", "rects", "--ratio", "0.2", "0.35", "--width", "64", "--height", "64",
                 "--count", "1", "-o", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "hole ratio 0.1%-0.5%" in out and "hole ratio 20%-35%" in out
