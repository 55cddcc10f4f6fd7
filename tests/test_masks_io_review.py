"""Mask files and mask videos read as the docs say: strokes in a mask video's colour, strokes
painted on a transparent layer (alpha), turned upright with their EXIF orientation like the
colour, and a mask video released by close()."""

import struct
import zlib

import cv2
import numpy as np
import pytest

from edgefill.errors import InputError
from edgefill.imageio import read_mask
from edgefill.mask_sources import MaskPostprocess, MaskSequence, as_mask_source

FRAME = np.zeros((48, 64, 3), np.uint8)


def _colour_mask_video(path, bgr):
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for _ in range(3):
        f = np.zeros((48, 64, 3), np.uint8)
        f[10:30, 10:40] = bgr
        wr.write(f)
    wr.release()
    return path


@pytest.mark.parametrize("bgr", [(0, 0, 255), (255, 0, 0), (255, 255, 255)])
def test_a_mask_video_stroke_in_any_colour_marks_a_hole(tmp_path, bgr):
    # grey conversion made pure red 76 and blue 29, under the threshold: no hole at all
    m = MaskSequence(_colour_mask_video(tmp_path / "m.avi", bgr))(FRAME, 0)
    assert 0.9 * 600 <= np.count_nonzero(m[8:32, 8:42]) <= 24 * 34 and not m[35:].any()


def _exif(orientation):
    return b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) \
        + struct.pack("<I", 0)


def _png(bgra, orientation=None):
    data = cv2.imencode(".png", bgra)[1].tobytes()
    if orientation is None:
        return data
    payload = _exif(orientation)
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload + struct.pack(">I", zlib.crc32(b"eXIf" + payload))
    return data[:33] + chunk + data[33:]


def _webp(bgra, orientation=None):
    data = cv2.imencode(".webp", bgra, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes()
    if orientation is None:
        return data
    payload = _exif(orientation)
    h, w = bgra.shape[:2]
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([0x18, 0, 0, 0]) + (w - 1).to_bytes(3, "little") \
        + (h - 1).to_bytes(3, "little")
    body = b"WEBP" + vp8x + data[12:] + b"EXIF" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


STROKES = np.zeros((30, 50), np.uint8)
STROKES[2:9, 3:20] = 255  # top left: any turn or flip moves it
STROKES[20:27, 30:33] = 255


@pytest.mark.parametrize("colour", [0, 255])
@pytest.mark.parametrize("encode", [_png, _webp])
def test_strokes_on_a_transparent_layer_are_the_hole(tmp_path, encode, colour):
    # the colour is flat (black or white) and the alpha holds the strokes: the alpha is the mask,
    # as normalize_mask reads such an array (dropping it gave all 0, or all 255 for white)
    bgra = np.dstack([np.full_like(STROKES, colour)] * 3 + [STROKES])
    p = tmp_path / f"layer{encode.__name__}.{encode.__name__[1:]}"
    p.write_bytes(encode(bgra))
    assert np.array_equal(read_mask(p) > 127, STROKES > 0)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("encode", [_png, _webp])
def test_an_alpha_mask_is_turned_upright_as_its_colour_would_be(tmp_path, encode, orientation):
    # the same strokes once in the colour (which OpenCV turns by the EXIF) and once in the alpha
    in_colour = np.dstack([STROKES] * 3 + [np.full_like(STROKES, 255)])
    in_alpha = np.dstack([np.zeros_like(STROKES)] * 3 + [STROKES])
    (tmp_path / "colour.img").write_bytes(encode(in_colour, orientation))
    (tmp_path / "alpha.img").write_bytes(encode(in_alpha, orientation))
    expected = read_mask(tmp_path / "colour.img")
    if orientation > 1 and encode is _png:
        assert not np.array_equal(expected, STROKES)  # OpenCV does turn it here: the test can fail
    assert np.array_equal(read_mask(tmp_path / "alpha.img") > 127, expected > 127)


def test_an_opaque_or_colour_mask_ignores_its_alpha_as_before(tmp_path):
    bgra = np.dstack([STROKES] * 3 + [np.full_like(STROKES, 255)])
    (tmp_path / "opaque.png").write_bytes(_png(bgra))
    assert np.array_equal(read_mask(tmp_path / "opaque.png"), STROKES)
    empty = np.zeros((30, 50, 4), np.uint8)
    (tmp_path / "empty.png").write_bytes(_png(empty))
    assert not read_mask(tmp_path / "empty.png").any()


def test_a_mask_video_is_released_by_close_through_the_wrappers(tmp_path):
    from edgefill.mask_sources import close_source  # here: the other tests run on a build without it

    seq = MaskSequence(_colour_mask_video(tmp_path / "m.avi", (255, 255, 255)))
    source = MaskPostprocess(as_mask_source(seq, invert=True), dilate=1)
    source(FRAME, 0)
    cap = seq.cap
    close_source(source)
    assert seq.cap is None and not cap.isOpened()
    close_source(source)  # twice is fine
    with pytest.raises(InputError, match="closed"):
        seq(FRAME, 1)
    with MaskSequence(tmp_path / "m.avi") as again:
        again(FRAME, 0)
    assert again.cap is None


def test_a_huge_integer_in_a_shapes_file_is_one_clear_error(tmp_path):
    # json reads 1000...0 as an int; float() of it raised OverflowError, a traceback
    (tmp_path / "shapes.json").write_text('{"rects": [[1' + "0" * 400 + ', 0, 5, 5]]}')
    with pytest.raises(InputError, match="not a finite number"):
        as_mask_source(str(tmp_path / "shapes.json"))


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.mark.parametrize("kind", ["palette with tRNS", "grey and alpha"])
def test_alpha_in_the_other_png_colour_types_is_read_too(tmp_path, kind):
    h, w = STROKES.shape
    if kind == "palette with tRNS":  # index 1 is opaque black, index 0 transparent black
        pixels, ihdr = (STROKES > 0).astype(np.uint8), struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)
        extra = _chunk(b"PLTE", bytes(6)) + _chunk(b"tRNS", bytes([0, 255]))
    else:
        pixels, ihdr = np.dstack([np.zeros_like(STROKES), STROKES]), struct.pack(">IIBBBBB", w, h, 8, 4, 0, 0, 0)
        extra = b""
    raw = b"".join(b"\0" + pixels[r].tobytes() for r in range(h))
    (tmp_path / "m.png").write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra
                                     + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))
    assert np.array_equal(read_mask(tmp_path / "m.png") > 127, STROKES > 0)
