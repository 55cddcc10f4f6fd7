"""Grey and 16-bit image files come back from ``edgefill inpaint`` as they went in (imageio.StoredImage)."""

import cv2
import numpy as np
import pytest

import edgefill
from edgefill.errors import ShapeError
from edgefill.imageio import StoredImage, image_scale, read_image, read_stored_image, scaled_8bit, stored_array

from .conftest import inpaint_file, natural_image


def _grey16(h=96, w=96, seed=1):
    rng = np.random.default_rng(seed)
    grey = cv2.cvtColor(natural_image(h, w, seed=seed), cv2.COLOR_BGR2GRAY).astype(np.uint16) * 256
    grey[0, 0] = 255 * 256  # the file uses all 16 bits
    return grey + rng.integers(0, 256, grey.shape).astype(np.uint16)  # low bits an 8-bit copy would lose


def _hole(h=96, w=96):
    mask = np.zeros((h, w), np.uint8)
    mask[30:60, 25:70] = 255
    return mask


def test_restore_keeps_a_grey_16_bit_file_outside_the_fill(tmp_path):
    cv2.imwrite(str(tmp_path / "g.png"), _grey16())
    stored = read_stored_image(tmp_path / "g.png")
    assert stored.stored.dtype == np.uint16 and stored.stored.ndim == 2
    assert np.array_equal(stored.bgr, read_image(tmp_path / "g.png"))
    result = stored.bgr.copy()
    result[30:60, 25:70] = (10, 11, 13)  # a tinted fill: its grey is round(34 / 3) = 11
    keep = _hole() == 0
    out = stored.restore(result, ~keep)
    assert out.dtype == np.uint16 and out.shape == stored.stored.shape
    assert np.array_equal(out[keep], stored.stored[keep])
    assert (out[~keep] == 11 * 257).all()
    eight = stored.restore(result, keep_16_bit=False)
    assert eight.dtype == np.uint8 and np.array_equal(eight[keep], stored.bgr[..., 0][keep]) and (eight[~keep] == 11).all()


def test_restore_gives_every_hole_pixel_the_fill_even_where_it_matches_the_8_bit_value(tmp_path):
    cv2.imwrite(str(tmp_path / "g.png"), _grey16())
    stored = read_stored_image(tmp_path / "g.png")
    hole = _hole() > 0
    assert np.array_equal(stored.restore(stored.bgr.copy()), stored.stored)  # nothing changed, nothing said filled
    out = stored.restore(stored.bgr.copy(), hole)
    assert np.array_equal(out[hole], stored.bgr[..., 0][hole].astype(np.uint16) * 257)
    assert not np.array_equal(out[hole], stored.stored[hole])


def test_a_12_bit_image_in_16_bits_fills_the_8_bit_range_and_comes_back_12_bit(tmp_path):
    src = np.rint(_grey16().astype(np.float64) / 65535 * 4095).astype(np.uint16)
    src[0, 0] = 4095
    cv2.imwrite(str(tmp_path / "g12.png"), src)
    stored = read_stored_image(tmp_path / "g12.png")
    assert stored.scale == pytest.approx(4095 / 255)
    assert np.array_equal(stored.bgr[..., 0], np.rint(src / (4095 / 255)).astype(np.uint8))
    assert stored.bgr.max() == 255  # divided by 257, as before the thirty-fourth session: at most 16
    assert np.array_equal(read_image(tmp_path / "g12.png"), stored.bgr)  # bench quality and run read it so too
    result = stored.bgr.copy()
    result[30:60, 25:70] = 200
    hole = _hole() > 0
    out = stored.restore(result, hole)
    assert out.dtype == np.uint16 and np.array_equal(out[~hole], src[~hole])
    assert (out[hole] == round(200 * 4095 / 255)).all()


def test_restore_of_a_colour_8_bit_file_is_the_result(tmp_path):
    img = natural_image(64, 64, seed=2)
    cv2.imwrite(str(tmp_path / "c.png"), img)
    stored = read_stored_image(tmp_path / "c.png")
    result = img.copy()
    result[10:20, 10:20] = (1, 2, 3)
    assert np.array_equal(stored.restore(result), result)


def test_restore_refuses_a_result_of_another_shape():
    stored = StoredImage(np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ShapeError, match="9x8.*8x8"):
        stored.restore(np.zeros((8, 9, 3), np.uint8))


