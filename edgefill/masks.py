"""The public mask convention, validation and simple builders.

**Convention:** a mask is a single-channel uint8 (or bool) array the size of the
image. A non-zero value marks a **hole to fill**: 255 (or 1, or True) = fill,
0 = keep. 0/255 and 0/1 masks are both accepted. Grey values (from anti-aliasing
or JPEG) are thresholded at 128 when the mask's maximum is above 1 (a mask whose
values are all below 128 therefore has no hole; a warning says so). Pass
``invert=True`` if your masks mark the pixels to keep instead. Masks saved as
colour images count any channel; see :func:`normalize_mask` for those and for
masks with an alpha channel.

Internally the PConv network works with the complement (1 = valid pixel).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from .checks import is_whole
from .errors import ConfigError, InputError, ShapeError

log = logging.getLogger(__name__)

#: A mask covering more than this fraction of the image is probably inverted.
ALMOST_ALL = 0.9

#: Holes a mask source (:mod:`edgefill.mask_sources`) has already checked for that, knowing
#: whether it inverted them; see :func:`mark_checked`.
_checked: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def mark_checked(hole: np.ndarray) -> np.ndarray:
    """Record that ``hole`` (the very array, not a copy) has had its "almost the whole image"
    check, by a mask source that knows whether it was inverted, and return it.
    :func:`normalize_mask` does not warn about it again: the Inpainter normalizes the pipeline's
    every hole with ``invert=False``, and its warning told users who had passed ``--invert-mask``
    to pass it."""
    _checked[id(hole)] = hole
    return hole


def is_checked(mask: object) -> bool:
    """Whether ``mask`` is a hole passed to :func:`mark_checked`."""
    return _checked.get(id(mask)) is mask


def is_flat(a: np.ndarray) -> bool:
    """Whether every pixel of an HxW or HxWxC array has one value, channel by channel (a layer
    of pure red is flat, though its minimum and maximum differ); an empty array is."""
    if a.size == 0:
        return True
    if a.ndim == 3:
        if a.flags.c_contiguous:  # flat per channel <=> its bytes repeat with the pixel's period:
            flat = a.reshape(-1)  # 0.5 ms at 1080p (a broadcast compare with a 3-vector took 8.6)
            return bool(np.array_equal(flat[a.shape[2]:], flat[:-a.shape[2]]))
        return all(a[..., c].min() == a[..., c].max() for c in range(a.shape[2]))
    return bool(a.min() == a.max())


def almost_all(hole: np.ndarray) -> bool:
    """Whether the hole covers more than :data:`ALMOST_ALL` of the image."""
    return bool(hole.size) and np.count_nonzero(hole) > ALMOST_ALL * hole.size


def warn_if_almost_all(hole: np.ndarray, invert: bool, once: bool = False) -> bool:
    """Log a warning when the {0, 255} ``hole`` covers almost the whole image (probably an
    inverted mask), with the advice that fits whether ``invert`` made it the complement;
    whether it warned. ``once``: the caller will not warn about later frames, and it says so."""
    if not almost_all(hole):
        return False
    advice = ("inverted (invert=True, CLI: --invert-mask), so 0 means 'fill': if your mask already marks "
              "the holes with 255, leave the inversion out" if invert else
              "255 means 'fill'. If your mask marks the pixels to keep, pass invert=True (CLI: --invert-mask)")
    log.warning("the mask marks %.0f%% of the image as hole; %s.%s", 100.0 * np.count_nonzero(hole) / hole.size, advice,
                " (Said once: later frames of this mask source are not warned about.)" if once else "")
    return True


def validate_image(image: object, dtypes: tuple = (np.uint8,)) -> np.ndarray:
    """Check that ``image`` is an HxWx3 BGR array of one of ``dtypes`` (uint8 unless told);
    return it C-contiguous."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"the image must be a numpy array, not {type(image).__name__}")
    if image.dtype not in dtypes:
        raise InputError(f"the image must be {' or '.join(np.dtype(d).name for d in dtypes)}, not {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"the image must be HxWx3 (BGR), not shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"the image is empty (shape {image.shape})")
    return np.ascontiguousarray(image)


