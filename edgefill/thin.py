"""Thin holes (scratches, cracks) are filled better by diffusion than by the learned models:
on scratch masks OpenCV Navier-Stokes beats the sixth-session lite by 0.5 dB on the eval photos
and by 1.3 dB on the held-out metal and wood textures (docs/training.md). :func:`refill_thin`
gives those components to OpenCV NS, mixed with the model's own fill there (the two err
differently: :data:`DEFAULT_NS_WEIGHT`), and keeps the model's fill everywhere else;
``Inpainter(thin_hole_px=...)`` applies it, on by default (:data:`DEFAULT_THIN_HOLE_PX`)."""

from __future__ import annotations

import cv2
import numpy as np

from .masks import copy_where, hole_box

#: ``Inpainter(thin_hole_px=...)``'s default: scratches and cracks up to ~11 px wide go to NS (chosen on
#: validation photos and textures: docs/training.md, "Seventh session").
DEFAULT_THIN_HOLE_PX = 5.0
#: OpenCV NS neighbourhood radius of the refill (2 scored as well as 3 on the validation sets and
#: takes 0.6x the time; 1 was worse: docs/training.md). A model may record its own (metadata
#: ``edgefill.thin_radius``, see :mod:`edgefill.refill_settings`); none shipped does: NS alone on
#: surfaces wanted 5, but mixed with the model's fill (:data:`DEFAULT_NS_WEIGHT`) 2 does as well.
NS_RADIUS = 2.0
#: the largest NS radius a model may record (OpenCV's cost grows with its square)
MAX_NS_RADIUS = 10.0
#: Share of OpenCV NS in each thin pixel; the rest is the model's own fill there. The two err
#: differently, so their mix beats either (validation scratches, radius 2: lite +0.10 -> +0.37 dB
#: on photos, nano +0.05 -> +0.23, lite-surface -0.09 -> +0.08 on textures): 0.7 has the best
#: mean of the three among the weights that keep every model's hole SSIM at least NS's
#: (docs/training.md, "Twelfth session"). 1 is NS alone, the refill before that session.
DEFAULT_NS_WEIGHT = 0.7


def thin_components(hole: np.ndarray, max_half_width: float) -> np.ndarray:
    """Boolean mask of the hole pixels that belong to thin structures: those a morphological
    opening with a disk of diameter ``2 * max_half_width + 1`` removes (lines and cracks up to
    about ``2 * max_half_width`` px wide, and small spots). Wide regions, even where thin
    scratches run into them, stay with the model."""
    if max_half_width <= 0 or hole.size == 0:
        return np.zeros(hole.shape, bool)
    hole255 = _hole255(hole)
    if not cv2.countNonZero(hole255):
        return np.zeros(hole.shape, bool)
    return _thin255(hole255, max_half_width) > 0


def _hole255(hole: np.ndarray) -> np.ndarray:
    """``hole > 0`` as a uint8 0/255 array (OpenCV's mask form), in one pass where OpenCV can."""
    if hole.ndim == 2 and hole.dtype in (np.uint8, np.bool_) and hole.size > 1:  # OpenCV takes a 1x1 array
        return cv2.compare(hole.view(np.uint8), 0, cv2.CMP_GT)                   # for a scalar: refused
    return (hole > 0).astype(np.uint8) * 255


def _thin255(hole255: np.ndarray, max_half_width: float) -> np.ndarray:
    """:func:`thin_components` of a 0/255 mask with a hole pixel, as a 0/255 uint8 array."""
    # a disk wider than the hole's array removes all of it, whatever its size: cap the kernel there
    k = 2 * int(round(min(max_half_width, max(hole255.shape)))) + 1
    wide = cv2.morphologyEx(hole255, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return cv2.subtract(hole255, wide)  # the opening keeps a subset of the hole: exactly hole & ~wide


def inpaint_ns(image: np.ndarray, mask: np.ndarray, radius: float) -> np.ndarray:
    """``cv2.inpaint(image, mask, radius, cv2.INPAINT_NS)``, also for images one pixel high or
    wide (:func:`inpaint_cv`)."""
    return inpaint_cv(image, mask, radius, cv2.INPAINT_NS)


def inpaint_cv(image: np.ndarray, mask: np.ndarray, radius: float, flag: int) -> np.ndarray:
    """``cv2.inpaint(image, mask, radius, flag)``, also for images one pixel high or wide: OpenCV's
    NS and Telea read memory outside those (their fill of a 1xN image changed from call to call),
    so that row or column is repeated for them and the copy dropped from their result."""
    h, w = mask.shape[:2]
    ph, pw = int(h == 1), int(w == 1)
    if not (ph or pw):
        return cv2.inpaint(image, mask, radius, flag)
    filled = cv2.inpaint(cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_REPLICATE),
                         cv2.copyMakeBorder(mask, 0, ph, 0, pw, cv2.BORDER_REPLICATE), radius, flag)
    return np.ascontiguousarray(filled[:h, :w])


