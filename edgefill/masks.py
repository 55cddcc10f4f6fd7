"""The public mask convention, validation and simple builders.

**Convention:** a mask is a single-channel uint8 (or bool) array the size of the
image. A non-zero value marks a **hole to fill**: 255 (or 1, or True) = fill,
0 = keep. 0/255 and 0/1 masks are both accepted. Grey values (from anti-aliasing
or JPEG) are thresholded at 128 when the mask's maximum is above 1. Pass
``invert=True`` if your masks mark the pixels to keep instead.

Internally the PConv network works with the complement (1 = valid pixel).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from .errors import InputError, ShapeError

log = logging.getLogger(__name__)

#: A mask covering more than this fraction of the image is probably inverted.
ALMOST_ALL = 0.9


def validate_image(image: object) -> np.ndarray:
    """Check that ``image`` is an HxWx3 uint8 BGR array; return it C-contiguous."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"the image must be a numpy array, not {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(f"the image must be uint8, not {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"the image must be HxWx3 (BGR), not shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"the image is empty (shape {image.shape})")
    return np.ascontiguousarray(image)


def normalize_mask(mask: object, shape: Sequence[int], invert: bool = False, warn: bool = True) -> np.ndarray:
    """Return a uint8 {0, 255} hole mask for an image of ``shape`` (H, W, ...).

    Accepts bool, uint8 0/1, uint8 0/255 (grey thresholded at 128), and HxWx1 or
    HxWx3 masks whose channels agree (a mask saved as a colour image).
    """
    if not isinstance(mask, np.ndarray):
        raise InputError(f"the mask must be a numpy array, not {type(mask).__name__}")
    if mask.ndim == 3 and mask.shape[2] in (1, 3, 4):
        mask = mask[..., 0] if mask.shape[2] == 1 else mask[..., :3].max(axis=2)
    if mask.ndim != 2:
        raise InputError(f"the mask must be HxW (one channel), not shape {mask.shape}")
    if tuple(mask.shape) != tuple(shape[:2]):
        raise ShapeError("the mask", mask.shape, tuple(shape[:2]))
    if mask.dtype == np.bool_:
        hole = mask
    elif mask.dtype == np.uint8:
        hole = mask > 0 if mask.max(initial=0) <= 1 else mask >= 128
    else:
        raise InputError(f"the mask must be uint8 or bool, not {mask.dtype}")
    if invert:
        hole = ~hole
    out = hole.astype(np.uint8) * np.uint8(255)
    if warn and out.size and np.count_nonzero(out) > ALMOST_ALL * out.size:
        log.warning(
            "the mask marks %.0f%% of the image as hole; 255 means 'fill'. If your mask marks "
            "the pixels to keep, pass invert=True (CLI: --invert-mask).",
            100.0 * np.count_nonzero(out) / out.size,
        )
    return out


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Grow the hole by ``pixels`` in every direction (elliptical kernel)."""
    if pixels <= 0:
        return mask
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask, k)


def from_rects(shape: Sequence[int], rects: Iterable[tuple[int, int, int, int]]) -> np.ndarray:
    """A hole mask from (x, y, w, h) rectangles, e.g. detector boxes."""
    mask = np.zeros(tuple(shape[:2]), np.uint8)
    for x, y, w, h in rects:
        if w <= 0 or h <= 0:
            raise InputError(f"rectangle {(x, y, w, h)} has no area")
        mask[max(0, y) : max(0, y + h), max(0, x) : max(0, x + w)] = 255
    return mask


def from_polygons(shape: Sequence[int], polygons: Iterable[Sequence[tuple[int, int]]]) -> np.ndarray:
    """A hole mask from polygons given as lists of (x, y) points."""
    mask = np.zeros(tuple(shape[:2]), np.uint8)
    for poly in polygons:
        pts = np.asarray(poly, np.int32).reshape(-1, 2)
        if len(pts) < 3:
            raise InputError(f"a polygon needs at least 3 points, got {len(pts)}")
        cv2.fillPoly(mask, [pts], 255)
    return mask
