"""The learned models' fill of wide holes, mixed with an OpenCV Navier-Stokes fill where the
hole's surroundings are smooth.

The model and NS err differently inside a hole, so a share of NS can lower the error of the
model's fill (as in the thin-hole refill, :mod:`edgefill.thin`): ``out = rint(w x NS + (1 - w)
x model)`` over the hole pixels, with NS computed on the hole's window scaled down by
``scale`` and scaled back up. It helps where the known pixels around the hole are smooth
(surfaces: metal, concrete, painted walls) and costs detail where they are not (most photos),
so the share is **gated** by the grey-level standard deviation of the known pixels within
:data:`RING_PX` px of the hole (:func:`ring_std`): the full share up to half of ``max_std``,
falling linearly to none at ``max_std`` (:func:`gated_share`). Measured on the validation sets
(docs/training.md, "Fifteenth session"): with share 0.5 and ``max_std`` 25 at 1/4 of the
resolution, lite gains 0.06 / 0.23 dB on free-form / object holes of the validation textures and
changes the validation and training photos by -0.004 to +0.007 dB (few of their holes are
mixed); without the gate a share of 0.4 loses up to 0.5 dB on photos. So it is on by default
(:data:`DEFAULT_WIDE_NS_WEIGHT`, :data:`DEFAULT_WIDE_NS_MAX_STD`); a model may record its own
settings (:mod:`edgefill.refill_settings`), and ``Inpainter(wide_ns_weight=..., wide_ns_scale=...,
wide_ns_max_std=...)`` / ``--wide-ns-weight`` ... set them (weight 0: off; ``max_std``
:data:`UNGATED_STD`: every hole is mixed). Its cost: the std (a dilation over the hole's window)
on every frame, the coarse NS (a few ms at 512x512) only where the gate lets some share through.
"""

from __future__ import annotations

import cv2
import numpy as np

from .thin import inpaint_ns

#: ``Inpainter(wide_ns_weight=...)``'s default share of NS in the hole pixels, where the gate lets
#: it through (chosen for lite on the validation sets; see the module)
DEFAULT_WIDE_NS_WEIGHT = 0.5
#: the default gate: the share falls from full at a ring std of half this to none at this
DEFAULT_WIDE_NS_MAX_STD = 25.0
#: a ``max_std`` this high lets every hole be mixed (the std of 0-255 grey levels is at most 127.5)
UNGATED_STD = 128.0
#: default scale: the NS fill is computed at 1/NS_SCALE of the resolution (cost / NS_SCALE**2);
#: 1 is full resolution, which photos need
NS_SCALE = 4
#: the largest scale accepted
MAX_NS_SCALE = 16
#: OpenCV NS neighbourhood radius at that scale
NS_RADIUS = 3.0
#: how far from the hole :func:`ring_std` looks (px)
RING_PX = 8
#: the smallest side (px) the scaled-down window may have; smaller windows use a smaller scale
MIN_SIDE = 16


def coarse_ns(original: np.ndarray, hole: np.ndarray, scale: int = NS_SCALE) -> np.ndarray:
    """OpenCV NS fill of ``hole`` in ``original`` computed at ``1/scale`` of the resolution
    (fewer for small images, so the scaled image keeps at least :data:`MIN_SIDE` px a side),
    returned at full size as float32. A low-resolution pixel is a hole if any of its pixels is."""
    h, w = hole.shape
    scale = max(1, min(int(scale), min(h, w) // MIN_SIDE))
    hole8 = (hole > 0).astype(np.uint8) * 255
    if scale == 1:
        return inpaint_ns(original, hole8, NS_RADIUS).astype(np.float32)
    size = (-(-w // scale), -(-h // scale))  # ceil: every pixel falls inside the small image
    small = cv2.resize(original, size, interpolation=cv2.INTER_AREA)
    small_hole = (cv2.resize(hole8, size, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8) * 255
    filled = inpaint_ns(small, small_hole, NS_RADIUS)  # also a 1-px side (edgefill.thin)
    return cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)


def ring_std(image: np.ndarray, hole: np.ndarray, ring: int = RING_PX) -> float:
    """The grey-level standard deviation of the known pixels within ``ring`` px of ``hole`` (a
    square neighbourhood): low on smooth surroundings, where the NS mix helps; ``inf`` when no
    known pixel is that near."""
    hole8 = (hole > 0).astype(np.uint8)
    near = cv2.dilate(hole8, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * ring + 1, 2 * ring + 1))) > 0
    near &= hole8 == 0
    if not near.any():
        return float("inf")
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return float(grey[near].astype(np.float32).std())


def gated_share(weight: float, std: float, max_std: float = DEFAULT_WIDE_NS_MAX_STD) -> float:
    """The share of NS for a hole whose ring std is ``std``: ``weight`` up to ``max_std / 2``,
    falling linearly to 0 at ``max_std``; always ``weight`` when ``max_std`` >= :data:`UNGATED_STD`."""
    if max_std >= UNGATED_STD:
        return weight
    return float(weight * np.clip((max_std - std) / (max_std / 2), 0.0, 1.0))


def context_px(scale: int = NS_SCALE) -> int:
    """How far around the hole's bounding box :func:`mix_wide_in_place` reads known pixels (for
    the coarse NS and for :func:`ring_std`)."""
    return max(int(scale * (NS_RADIUS + 2)), RING_PX)


def mix_wide_in_place(out: np.ndarray, original: np.ndarray, hole: np.ndarray, box: tuple[int, int, int, int],
                      weight: float = DEFAULT_WIDE_NS_WEIGHT, scale: int = NS_SCALE,
                      max_std: float = DEFAULT_WIDE_NS_MAX_STD) -> float:
    """Mix :func:`coarse_ns` into ``out``'s hole pixels (the rest is the model's fill already in
    ``out``), in place, over the hole's bounding box ``(x, y, w, h)`` grown by
    :func:`context_px`, at the share :func:`gated_share` gives ``weight`` for the hole's
    :func:`ring_std` in ``original`` (which also supplies the known pixels NS reads). Returns
    the share used (0.0: nothing changed)."""
    if weight <= 0:
        return 0.0
    x, y, w, h = box
    pad = context_px(scale)
    window = (slice(max(0, y - pad), y + h + pad), slice(max(0, x - pad), x + w + pad))
    win_hole = hole[window] > 0
    if not win_hole.any() or win_hole.all():  # all hole: NS has no known pixel and returns the object removed
        return 0.0
    if max_std < UNGATED_STD:
        weight = gated_share(weight, ring_std(original[window], win_hole), max_std)
        if weight <= 0:
            return 0.0
    ns = coarse_ns(original[window], win_hole, scale)
    model = out[window][win_hole].astype(np.float32)
    mixed = weight * ns[win_hole] + (1 - weight) * model
    out[window][win_hole] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return weight


def mix_wide(filled: np.ndarray, original: np.ndarray, hole: np.ndarray, weight: float = DEFAULT_WIDE_NS_WEIGHT,
             scale: int = NS_SCALE, max_std: float = DEFAULT_WIDE_NS_MAX_STD) -> np.ndarray:
    """:func:`mix_wide_in_place` on a copy of ``filled``, for a caller without the hole's box
    (``filled`` itself when nothing is mixed)."""
    hole = hole > 0
    pts = cv2.findNonZero(hole.astype(np.uint8))
    if weight <= 0 or pts is None:
        return filled
    out = filled.copy()
    return out if mix_wide_in_place(out, original, hole, cv2.boundingRect(pts), weight, scale, max_std) else filled
