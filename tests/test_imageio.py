"""edgefill.imageio: reading images and masks (orientation, bit depth, alpha) and the pixel cap
checked from the file's header before anything is decoded."""

import struct
import zlib

import cv2
import numpy as np
import pytest

from edgefill import imageio
from edgefill.errors import InputError
from edgefill.imageio import MAX_PIXELS, declared_size, read_image, read_mask

BIG = (20000, 10000)  # 2 * 10**8 pixels, above MAX_PIXELS


def _exif_orientation_jpeg(image: np.ndarray, orientation: int) -> bytes:
    """``image`` as a JPEG whose EXIF says to rotate it (6: 90 degrees clockwise)."""
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    data = buf.tobytes()
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 1) + \
        struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def test_image_and_mask_follow_the_exif_orientation_alike(tmp_path):
    img = np.zeros((100, 200, 3), np.uint8)
    img[:, :100] = 255  # left half white
    p = tmp_path / "rot.jpg"
    p.write_bytes(_exif_orientation_jpeg(img, 6))
    image, mask = read_image(p), read_mask(p)
    assert image.shape == (200, 100, 3) and mask.shape == (200, 100)
    assert image.shape == cv2.imread(str(p)).shape  # as the README's cv2.imread reads it
    # rotated clockwise: the white left half is now the top half, in both
    assert image[:90].min() > 200 and image[110:].max() < 50
    assert np.array_equal(mask > 128, image[..., 1] > 128)


def _write(tmp_path, name, array):
    p = tmp_path / name
    assert cv2.imwrite(str(p), array)
    return p


