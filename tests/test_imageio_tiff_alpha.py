"""TIFFs with an alpha channel: OpenCV (libtiff's RGBA reader) multiplies an 8-bit TIFF's colour by
its unassociated alpha (ExtraSamples 2, what most tools write for RGBA); edgefill divides it back
(imageio.unpremultiplied), so the file reads as the same image saved as PNG does."""

import struct

import cv2
import numpy as np
import pytest

from edgefill import image_chunks
from edgefill.imageio import declared_size, read_image, read_stored_image, unpremultiplied


def tiff_bytes(img: np.ndarray, extra: int | None, order: str = "<", orientation: int | None = None) -> bytes:
    """A minimal uncompressed one-strip TIFF of an HxWxC uint8 or uint16 image (C = 3 or 4: RGB
    order; C = 2: grey and one extra sample), ExtraSamples ``extra`` (None: no such tag), byte
    order ``order``, Orientation tag ``orientation`` (None: none)."""
    h, w, c = img.shape
    bits = img.dtype.itemsize * 8
    data = img.astype(order + ("u1" if bits == 8 else "u2")).tobytes()
    data_at = 8 + (2 * c if c > 2 else 0)  # BitsPerSample's values after the header, unless inline
    ifd_at = data_at + len(data) + (data_at + len(data)) % 2
    shorts = struct.pack(order + f"{c}H", *([bits] * c))
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, c, 8 if c > 2 else shorts), (259, 3, 1, 1),
               (262, 3, 1, 2 if c > 2 else 1), (273, 4, 1, data_at), (277, 3, 1, c), (278, 4, 1, h),
               (279, 4, 1, len(data)), (284, 3, 1, 1)]
    if orientation is not None:
        entries.insert(6, (274, 3, 1, orientation))  # tags in ascending order: after 273
    if extra is not None:
        entries.append((338, 3, 1, extra))
    out = (b"II" if order == "<" else b"MM") + struct.pack(order + "HI", 42, ifd_at)
    out += (shorts if c > 2 else b"") + data
    out += b"\0" * (ifd_at - len(out)) + struct.pack(order + "H", len(entries))
    for tag, kind, n, value in entries:
        if isinstance(value, bytes):  # values that fit in the field itself
            out += struct.pack(order + "HHI", tag, kind, n) + value.ljust(4, b"\0")
        elif kind == 3 and n == 1:  # a SHORT sits in the first two bytes of the value field
            out += struct.pack(order + "HHIHH", tag, kind, n, value, 0)
        else:
            out += struct.pack(order + "HHII", tag, kind, n, value)
    return out + struct.pack(order + "I", 0)


def _rgba(seed: int = 0, h: int = 24, w: int = 32) -> np.ndarray:
    rgba = np.random.default_rng(seed).integers(0, 256, (h, w, 4)).astype(np.uint8)
    rgba[0, :4, 3] = (0, 1, 128, 255)
    return rgba


@pytest.mark.parametrize("order", ["<", ">"])
def test_tiff_tags_reads_inline_and_offset_values_in_either_byte_order(order):
    data = tiff_bytes(_rgba(), 2, order)
    tags = image_chunks.tiff_tags(data, (256, 257, 258, image_chunks.EXTRA_SAMPLES, 999))
    assert tags == {256: (32,), 257: (24,), 258: (8, 8, 8, 8), image_chunks.EXTRA_SAMPLES: (2,)}
    assert declared_size(data) == (32, 24)


def test_an_unassociated_alpha_tiff_reads_as_its_colour_not_premultiplied(tmp_path):
    rgba = _rgba()
    (tmp_path / "a.tif").write_bytes(tiff_bytes(rgba, 2))
    raw = cv2.imread(str(tmp_path / "a.tif"), cv2.IMREAD_COLOR)
    bgr, alpha = rgba[..., 2::-1], rgba[..., 3]
    assert np.abs(raw.astype(int) - bgr)[alpha < 128].max() > 50  # OpenCV's own decode: premultiplied
    stored = read_stored_image(tmp_path / "a.tif", keep_alpha=True)
    assert np.array_equal(stored.alpha, alpha)
    err = np.abs(stored.stored.astype(int) - bgr)
    assert err[alpha == 255].max() == 0
    assert err[alpha >= 128].max() <= 1
    for lo in (16, 64):
        assert err[alpha >= lo].max() <= 255 / (2 * lo) + 0.5
    assert np.array_equal(read_image(tmp_path / "a.tif"), stored.bgr)  # without the alpha asked for too


