"""An image's alpha channel survives ``edgefill inpaint`` (imageio.StoredImage ``alpha``): kept
as the file had it, hole included, turned upright with the colour, as deep as the output holds."""

import struct
import zlib

import cv2
import numpy as np
import pytest

from edgefill.imageio import read_image, read_stored_image

from .conftest import inpaint_file, natural_image
from .test_masks_io_review import _png, _webp

H, W = 40, 56


def _alpha(h=H, w=W):
    """A soft alpha that any turn or flip moves (a ramp across plus a corner block)."""
    a = np.tile(np.linspace(30, 250, w).astype(np.uint8), (h, 1))
    a[:8, :12] = 5
    return a


def _hole(h=H, w=W):
    m = np.zeros((h, w), np.uint8)
    m[12:28, 20:40] = 255
    return m


def test_alpha_is_read_only_when_asked_and_restored_around_the_fill(tmp_path):
    bgra = np.dstack([natural_image(H, W, seed=4), _alpha()])
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    assert read_stored_image(tmp_path / "a.png").alpha is None  # no second decode unless asked
    stored = read_stored_image(tmp_path / "a.png", keep_alpha=True)
    assert np.array_equal(stored.alpha, _alpha()) and np.array_equal(stored.bgr, bgra[..., :3])
    result = stored.bgr.copy()
    result[_hole() > 0] = (1, 2, 3)
    out = stored.restore(result, _hole() > 0)
    assert out.shape == (H, W, 4) and np.array_equal(out[..., :3], result) and np.array_equal(out[..., 3], _alpha())
    assert np.array_equal(stored.restore(result, keep_alpha=False), result)


def test_a_16_bit_alpha_stays_16_bit_or_is_scaled_to_an_8_bit_format(tmp_path):
    colour = natural_image(H, W, seed=5).astype(np.uint16) * 257
    alpha = _alpha().astype(np.uint16) * 257 + 100  # low bits an 8-bit copy would lose
    cv2.imwrite(str(tmp_path / "a16.png"), np.dstack([colour, alpha]))
    stored = read_stored_image(tmp_path / "a16.png", keep_alpha=True)
    assert stored.alpha.dtype == np.uint16
    wide = stored.restore(stored.bgr.copy())
    assert wide.dtype == np.uint16 and np.array_equal(wide[..., 3], alpha) and np.array_equal(wide[..., :3], colour)
    narrow = stored.restore(stored.bgr.copy(), keep_16_bit=False)
    assert narrow.dtype == np.uint8 and np.array_equal(narrow[..., 3], _alpha())  # (v * 257 + 100) / 257, rounded


def test_a_grey_file_with_alpha_comes_back_as_bgra(tmp_path):
    grey, alpha = cv2.cvtColor(natural_image(H, W, seed=6), cv2.COLOR_BGR2GRAY), _alpha()
    pixels = np.dstack([grey, alpha])
    raw = b"".join(b"\0" + pixels[r].tobytes() for r in range(H))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    (tmp_path / "ga.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 4, 0, 0, 0))
                                      + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    stored = read_stored_image(tmp_path / "ga.png", keep_alpha=True)
    out = stored.restore(stored.bgr.copy())
    assert out.shape == (H, W, 4) and np.array_equal(out[..., 3], alpha)
    assert all(np.array_equal(out[..., c], grey) for c in range(3))


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
@pytest.mark.parametrize("encode", [_png, _webp])
def test_alpha_is_turned_upright_with_the_colour(tmp_path, encode, orientation):
    # the ramp once in the colour (which OpenCV turns by the EXIF) and once in the alpha
    ramp = _alpha()
    (tmp_path / "c.img").write_bytes(encode(np.dstack([ramp] * 3 + [np.full_like(ramp, 255)]), orientation))
    (tmp_path / "a.img").write_bytes(encode(np.dstack([np.zeros_like(ramp)] * 3 + [ramp]), orientation))
    expected = read_image(tmp_path / "c.img")[..., 0]
    if orientation > 1 and encode is _png:
        assert expected.shape != ramp.shape or not np.array_equal(expected, ramp)  # turned: the test can fail
    assert np.array_equal(read_stored_image(tmp_path / "a.img", keep_alpha=True).alpha, expected)


@pytest.mark.parametrize("ext, channels", [(".png", 4), (".webp", 4), (".tif", 4), (".bmp", 4), (".jpg", 3)])
def test_inpaint_keeps_the_alpha_where_the_output_format_holds_it(tmp_path, ext, channels):
    bgra = np.dstack([natural_image(H, W, seed=7), _alpha()])
    out = inpaint_file(tmp_path, bgra, _hole(), f"o{ext}", "opencv-telea")
    assert out.shape == (H, W, channels)
    if channels == 4:
        assert np.array_equal(out[..., 3], _alpha())
    if ext != ".jpg":
        keep = _hole() == 0
        assert np.array_equal(out[..., :3][keep], bgra[..., :3][keep])
