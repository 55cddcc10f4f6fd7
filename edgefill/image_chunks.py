"""Byte-level reading and writing of PNG and WebP chunks, for masks painted on a transparent layer,
of a TIFF's first IFD, and the count of a GIF's frames.

OpenCV applies a file's EXIF orientation only to a decode that drops alpha. To turn a mask's
alpha channel exactly as OpenCV turned its colour, :func:`edgefill.imageio.read_mask` re-encodes
the alpha as a grey image of the same format carrying the file's EXIF chunk (:func:`with_exif`)
and lets OpenCV decode that. Only the chunk layout is handled here; pixels are OpenCV's.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def exif_chunk(data: bytes) -> bytes | None:
    """The whole EXIF chunk of a PNG (``eXIf``) or WebP (``EXIF``) file; None for other formats
    or a file without one."""
    if data.startswith(PNG_SIGNATURE):
        return png_chunk(data, b"eXIf")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return riff_chunk(data, b"EXIF")
    return None


def may_have_alpha(data: bytes) -> bool:
    """False for a JPEG and for a PNG of a colour type without alpha and no tRNS chunk, which
    cannot hold alpha; True otherwise (decode to know)."""
    if data[:2] == b"\xff\xd8":
        return False
    if data.startswith(PNG_SIGNATURE) and len(data) > 25:
        return data[25] in (4, 6) or png_chunk(data, b"tRNS") is not None
    return True


def png_chunk(data: bytes, kind: bytes) -> bytes | None:
    """The first ``kind`` chunk of a PNG, whole (length, type, data, CRC); None if it has none."""
    i = 8
    while i + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, i)
        if data[i + 4:i + 8] == kind:
            return data[i:i + 12 + length]
        if data[i + 4:i + 8] == b"IEND":
            break
        i += 12 + length
    return None


def riff_chunk(data: bytes, kind: bytes) -> bytes | None:
    """The first ``kind`` chunk of a WebP (RIFF) file, whole (type, size, data, padding)."""
    i = 12
    while i + 8 <= len(data):
        (size,) = struct.unpack_from("<I", data, i + 4)
        end = i + 8 + size + (size & 1)
        if data[i:i + 4] == kind:
            return data[i:end]
        i = end
    return None


def with_exif(grey: np.ndarray, magic: bytes, exif: bytes) -> bytes:
    """``grey`` encoded as a PNG (``magic`` b"\\x89PNG") or lossless WebP holding the chunk ``exif``."""
    if magic.startswith(b"\x89PNG"):
        png = cv2.imencode(".png", grey)[1].tobytes()
        return png[:33] + exif + png[33:]  # after the signature and IHDR (8 + 25 bytes)
    webp = cv2.imencode(".webp", grey, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes()  # 101: lossless (VP8L)
    h, w = grey.shape[:2]
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([0x08, 0, 0, 0]) + (w - 1).to_bytes(3, "little") + \
        (h - 1).to_bytes(3, "little")  # 0x08: the file has EXIF
    body = b"WEBP" + vp8x + webp[12:] + exif
    return b"RIFF" + struct.pack("<I", len(body)) + body


#: TIFF tag: what each sample beyond the colour ones is (0 unspecified, 1 associated alpha,
#: that is premultiplied, 2 unassociated alpha)
EXTRA_SAMPLES = 338
#: value sizes of the integer TIFF field types: BYTE, SHORT, LONG, LONG8 (BigTIFF)
_TIFF_INTS = {1: "B", 3: "H", 4: "I", 16: "Q"}


#: the first four bytes of a TIFF: classic and BigTIFF, little- and big-endian
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def is_tiff(data: bytes) -> bool:
    return bytes(data[:4]) in TIFF_MAGICS


def tiff_has_more_pages(data: bytes) -> bool:
    """Whether a TIFF's first IFD links to a second (a multi-page TIFF, of which OpenCV's
    ``imdecode`` reads the first page only). Truncated data raises ``struct.error``."""
    e = "<" if data[:2] == b"II" else ">"
    (version,) = struct.unpack_from(e + "H", data, 2)
    if version == 42:
        (ifd,) = struct.unpack_from(e + "I", data, 4)
        (count,) = struct.unpack_from(e + "H", data, ifd)
        (following,) = struct.unpack_from(e + "I", data, ifd + 2 + 12 * count)
    elif version == 43:  # BigTIFF
        (ifd,) = struct.unpack_from(e + "Q", data, 8)
        (count,) = struct.unpack_from(e + "Q", data, ifd)
        (following,) = struct.unpack_from(e + "Q", data, ifd + 8 + 20 * count)
    else:
        return False
    return following != 0


def tiff_tags(data: bytes, wanted: tuple[int, ...]) -> dict[int, tuple[int, ...]]:
    """The values of the integer tags ``wanted`` in a TIFF's (classic or BigTIFF, either byte
    order) first IFD, each a tuple; a tag of another type, or one absent, is left out.
    Truncated data raises ``struct.error`` (or ``IndexError``)."""
    e = "<" if data[:2] == b"II" else ">"
    (version,) = struct.unpack_from(e + "H", data, 2)
    if version == 42:
        (ifd,) = struct.unpack_from(e + "I", data, 4)
        (count,) = struct.unpack_from(e + "H", data, ifd)
        first, entry, inline, offset_fmt = ifd + 2, 12, 4, "I"
    elif version == 43:  # BigTIFF
        (ifd,) = struct.unpack_from(e + "Q", data, 8)
        (count,) = struct.unpack_from(e + "Q", data, ifd)
        first, entry, inline, offset_fmt = ifd + 8, 20, 8, "Q"
    else:
        return {}
    found: dict[int, tuple[int, ...]] = {}
    for k in range(min(count, (len(data) - first) // entry)):
        at = first + k * entry
        tag, kind = struct.unpack_from(e + "HH", data, at)
        if tag not in wanted or kind not in _TIFF_INTS:
            continue
        (n,) = struct.unpack_from(e + offset_fmt, data, at + 4)
        if not 1 <= n <= 64:  # the tags read here hold a few values; more is a damaged header
            continue
        fmt = e + _TIFF_INTS[kind] * n
        value_at = at + 4 + inline  # the count's field, then the value's (or the offset to it)
        if struct.calcsize(fmt) > inline:
            (value_at,) = struct.unpack_from(e + offset_fmt, data, value_at)
        found[tag] = struct.unpack_from(fmt, data, value_at)
        if len(found) == len(wanted):
            break
    return found


def gif_frames(data: bytes, stop: int = 2) -> int:
    """The frames (image descriptors) of the GIF ``data``, counted up to ``stop``; a damaged or
    truncated file counts the frames found before the damage. Walks the blocks without decoding:
    the header and colour tables, then extensions and images as lengths of sub-blocks."""
    if not data.startswith((b"GIF87a", b"GIF89a")) or len(data) < 13:
        return 0
    pos = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    frames = 0
    while pos < len(data) and frames < stop:
        kind = data[pos]
        if kind == 0x2C:  # an image: its descriptor, local colour table, LZW code size, data
            if pos + 10 > len(data):
                break
            frames += 1
            packed = data[pos + 9]
            pos += 10 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0) + 1
        elif kind == 0x21:  # an extension: its label, then data
            pos += 2
        else:  # 0x3B, the trailer, or damage
            break
        while pos < len(data) and data[pos]:  # sub-blocks, each led by its length, up to a 0
            pos += data[pos] + 1
        pos += 1
    return frames