@pytest.mark.parametrize("extra", [None, 0, 1])
def test_other_tiffs_keep_their_colour_as_stored(tmp_path, extra):
    """No alpha tag, unspecified, or associated (already premultiplied in the file) alpha: OpenCV
    returns the stored colour, and so does edgefill."""
    rgba = _rgba(seed=1)
    (tmp_path / "a.tif").write_bytes(tiff_bytes(rgba, extra))
    assert np.array_equal(read_stored_image(tmp_path / "a.tif").stored, rgba[..., 2::-1])


def test_a_16_bit_unassociated_alpha_tiff_is_not_premultiplied_by_opencv(tmp_path):
    rgba = np.random.default_rng(2).integers(0, 65536, (16, 20, 4)).astype(np.uint16)
    (tmp_path / "a.tif").write_bytes(tiff_bytes(rgba, 2))
    assert np.array_equal(read_stored_image(tmp_path / "a.tif").stored, rgba[..., 2::-1])


def test_unpremultiplied_leaves_colour_that_was_never_multiplied():
    bgr = np.full((2, 2, 3), 200, np.uint8)
    alpha = np.full((2, 2), 100, np.uint8)
    assert np.array_equal(unpremultiplied(bgr, alpha), bgr)  # 200 > 100: not premultiplied colour
    pre = np.full((2, 2, 3), 50, np.uint8)
    assert unpremultiplied(pre, alpha).tolist() == [[[128] * 3] * 2] * 2  # 50 x 255 / 100 = 127.5


