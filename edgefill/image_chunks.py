"""Byte-level reading and writing of PNG and WebP chunks, for masks painted on a transparent layer.

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