def normalize_mask(mask: object, shape: Sequence[int], invert: bool = False, warn: bool = True,
                   warn_almost_all: bool = True, said: set | None = None) -> np.ndarray:
    """Return a uint8 {0, 255} hole mask for an image of ``shape`` (H, W, ...).

    Accepts bool, uint8 0/1 and uint8 0/255 (grey thresholded at 128) masks, HxW or with
    channels:

    - HxWx1;
    - HxWx3 (a mask saved as a colour image, or strokes drawn in colour on black): a pixel is a
      hole where any channel marks it;
    - HxWx4 (e.g. a PNG read with ``cv2.IMREAD_UNCHANGED``): the channels that carry the mask
      are used. With a constant alpha (an opaque image) the colour channels are, as for HxWx3;
      with constant colour channels and a varying alpha (strokes painted on a transparent
      layer) the alpha is, read like a grey mask (255 = hole). When both vary the mask is
      ambiguous and refused: pass ``mask[..., 3]`` or ``mask[..., :3]``.

    With ``warn``, logs a warning when the hole covers almost the whole image (probably
    inverted), and when the mask has non-zero pixels of which none reaches the threshold; not
    for a hole a mask source has checked already (:func:`mark_checked`). ``warn_almost_all=False``
    leaves the first of these to the caller (:func:`warn_if_almost_all`, once per source).
    ``said``, a mask source's own set, makes the second once per source: it holds ``"faint"``
    once that was said (a mask video's every frame said it).
    """
    if not isinstance(mask, np.ndarray):
        raise InputError(f"the mask must be a numpy array, not {type(mask).__name__}")
    warn = warn and not is_checked(mask)
    if mask.dtype not in (np.uint8, np.bool_):
        hint = ""
        if mask.dtype.kind == "f":  # a segmentation network's probability map, most often
            hint = " (threshold a probability map first, e.g. mask > 0.5)"
        elif mask.dtype.kind in "iu":
            hint = " (e.g. mask > 0 for a label image whose non-zero labels are holes)"
        raise InputError(f"the mask must be uint8 or bool, not {mask.dtype}{hint}")
    if mask.ndim == 3 and mask.shape[2] == 4:
        mask = _mask_channels(mask)
    if mask.ndim == 3 and mask.shape[2] in (1, 3):
        hi = mask[..., 0] if mask.shape[2] == 1 else mask.max(axis=2)
    elif mask.ndim == 2:
        hi = mask
    else:
        raise InputError(f"the mask must be HxW (one channel), not shape {mask.shape}")
    if tuple(hi.shape) != tuple(shape[:2]):
        raise ShapeError("the mask", hi.shape, tuple(shape[:2]))
    peak = int(hi.max(initial=0))
    hole = _threshold(hi, peak)
    if warn and hi.dtype == np.uint8 and 1 < peak < 128 and (said is None or "faint" not in said):
        log.warning(
            "the mask has non-zero pixels but none reaches 128 (its largest value is %d): masks with values "
            "above 1 are thresholded at 128, so %s. Use 255 (or 1) for hole pixels.%s",
            peak, "every pixel is a hole after invert" if invert else "it marks no hole and nothing is filled",
            "" if said is None else " (Said once: later frames of this mask source are not warned about.)",
        )
        if said is not None:
            said.add("faint")
    if invert:
        hole = ~hole
    out = hole.astype(np.uint8) * np.uint8(255)
    if warn and warn_almost_all:
        warn_if_almost_all(out, invert)
    return out


def _threshold(mask: np.ndarray, peak: int) -> np.ndarray:
    """The hole (bool) of one channel; ``peak``, the mask's maximum, picks 0/1 or grey."""
    if mask.dtype == np.bool_:
        return mask
    return mask > 0 if peak <= 1 else mask >= 128


def _mask_channels(mask: np.ndarray) -> np.ndarray:
    """The channels of an HxWx4 mask that carry it (see :func:`normalize_mask`)."""
    colour, alpha = mask[..., :3], mask[..., 3]
    if alpha.size == 0 or alpha.min() == alpha.max():
        return colour
    chosen = alpha_or_colour(colour, alpha)
    if chosen is None:
        raise InputError("the mask is HxWx4 and both its colour and its alpha vary, so which marks the hole is "
                         "ambiguous: pass mask[..., 3] to use the alpha (non-zero = hole) or mask[..., :3] for the "
                         "colour")
    return chosen