def test_inpaint_writes_an_unassociated_alpha_tiff_back_with_its_colour(tmp_path):
    rgba = _rgba(seed=3, h=64, w=64)
    rgba[..., 3] = np.maximum(rgba[..., 3], 128)
    mask = np.zeros((64, 64), np.uint8)
    mask[20:40, 20:40] = 255
    (tmp_path / "in.tif").write_bytes(tiff_bytes(rgba, 2))
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    from edgefill.cli import main

    assert main(["inpaint", str(tmp_path / "in.tif"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.tif"), "--backend", "opencv-telea"]) == 0
    out = cv2.imread(str(tmp_path / "out.tif"), cv2.IMREAD_UNCHANGED)
    known = mask == 0
    assert out.shape == (64, 64, 4) and np.array_equal(out[..., 3], rgba[..., 3])
    assert np.abs(out[..., :3].astype(int) - rgba[..., 2::-1])[known].max() <= 1


def test_a_grey_tiff_with_alpha_says_its_alpha_is_dropped(tmp_path, caplog):
    """OpenCV decodes no alpha of a grey-and-alpha TIFF, even unchanged: said, not silent."""
    ga = np.random.default_rng(5).integers(0, 256, (12, 16, 2)).astype(np.uint8)
    (tmp_path / "g.tif").write_bytes(tiff_bytes(ga, 2))
    stored = read_stored_image(tmp_path / "g.tif", keep_alpha=True)
    assert stored.alpha is None and np.array_equal(stored.stored, ga[..., 0])
    assert "alpha channel is dropped" in caplog.text and "g.tif" in caplog.text


@pytest.mark.parametrize("orientation, turn", [(3, lambda a: a[::-1, ::-1]), (6, lambda a: np.rot90(a, -1)),
                                               (8, lambda a: np.rot90(a, 1))])
@pytest.mark.parametrize("extra", [0, 2])
def test_a_tiffs_orientation_turns_its_alpha_with_its_colour(tmp_path, orientation, turn, extra):
    """OpenCV applies a TIFF's Orientation tag to the decode that keeps alpha too, so the alpha
    needs no turn of edgefill's own (as a PNG's or WebP's EXIF chunk does)."""
    rgba = _rgba(seed=6, h=20, w=28)
    rgba[..., 3] = np.maximum(rgba[..., 3], 200)
    (tmp_path / "o.tif").write_bytes(tiff_bytes(rgba, extra, orientation=orientation))
    stored = read_stored_image(tmp_path / "o.tif", keep_alpha=True)
    assert np.array_equal(stored.alpha, turn(rgba[..., 3]))
    assert np.abs(stored.stored.astype(int) - turn(rgba[..., 2::-1])).max() <= (1 if extra == 2 else 0)


def test_a_16_bit_grey_tiff_with_alpha_is_refused_not_cut_to_8_bits(tmp_path):
    """OpenCV decodes this layout as 8 bits (each sample >> 8): a 12-bit image came back at 0-15,
    every known pixel changed, and as a mask its 0/4095 strokes marked nothing, without a word."""
    from edgefill.errors import InputError
    from edgefill.imageio import read_mask

    ga = np.zeros((16, 20, 2), np.uint16)
    ga[..., 0] = np.arange(320).reshape(16, 20) * 12
    ga[..., 1] = 65535
    path = tmp_path / "ga.tif"
    path.write_bytes(tiff_bytes(ga, 2))
    for read in (read_image, read_stored_image, read_mask):
        with pytest.raises(InputError, match="16-bit samples, which OpenCV decodes as 8 bits"):
            read(path)


def test_a_16_bit_min_is_white_tiff_is_read_as_it_looks(tmp_path):
    """OpenCV inverts an 8-bit MinIsWhite grey TIFF but gives a 16-bit one raw: written back as
    MinIsBlack, the 16-bit one came out as its negative."""
    grey = (np.arange(320, dtype=np.uint16).reshape(16, 20, 1) * 200)
    data = tiff_bytes(grey, None)
    black = struct.pack("<HHIHH", 262, 3, 1, 1, 0)
    assert data.count(black) == 1
    path = tmp_path / "miniswhite.tif"
    path.write_bytes(data.replace(black, struct.pack("<HHIHH", 262, 3, 1, 0, 0)))  # Photometric MinIsWhite
    stored = read_stored_image(path).stored
    assert stored.dtype == np.uint16 and np.array_equal(stored, 65535 - grey[..., 0])


def test_the_pages_after_a_tiffs_first_are_said_to_be_left(tmp_path, caplog):
    """OpenCV reads a multi-page TIFF's first page only: inpaint wrote one page of three, silently."""
    data = tiff_bytes(np.zeros((8, 10, 3), np.uint8), None)
    (ifd_at,) = struct.unpack_from("<I", data, 4)
    second = data[ifd_at:]  # the same IFD again as page 2 (its strip too), the last one (next IFD 0)
    two_pages = data[:-4] + struct.pack("<I", len(data)) + second
    assert image_chunks.tiff_has_more_pages(two_pages) and not image_chunks.tiff_has_more_pages(data)
    path = tmp_path / "pages.tif"
    path.write_bytes(two_pages)
    assert read_stored_image(path).stored.shape == (8, 10, 3)
    assert "a TIFF of several pages; only its first page is read" in caplog.text


def test_a_grey_pngs_transparency_key_is_said_to_be_dropped(tmp_path, caplog):
    """OpenCV does not decode a grey PNG's tRNS key (an RGB or palette PNG's it gives as alpha): the
    output was an opaque grey PNG, silently."""
    import zlib

    data = cv2.imencode(".png", np.full((8, 10), 7, np.uint8))[1].tobytes()
    trns = struct.pack(">I", 2) + b"tRNS" + b"\x00\x07" + struct.pack(">I", zlib.crc32(b"tRNS\x00\x07"))
    path = tmp_path / "keyed.png"
    path.write_bytes(data[:33] + trns + data[33:])  # after the signature and IHDR
    read_stored_image(path, keep_alpha=True)
    assert "its transparency (a grey PNG's tRNS key) is dropped" in caplog.text
