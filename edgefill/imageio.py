"""Reading and writing images and masks with clear errors and atomic writes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .errors import InputError
from .fileio import atomic_write_bytes

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: Refuse to decode images above this many pixels (OpenCV's own cap is 2**30).
MAX_PIXELS = 100_000_000


def _read(path: Path, flags: int, what: str) -> np.ndarray:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} {path} does not exist")
    if not path.is_file():
        raise InputError(f"{what} {path} is not a file")
    data = np.fromfile(str(path), dtype=np.uint8)
    if data.size == 0:
        raise InputError(f"{what} {path} is empty")
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