def context_px(max_half_width: float, radius: float = NS_RADIUS) -> int:
    """How far around the hole :func:`refill_thin` reads: a window of the hole's bounding box
    grown by this much gives the same result as the whole image."""
    return max(int(radius), int(round(max_half_width))) + 2


def refill_thin(filled: np.ndarray, original: np.ndarray, hole: np.ndarray, max_half_width: float,
                radius: float = NS_RADIUS, ns_weight: float = DEFAULT_NS_WEIGHT) -> np.ndarray:
    """``filled`` with the thin components of ``hole`` redone by OpenCV Navier-Stokes, mixed with
    the model's own fill there: ``ns_weight`` x NS + (1 - ``ns_weight``) x ``filled``, rounded
    (1: NS alone). NS fills only the thin pixels, reading the known pixels of ``original`` and,
    where a thin part runs into a wide one, the model's fill there, so its cost grows with the
    number of thin pixels, not with the size of the hole. Only the hole's bounding window is
    processed."""
    if max_half_width <= 0:
        return filled
    hole = hole > 0
    rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
    if rows.size == 0:
        return filled
    out = filled.copy()
    box = (int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
    refill_thin_in_place(out, original, hole, box, max_half_width, radius, ns_weight)
    return out


def refill_thin_in_place(out: np.ndarray, original: np.ndarray, hole: np.ndarray, box: tuple[int, int, int, int],
                         max_half_width: float, radius: float = NS_RADIUS,
                         ns_weight: float = DEFAULT_NS_WEIGHT) -> bool:
    """:func:`refill_thin` for a caller that already knows the hole's bounding box ``(x, y, w, h)``
    (``cv2.boundingRect``) and owns ``out``: it is changed in place, with no scan and no copy of the
    frame. Returns whether any pixel was thin."""
    if max_half_width <= 0:
        return False
    x, y, w, h = box
    pad = context_px(max_half_width, radius)  # the opening and NS see what they would in the full image
    wy, wx = max(0, y - pad), max(0, x - pad)
    win_hole = hole[wy : y + h + pad, wx : x + w + pad]
    if win_hole.size == 0:
        return False
    hole255 = _hole255(win_hole)
    if not cv2.countNonZero(hole255):
        return False
    thin = _thin255(hole255, max_half_width)
    tx, ty, tw, th = hole_box(thin)
    if tw == 0:
        return False
    # NS reads only near the thin pixels: the same `pad` around their own bounding box (within the
    # hole's window) gives what the hole's window gives, at a cost that follows the thin parts
    # rather than the whole hole (a large object with a short scratch, scratches in one corner)
    ty0, tx0 = max(0, ty - pad), max(0, tx - pad)
    ty1, tx1 = min(hole255.shape[0], ty + th + pad), min(hole255.shape[1], tx + tw + pad)
    sub = (slice(ty0, ty1), slice(tx0, tx1))
    window = (slice(wy + ty0, wy + ty1), slice(wx + tx0, wx + tx1))
    thin = thin[sub]
    source = original[window].copy()  # the known pixels, and the model's fill in the hole
    copy_where(source, out[window], hole255[sub])
    ns = inpaint_ns(source, thin, radius)
    if ns_weight >= 1:
        copy_where(out[window], ns, thin)
        return True
    # the thin pixels only, by index: the model's fill of them is in `source` (they are hole pixels)
    idx = np.flatnonzero(thin)
    flat_ns, flat_src = ns.reshape(thin.size, -1), source.reshape(thin.size, -1)
    mixed = ns_weight * flat_ns[idx].astype(np.float32) + (1 - ns_weight) * flat_src[idx].astype(np.float32)
    flat_src[idx] = np.rint(mixed).astype(np.uint8)
    copy_where(out[window], source, thin)
    return True
