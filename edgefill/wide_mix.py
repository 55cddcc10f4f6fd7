"""The learned models' fill of wide holes, mixed with an OpenCV Navier-Stokes fill (opt-in).

The model and NS err differently inside a hole, so a share of NS can lower the error of the
model's fill (as in the thin-hole refill, :mod:`edgefill.thin`): ``out = rint(w x NS + (1 - w)
x model)`` over the hole pixels, with NS computed on the hole's window scaled down by
``scale`` and scaled back up. Measured on the validation sets (docs/training.md, "Thirteenth
session"): on surfaces (textures) share 0.2 at 1/4 of the resolution gains 0.07-0.13 dB on
free-form and object holes for lite / lite-surface and costs a few ms; on photos only the
full-resolution NS helps (share 0.1: +0.02-0.06 dB) and it costs about as much as lite's
inference, while the coarse one loses up to 0.14 dB. So it is **off by default**
(:data:`DEFAULT_WIDE_NS_WEIGHT`) unless the model records it (:mod:`edgefill.refill_settings`;
``lite-surface`` records share 0.2 at scale 4); ``Inpainter(wide_ns_weight=..., wide_ns_scale=...)``
/ ``--wide-ns-weight`` / ``--wide-ns-scale`` set it either way.
"""

from __future__ import annotations

import cv2
import numpy as np

#: ``Inpainter(wide_ns_weight=...)``'s default share of NS in every hole pixel: 0, off (no
#: single share and scale helped both photos and surfaces at a real-time cost; see the module).
DEFAULT_WIDE_NS_WEIGHT = 0.0
#: the share measured to help on surfaces at :data:`NS_SCALE` (validation textures)
SURFACE_WIDE_NS_WEIGHT = 0.2
#: default scale: the NS fill is computed at 1/NS_SCALE of the resolution (cost / NS_SCALE**2);
#: 1 is full resolution, which photos need
NS_SCALE = 4
#: the largest scale accepted
MAX_NS_SCALE = 16
#: OpenCV NS neighbourhood radius at that scale
NS_RADIUS = 3.0
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
        return cv2.inpaint(original, hole8, NS_RADIUS, cv2.INPAINT_NS).astype(np.float32)
    size = (-(-w // scale), -(-h // scale))  # ceil: every pixel falls inside the small image
    small = cv2.resize(original, size, interpolation=cv2.INTER_AREA)
    small_hole = (cv2.resize(hole8, size, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8) * 255
    filled = cv2.inpaint(small, small_hole, NS_RADIUS, cv2.INPAINT_NS)
    return cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)


def context_px(scale: int = NS_SCALE) -> int:
    """How far around the hole's bounding box :func:`mix_wide_in_place` reads known pixels."""
    return int(scale * (NS_RADIUS + 2))


def mix_wide_in_place(out: np.ndarray, original: np.ndarray, hole: np.ndarray, box: tuple[int, int, int, int],
                      weight: float = DEFAULT_WIDE_NS_WEIGHT, scale: int = NS_SCALE) -> bool:
    """Mix :func:`coarse_ns` into ``out``'s hole pixels at share ``weight`` (the rest is the
    model's fill already in ``out``), in place, over the hole's bounding box ``(x, y, w, h)``
    grown by :func:`context_px`. ``original`` supplies the known pixels NS reads. Returns whether
    anything changed."""
    if weight <= 0:
        return False
    x, y, w, h = box
    pad = context_px(scale)
    window = (slice(max(0, y - pad), y + h + pad), slice(max(0, x - pad), x + w + pad))
    win_hole = hole[window] > 0
    if not win_hole.any():
        return False
    ns = coarse_ns(original[window], win_hole, scale)
    model = out[window][win_hole].astype(np.float32)
    mixed = weight * ns[win_hole] + (1 - weight) * model
    out[window][win_hole] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return True


def mix_wide(filled: np.ndarray, original: np.ndarray, hole: np.ndarray, weight: float = DEFAULT_WIDE_NS_WEIGHT,
             scale: int = NS_SCALE) -> np.ndarray:
    """:func:`mix_wide_in_place` on a copy of ``filled``, for a caller without the hole's box."""
    hole = hole > 0
    pts = cv2.findNonZero(hole.astype(np.uint8))
    if weight <= 0 or pts is None:
        return filled
    out = filled.copy()
    mix_wide_in_place(out, original, hole, cv2.boundingRect(pts), weight, scale)
    return out
