"""Reading and writing images and masks with clear errors and atomic writes."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from .errors import InputError
from .fileio import atomic_write_bytes

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: Refuse to decode images above this many pixels (OpenCV's own cap is 2**30).
MAX_PIXELS = 100_000_000


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG, BMP or GIF header, without decoding; None if unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:2] == b"BM" and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        return abs(w), abs(h)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:2] == b"\xff\xd8":  # JPEG: walk the markers to the first SOFn
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return w, h
            i += 2 + length
    return None


def _read(path: Path, flags: int, what: str) -> np.ndarray:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} {path} does not exist")
    if not path.is_file():
        raise InputError(f"{what} {path} is not a file")
    data = np.fromfile(str(path), dtype=np.uint8)
    if data.size == 0:
        raise InputError(f"{what} {path} is empty")
    size = declared_size(data[:65536].tobytes())
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise InputError(f"{what} {path} declares {size[0]}x{size[1]} pixels, above the {MAX_PIXELS} limit")
    img = cv2.imdecode(data, flags)
    if img is None or img.size == 0:
        raise InputError(f"{what} {path} is not a readable image")
    if img.shape[0] * img.shape[1] > MAX_PIXELS:
        raise InputError(f"{what} {path} has {img.shape[1]}x{img.shape[0]} pixels, above the {MAX_PIXELS} limit")
    return img


def read_image(path: Path) -> np.ndarray:
    """A BGR uint8 HxWx3 image. Grey and alpha images are converted; 16-bit images are
    scaled to 8 bits (rounded); other sample types are refused."""
    img = _read(path, cv2.IMREAD_UNCHANGED, "image")
    if img.dtype == np.uint16:
        img = ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise InputError(f"image {path} is {img.dtype}; only 8- and 16-bit images are supported")
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return img


def read_mask(path: Path) -> np.ndarray:
    """A uint8 HxW mask (255 = hole). Colour masks are reduced to grey."""
    m = _read(path, cv2.IMREAD_GRAYSCALE, "mask")
    return m


def write_image(path: Path, image: np.ndarray) -> None:
    """Encode by extension and write atomically (temporary file, fsync, rename)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in IMAGE_EXTS:
        raise InputError(f"cannot write {path}: unsupported extension {ext!r} (use one of {', '.join(IMAGE_EXTS)})")
    ok, buf = cv2.imencode(ext, image)
    if not ok:
        raise InputError(f"OpenCV could not encode {path}")
    atomic_write_bytes(path, buf.tobytes())