def alpha_or_colour(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray | None:
    """Of a mask whose alpha varies, the part that marks the hole: the alpha when the colour is
    one value; the colour when the two mark the same pixels; the alpha when the colour is one
    hole colour wherever the alpha is not 0
    (strokes of one bright colour on a transparent layer, whatever colour the transparent pixels
    hold: a white layer's was all "hole"); None otherwise (ambiguous: dark opaque paint with a
    bright transparent rest marks one thing by its colour and the other by its alpha)."""
    if is_flat(colour):  # one colour (a red layer too): the alpha is all there is
        return alpha
    grey = colour.max(axis=2) if colour.ndim == 3 else colour
    by_colour = _threshold(grey, int(grey.max(initial=0)))
    if np.array_equal(by_colour, _threshold(alpha, int(alpha.max(initial=0)))):
        return colour
    opaque = alpha > 0
    painted = colour[opaque].reshape(-1, 1, colour.shape[-1]) if colour.ndim == 3 else colour[opaque]
    if opaque.any() and is_flat(painted) and by_colour[opaque].all():
        return alpha
    return None


def hole_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the non-zero pixels of an HxW mask; w == 0 when there are none. A uint8
    mask is measured directly, without listing every hole pixel first (cv2.findNonZero)."""
    if mask.dtype == np.uint8 and mask.ndim == 2:
        return cv2.boundingRect(mask)
    pts = cv2.findNonZero(mask)
    return (0, 0, 0, 0) if pts is None else cv2.boundingRect(pts)


def copy_where(dst: np.ndarray, src: np.ndarray, mask: np.ndarray) -> None:
    """``dst[mask > 0] = src[mask > 0]`` in place (``mask`` HxW, bool or uint8): by OpenCV's masked
    copy where it writes into ``dst`` itself (uint8 images of one shape), an order of magnitude
    faster than numpy's boolean indexing, which does the rest."""
    if dst.shape == src.shape and dst.dtype == src.dtype == np.uint8 and dst.shape[:2] == mask.shape:
        m8 = mask.view(np.uint8) if mask.dtype == np.bool_ else mask
        if np.may_share_memory(cv2.copyTo(src, m8, dst), dst):
            return
    sel = mask > 0
    dst[sel] = src[sel]


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Grow the hole by ``pixels`` in every direction (elliptical kernel)."""
    if not is_whole(pixels):
        raise ConfigError(f"dilation is a whole number of pixels, got {pixels!r}")
    if pixels <= 0:
        return mask
    if isinstance(mask, np.ndarray) and mask.dtype == np.bool_:  # OpenCV has no bool type
        return dilate(mask.view(np.uint8), pixels).view(np.bool_)
    if pixels >= mask.shape[0] + mask.shape[1]:  # the kernel reaches every pixel from every pixel: the
        # same result without a (2 * pixels + 1)^2 kernel (gigabytes, and minutes per frame, for a huge value)
        return np.full_like(mask, mask.max(initial=0))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    if mask.dtype != np.uint8 or mask.ndim != 2:  # (not from edgefill's own callers) the whole frame
        return cv2.dilate(mask, k)
    # Only the hole's bounding box grown by `pixels` can change, so dilate that window alone: the
    # same pixels as dilating the whole frame, at a fraction of the cost for a hole in a large
    # frame (a 200x200 hole in 1080p: the window is 2% of the frame).
    x, y, w, h = hole_box(mask)
    if w == 0:
        return mask.copy()
    y0, x0 = max(0, y - pixels), max(0, x - pixels)
    y1, x1 = min(mask.shape[0], y + h + pixels), min(mask.shape[1], x + w + pixels)
    out = np.zeros_like(mask)
    out[y0:y1, x0:x1] = cv2.dilate(mask[y0:y1, x0:x1], k)
    return out


def from_rects(shape: Sequence[int], rects: Iterable[tuple[int, int, int, int]]) -> np.ndarray:
    """A hole mask from (x, y, w, h) rectangles, e.g. detector boxes."""
    mask = np.zeros(tuple(shape[:2]), np.uint8)
    for rect in rects:
        x, y, w, h = _rect(rect)
        if w <= 0 or h <= 0:
            raise InputError(f"rectangle {(x, y, w, h)} has no area")
        mask[max(0, y) : max(0, y + h), max(0, x) : max(0, x + w)] = 255
    return mask


def _rect(rect: object) -> tuple[int, int, int, int]:
    """One (x, y, w, h) rectangle of whole numbers; InputError otherwise (e.g. a detector's float box)."""
    if isinstance(rect, (str, bytes)) or not isinstance(rect, (Sequence, np.ndarray)) or len(rect) != 4 \
            or not all(is_whole(v) for v in rect):
        raise InputError(f"a rectangle is 4 whole numbers (x, y, w, h), got {rect!r}")
    return rect[0], rect[1], rect[2], rect[3]


def from_polygons(shape: Sequence[int], polygons: Iterable[Sequence[tuple[int, int]]]) -> np.ndarray:
    """A hole mask from polygons given as lists of (x, y) points."""
    mask = np.zeros(tuple(shape[:2]), np.uint8)
    for poly in polygons:
        pts = _points(poly)
        if len(pts) < 3:
            raise InputError(f"a polygon needs at least 3 points, got {len(pts)}")
        cv2.fillPoly(mask, [pts], 255)
    return mask


def _points(poly: object) -> np.ndarray:
    """A polygon's (x, y) points as int32 (truncated, as before); InputError for points that are
    not finite numbers within the int32 range OpenCV draws with."""
    try:
        pts = np.asarray(poly, np.float64).reshape(-1, 2)
    except (TypeError, ValueError) as exc:
        raise InputError(f"a polygon is a list of (x, y) points, got {poly!r}") from exc
    if not np.isfinite(pts).all() or np.abs(pts).max(initial=0) > np.iinfo(np.int32).max:
        raise InputError(f"a polygon's points must be finite numbers within +-{np.iinfo(np.int32).max}, got {poly!r}")
    return pts.astype(np.int32)