def test_read_image_keeps_its_promises_on_depth_grey_and_alpha(tmp_path):
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (6, 7, 3), np.uint8)
    assert np.array_equal(read_image(_write(tmp_path, "a.png", bgr)), bgr)
    grey = bgr[..., 0].copy()
    assert np.array_equal(read_image(_write(tmp_path, "g.png", grey)), cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    bgra = np.dstack([bgr, rng.integers(0, 256, (6, 7), np.uint8)])
    for ext in (".png", ".tiff", ".webp"):
        out = read_image(_write(tmp_path, "alpha" + ext, bgra))
        assert out.shape == (6, 7, 3) and out.dtype == np.uint8, ext
    assert np.array_equal(read_image(tmp_path / "alpha.png"), bgr)  # alpha dropped, colour kept
    deep = rng.integers(0, 65536, (6, 7, 3), np.uint16)
    out = read_image(_write(tmp_path, "d.png", deep))
    assert out.dtype == np.uint8 and np.array_equal(out, ((deep.astype(np.uint32) + 128) // 257).astype(np.uint8))
    out = read_image(_write(tmp_path, "da.png", np.dstack([deep, deep[..., 0]])))  # 16-bit with alpha
    assert out.shape == (6, 7, 3) and out.dtype == np.uint8
    with pytest.raises(InputError, match="float32"):
        read_image(_write(tmp_path, "f.tiff", rng.random((6, 7, 3)).astype(np.float32)))


def test_read_mask_marks_a_hole_where_any_colour_channel_does(tmp_path):
    """Strokes painted in red or blue are holes, as normalize_mask reads a colour array and a mask
    video's frames (grey conversion made them 76 and 29, under the threshold: nothing filled)."""
    from edgefill.masks import normalize_mask

    colour = np.zeros((6, 8, 3), np.uint8)
    colour[1, 1:4] = (0, 0, 255)  # red, BGR
    colour[3, 2:6] = (255, 0, 0)  # blue
    colour[5, 0] = (40, 30, 20)  # dark: no hole
    for name in ("c.png", "c.bmp", "ca.png"):
        arr = np.dstack([colour, np.full((6, 8), 255, np.uint8)]) if name == "ca.png" else colour
        mask = read_mask(_write(tmp_path, name, arr))
        assert mask.shape == (6, 8) and mask.dtype == np.uint8, name
        assert np.array_equal(normalize_mask(mask, (6, 8)), normalize_mask(colour, (6, 8))), name
        assert np.count_nonzero(normalize_mask(mask, (6, 8))) == 7, name


def test_read_mask_keeps_a_16_bit_0_1_mask_and_scales_a_0_65535_one(tmp_path):
    from edgefill.masks import normalize_mask

    ones = np.zeros((5, 5), np.uint16)
    ones[1:3, 1:4] = 1
    for values in (ones, ones * 65535):
        mask = read_mask(_write(tmp_path, "m16.png", values))
        assert mask.dtype == np.uint8 and np.count_nonzero(normalize_mask(mask, (5, 5))) == 6
    grey = read_mask(_write(tmp_path, "g.png", (ones * 200).astype(np.uint8)))  # 8-bit grey unchanged
    assert np.array_equal(grey, (ones * 200).astype(np.uint8))


@pytest.mark.parametrize("peak", [255, 1023, 4095, 65535])
def test_a_16_bit_mask_is_scaled_over_the_bits_it_uses(tmp_path, peak):
    # a 10- or 12-bit camera's mask stored in 16 bits: divided by 257 its 4095 became 16, no hole
    values = np.zeros((6, 7), np.uint16)
    values[1:4, 2:6] = peak
    values[5, 0] = peak // 3  # a soft edge, under the threshold after scaling
    mask = read_mask(_write(tmp_path, "m.png", values))
    assert mask.dtype == np.uint8 and mask.max() == 255 and mask[5, 0] == 85
    assert np.count_nonzero(mask >= 128) == 12


# --- headers, as written by the encoders, and hand-made ones declaring a huge size ---

@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tiff", ".webp"])
def test_declared_size_of_encoded_images(ext):
    for shape in ((3, 5, 3), (37, 21, 3), (37, 21)):
        ok, buf = cv2.imencode(ext, np.zeros(shape, np.uint8))
        assert ok
        assert declared_size(buf.tobytes()) == (shape[1], shape[0]), (ext, shape)


def test_declared_size_of_lossless_webp():
    ok, buf = cv2.imencode(".webp", np.zeros((37, 21, 3), np.uint8), [cv2.IMWRITE_WEBP_QUALITY, 101])
    assert ok and buf.tobytes()[12:16] == b"VP8L"
    assert declared_size(buf.tobytes()) == (21, 37)


def _png(w, h):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")


def _jpeg(w, h, app_segments=0):
    """A JPEG whose frame header (SOF0) declares w x h, after ``app_segments`` APP2 segments
    of 64 KB each (an ICC profile is stored so), then a few scan bytes."""
    app = (b"\xff\xe2" + struct.pack(">H", 65535) + b"ICC_PROFILE\0" + b"\0" * (65533 - 12)) * app_segments
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, h, w, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app + sof + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\0" * 64 + b"\xff\xd9"


def _tiff(w, h, order="<", kind=4, version=42):
    """A TIFF (or BigTIFF) whose first IFD declares w x h (SHORT or LONG) and little else."""
    fmt = {3: "H", 4: "I", 16: "Q"}[kind]
    magic = (b"II" if order == "<" else b"MM") + struct.pack(order + "H", version)
    if version == 42:
        value = struct.pack(order + fmt, w).ljust(4, b"\0"), struct.pack(order + fmt, h).ljust(4, b"\0")
        entries = [struct.pack(order + "HHI", 254, 4, 1) + b"\0" * 4,
                   struct.pack(order + "HHI", 256, kind, 1) + value[0],
                   struct.pack(order + "HHI", 257, kind, 1) + value[1]]
        return magic + struct.pack(order + "I", 8) + struct.pack(order + "H", len(entries)) + b"".join(entries) + b"\0" * 4
    value = struct.pack(order + fmt, w).ljust(8, b"\0"), struct.pack(order + fmt, h).ljust(8, b"\0")
    entries = [struct.pack(order + "HHQ", 256, kind, 1) + value[0], struct.pack(order + "HHQ", 257, kind, 1) + value[1]]
    return magic + struct.pack(order + "HHQ", 8, 0, 16) + struct.pack(order + "Q", len(entries)) + b"".join(entries)


def _webp(chunk, w, h):
    if chunk == b"VP8 ":
        body = b"\x00\x00\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", w, h) + b"\0" * 20
    elif chunk == b"VP8L":
        body = b"\x2f" + struct.pack("<I", (w - 1) | (h - 1) << 14) + b"\0" * 20
    else:
        body = b"\x10\0\0\0" + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    data = b"WEBP" + chunk + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", len(data)) + data


def _bmp(w, h, core=False):
    if core:  # OS/2 BITMAPCOREHEADER: 12 bytes, 16-bit sizes
        return b"BM" + struct.pack("<IHHI", 26, 0, 0, 26) + struct.pack("<IHHHH", 12, w, h, 1, 24)
    return b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, w, -h, 1, 24, 0, 0, 0, 0, 0, 0)


HEADERS = {
    "png": lambda w, h: _png(w, h),
    "jpeg": lambda w, h: _jpeg(w, h),
    "jpeg after 128 KB of APP2": lambda w, h: _jpeg(w, h, app_segments=2),
    "jpeg with stray bytes": lambda w, h: _jpeg(w, h).replace(b"\xff\xc0", b"\0\0\xff\xc0", 1),
    "bmp top-down": lambda w, h: _bmp(w, h),
    "tiff LE LONG": lambda w, h: _tiff(w, h, "<", 4),
    "tiff BE LONG": lambda w, h: _tiff(w, h, ">", 4),
    "tiff LE SHORT": lambda w, h: _tiff(w, h, "<", 3),
    "tiff BE SHORT": lambda w, h: _tiff(w, h, ">", 3),
    "bigtiff LONG8": lambda w, h: _tiff(w, h, ">", 16, version=43),
    "webp lossy": lambda w, h: _webp(b"VP8 ", min(w, 16383), min(h, 16383)),
    "webp lossless": lambda w, h: _webp(b"VP8L", min(w, 16384), min(h, 16384)),
    "webp extended": lambda w, h: _webp(b"VP8X", w, h),
}


@pytest.mark.parametrize("kind", HEADERS)
def test_declared_size_of_hand_made_headers(kind):
    data = HEADERS[kind](300, 200)
    assert declared_size(data) == (300, 200)


@pytest.mark.parametrize("kind", HEADERS)
def test_huge_declared_images_are_refused_before_decoding(tmp_path, monkeypatch, kind):
    """The pixel cap holds for every format OpenCV would decode in full: nothing is decoded."""
    data = HEADERS[kind](*BIG)
    w, h = declared_size(data)
    assert w * h > MAX_PIXELS
    p = tmp_path / "bomb"
    p.write_bytes(data)

    def no_decoding(*args):
        raise AssertionError("decoded a file whose header declares too many pixels")

    monkeypatch.setattr(imageio.cv2, "imdecode", no_decoding)
    for read in (read_image, read_mask):
        with pytest.raises(InputError, match=f"declares {w}x{h} pixels"):
            read(p)


def test_os2_bitmap_is_read(tmp_path):
    """An OS/2 BMP (12-byte header, 16-bit sizes) was misread as 131076 x 1572865 and refused."""
    w, h = 4, 2
    row = (b"\x00\x00\xff" * w).ljust((w * 3 + 3) // 4 * 4, b"\0")
    data = _bmp(w, h, core=True)
    data = data[:2] + struct.pack("<I", len(data) + len(row) * h) + data[6:] + row * h
    assert declared_size(data) == (4, 2)
    p = tmp_path / "os2.bmp"
    p.write_bytes(data)
    out = read_image(p)
    assert out.shape == (2, 4, 3) and out.dtype == np.uint8  # (OpenCV decodes these 24-bit ones as grey)


@pytest.mark.parametrize("data", [b"", b"\xff\xd8", b"\xff\xd8\xff\xe0\x00", b"\xff\xd8\xff\xda\x00\x08" + b"\0" * 20,
                                  b"II*\x00\xff\xff\xff\xff", b"MM\x00*\x00\x00\x00\x08\x00\x01", b"RIFF\0\0\0\0WEBPVP8 ",
                                  b"RIFF\0\0\0\0AVI LIST", b"BM\0\0", b"P6\n3 3\n255\n", b"\x89PNG\r\n\x1a\n"])
def test_unknown_or_broken_headers_give_none(data):
    """Then the image is decoded and its decoded size checked, as before."""
    assert declared_size(data) is None


def test_truncated_and_flipped_headers_never_raise():
    rng = np.random.default_rng(0)
    for make in HEADERS.values():
        data = make(300, 200)
        for _ in range(40):
            b = bytearray(data[: int(rng.integers(0, len(data) + 1))])
            for pos in rng.integers(0, max(1, len(b)), int(rng.integers(0, 4))):
                if b:
                    b[pos] ^= int(rng.integers(1, 256))
            size = declared_size(bytes(b))
            assert size is None or (isinstance(size[0], int) and isinstance(size[1], int))


def test_image_files_in_sequence_order_without_hidden_or_other_files(tmp_path):
    from edgefill.imageio import image_files

    for name in ("f10.png", "f2.jpg", "f1.PNG", "._f1.png", ".hidden.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "dir.png").mkdir()
    assert [p.name for p in image_files(tmp_path)] == ["f1.PNG", "f2.jpg", "f10.png"]


def test_write_image_reports_an_unwritable_place_as_an_input_error(tmp_path):
    import numpy as np

    from edgefill.errors import InputError
    from edgefill.imageio import write_image

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write .*a.png"):
        write_image(blocker / "a.png", np.zeros((4, 4, 3), np.uint8))


def _wide_bmp(width: int) -> bytes:
    row = width * 3 + (-width * 3) % 4
    return (b"BM" + struct.pack("<IHHI", 54 + row, 0, 0, 54)
            + struct.pack("<IiiHHIIiiII", 40, width, 1, 1, 24, 0, row, 0, 0, 0, 0) + bytes(row))


@pytest.mark.parametrize("name,data", [
    # found by benchmarks/fuzz_loaders.py: an IFD offset past 2**63 raised OverflowError
    ("big.tif", b"II+\x00\x08\x00\x00\x00" + (2**63 + 5).to_bytes(8, "little")),
    # within MAX_PIXELS but wider than OpenCV's decoders take: cv2.error escaped
    ("wide.bmp", _wide_bmp(1_048_577)),
])
def test_headers_the_fuzzer_found_are_input_errors(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(InputError, match="not a readable image"):
        read_image(tmp_path / name)
    assert declared_size(data) is None or declared_size(data)[0] * declared_size(data)[1] <= MAX_PIXELS