@pytest.mark.parametrize("ext, dtype", [(".png", np.uint16), (".tif", np.uint16), (".jpg", np.uint8)])
def test_inpaint_writes_a_grey_16_bit_image_back_grey_and_as_deep_as_its_format_holds(tmp_path, ext, dtype):
    src = _grey16()
    out = inpaint_file(tmp_path, src, _hole(), f"o{ext}", "opencv-telea")
    assert out.dtype == dtype and out.shape == src.shape
    keep = _hole() == 0
    if dtype == np.uint16:
        assert np.array_equal(out[keep], src[keep])  # every bit outside the hole
    hole = out[~keep].astype(np.float64) / (257 if dtype == np.uint16 else 1)
    with edgefill.Inpainter(backend="opencv-telea") as inp:
        expected = inp.inpaint(read_image(tmp_path / "in.png"), _hole())[..., 0][~keep]
    tolerance = 0 if ext != ".jpg" else 12  # JPEG's own loss
    assert np.abs(hole - expected).max() <= tolerance


def test_inpaint_writes_a_colour_file_as_before(tmp_path):
    img = natural_image(64, 64, seed=3)
    mask = np.zeros((64, 64), np.uint8)
    mask[20:40, 20:40] = 255
    out = inpaint_file(tmp_path, img, mask, "o.png", "opencv-ns")
    with edgefill.Inpainter(backend="opencv-ns") as inp:
        expected = inp.inpaint(img, mask)
    assert np.array_equal(out, expected)


@pytest.mark.parametrize("bits", range(8, 17))
def test_scaled_8bit_rounds_every_16_bit_value_as_numpy_does(bits):
    """It uses OpenCV's scaling for speed; every 16-bit value, at the scale of each bit depth,
    comes out as rint(v / scale) clipped to 255."""
    v = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    scale = ((1 << bits) - 1) / 255
    assert np.array_equal(scaled_8bit(v, scale), np.minimum(np.rint(v / np.float32(scale)), 255).astype(np.uint8))
    assert image_scale(np.array([[(1 << bits) - 1]], np.uint16)) == pytest.approx(scale)


def _restore_reference(stored: StoredImage, result: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """What restore gives, computed over the whole frame (as restore did before it looked at a
    window only)."""
    out = stored.stored.copy()
    changed = np.any(result != stored.bgr, axis=2) | (filled > 0)
    fill = result[changed].astype(np.float32)
    if out.ndim == 2:
        fill = ((result[changed].sum(axis=-1, dtype=np.uint16) + 1) // 3).astype(np.float32)
    out[changed] = np.rint(fill * np.float32(stored.scale)).astype(np.uint16)
    return out


@pytest.mark.parametrize("grey", [True, False])
@pytest.mark.parametrize("case", ["hole and seam", "seam only", "hole only", "nothing", "edges"])
def test_restore_finds_the_window_it_needs_or_takes_the_one_given(grey, case):
    rng = np.random.default_rng(3)
    img = rng.integers(0, 4096, (40, 56) if grey else (40, 56, 3)).astype(np.uint16)
    stored = stored_array(img)
    hole = np.zeros((40, 56), np.uint8)
    result = stored.bgr.copy()
    if case in ("hole and seam", "hole only"):
        hole[10:20, 15:30] = 255
        result[hole > 0] = 7  # the fill
    if case in ("hole and seam", "seam only"):
        result[9, 14:31] = 200  # seam ring pixels the fill changed
        result[21, 31] = 0
    if case == "edges":  # changes in the first and last pixel (the last channel of the last pixel)
        result[0, 0, 0] ^= 1
        result[-1, -1, 2] ^= 1
    expected = _restore_reference(stored, result, hole)
    assert np.array_equal(stored.restore(result, hole > 0), expected)
    assert np.array_equal(stored.restore(result, hole), expected)  # a 0/255 mask as filled
    assert np.array_equal(stored.restore(result, hole, box=(0, 0, 56, 40)), expected)
    assert np.array_equal(stored.restore(result, None), _restore_reference(stored, result, np.zeros_like(hole)))
    assert (case == "nothing") == np.array_equal(expected, img)


def test_the_scale_over_the_known_pixels_is_that_of_their_largest_sample():
    """image_scale(stored, hole) reads the rows and columns around the hole's box by views and
    the box through the mask: against the plain reference, holes at the edges, none and all."""
    from edgefill.imageio import image_scale

    rng = np.random.default_rng(11)
    for trial in range(60):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        stored = rng.integers(0, 1 << int(rng.integers(8, 17)), (h, w) if trial % 2 else (h, w, 3)).astype(np.uint16)
        hole = (rng.random((h, w)) < rng.choice([0.0, 0.2, 0.9, 1.0])).astype(np.uint8) * 255
        known = stored[hole == 0]
        top = int(known.max()) if known.size else 0
        assert image_scale(stored, hole) == ((1 << max(8, top.bit_length())) - 1) / 255
    assert image_scale(stored) == ((1 << max(8, int(stored.max()).bit_length())) - 1) / 255
