"""Region-of-interest planning: crop around the hole, snap to shape buckets, paste back.

A high-resolution frame is never resized. The hole's bounding box, grown by a
margin of context, is snapped up to one of a few bucket sizes per axis (e.g.
256/384/512, each a TensorRT optimisation profile). Holes too far apart for one
bucket are grouped by connected component; a single hole larger than the biggest
bucket is covered by overlapping tiles. Crops are processed in order and each
crop's fill becomes known context for the next, so overlaps never fill twice.

Frames smaller than a bucket are padded by reflection, never scaled.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Tuple

import cv2
import numpy as np

from .checks import is_whole
from .errors import ConfigError, EdgeFillInternalError
from .masks import copy_where, hole_box


DEFAULT_BUCKETS = (256, 384, 512)


@dataclass(frozen=True)
class RoiConfig:
    """``buckets``: allowed crop sizes per axis, ascending; None: the backend's own (a TensorRT
    engine's optimisation profiles), else :data:`DEFAULT_BUCKETS` (the Inpainter resolves it). ``margin``: context pixels kept
    around the hole. ``feather``: width of a blended ring around the hole (pixels farther
    than ``feather`` from the hole are never modified). 0 by default: the model then fills
    exactly the hole, every other pixel is returned as it came, and the fill is the one
    ``edgefill bench quality`` scores. A ring of N px makes the model fill the hole grown by N
    px and blends that fill over the known pixels of the ring; it hides a seam at the cost of
    context. Measured (``edgefill bench quality --feather 6``): with the 6 px ring that was the
    default until the seventh session, lite's hole-PSNR gain over the better classical method
    on the eval photos fell from +0.73 to -1.88 dB on free-form strokes and from +0.92 to
    -0.08 dB on objects (docs/training.md, "Seventh session")."""

    buckets: Optional[Tuple[int, ...]] = DEFAULT_BUCKETS
    margin: int = 48
    feather: int = 0

    def validate(self, multiple: int, max_size: int | None = None) -> None:
        if self.buckets is None:
            raise EdgeFillInternalError("RoiConfig.buckets must be resolved before use")
        # whole pixels, in a sequence: a float bucket (256.0) passed every check below and failed
        # on the first frame, as a TypeError from slicing; a bare int or a string failed here
        if not isinstance(self.buckets, (tuple, list)) or not all(is_whole(b) for b in self.buckets):
            raise ConfigError(f"buckets must be a tuple of whole numbers of pixels, got {self.buckets!r}")
        if not self.buckets or list(self.buckets) != sorted(set(self.buckets)):
            raise ConfigError(f"buckets must be distinct and ascending, got {self.buckets}")
        bad = [b for b in self.buckets if b <= 0 or b % multiple]
        if bad:
            raise ConfigError(f"buckets {bad} are not multiples of {multiple}, which this model needs")
        for name in ("margin", "feather"):  # whole pixels: a float failed later, on the first frame
            value = getattr(self, name)
            if not is_whole(value) or value < 0:
                raise ConfigError(f"{name} must be a whole number of pixels >= 0, got {value!r}")
        if max_size is not None and self.buckets[-1] > max_size:
            raise ConfigError(f"bucket {self.buckets[-1]} is larger than the backend takes ({max_size} px: a TensorRT "
                              f"engine's largest optimisation profile); use buckets up to {max_size}, or re-export "
                              "the bundle with larger ones")
        if 2 * (self.margin + self.feather) >= self.buckets[-1]:
            raise ConfigError(f"margin {self.margin} + feather {self.feather} leave no room in bucket {self.buckets[-1]}")


@dataclass(frozen=True)
class Crop:
    """Image region [y, y+h) x [x, x+w), fed to the model padded to (bucket_h, bucket_w)."""

    y: int
    x: int
    h: int
    w: int
    bucket_h: int
    bucket_w: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y, self.y + self.h), slice(self.x, self.x + self.w)


def resolve(cfg: RoiConfig | None, backend_buckets: tuple[int, ...] | None) -> RoiConfig:
    """``cfg`` with its buckets filled in: the given ones, else the backend's, else the default."""
    if cfg is not None and not isinstance(cfg, RoiConfig):
        raise ConfigError(f"roi_config must be an edgefill.RoiConfig, not {type(cfg).__name__}")
    cfg = cfg or RoiConfig(buckets=None)
    if cfg.buckets is None:
        cfg = replace(cfg, buckets=tuple(backend_buckets or DEFAULT_BUCKETS))
    return cfg


def _bucket(need: int, buckets: tuple[int, ...]) -> int | None:
    return next((b for b in buckets if b >= need), None)


def _axis(lo: int, hi: int, size: int, cfg: RoiConfig) -> tuple[int, int, int]:
    """Place one axis: returns (start, length, bucket) covering [lo, hi) with margin."""
    need = min(hi - lo + 2 * cfg.margin, size)
    bucket = _bucket(need, cfg.buckets)
    if bucket is None:
        raise EdgeFillInternalError(f"a span of {need} px was planned without tiling (largest bucket {cfg.buckets[-1]})")
    length = min(bucket, size)
    centre = (lo + hi) // 2
    start = int(np.clip(centre - length // 2, 0, size - length))
    return start, length, bucket


def _crop_for_box(box: tuple[int, int, int, int], shape: tuple[int, int], cfg: RoiConfig) -> Crop:
    y0, x0, y1, x1 = box
    ys, h, bh = _axis(y0, y1, shape[0], cfg)
    xs, w, bw = _axis(x0, x1, shape[1], cfg)
    return Crop(ys, xs, h, w, bh, bw)


def _tiles(box: tuple[int, int, int, int], shape: tuple[int, int], cfg: RoiConfig) -> list[Crop]:
    """Overlapping largest-bucket tiles over a box too big for one crop."""
    top = cfg.buckets[-1]
    inner = top - 2 * cfg.margin
    y0, x0, y1, x1 = box
    crops = []
    for ty in range(y0, y1, inner):
        for tx in range(x0, x1, inner):
            crops.append(_crop_for_box((ty, tx, min(ty + inner, y1), min(tx + inner, x1)), shape, cfg))
    return crops


def _fits(box: tuple[int, int, int, int], shape: tuple[int, int], cfg: RoiConfig) -> bool:
    y0, x0, y1, x1 = box
    top = cfg.buckets[-1]
    return min(y1 - y0 + 2 * cfg.margin, shape[0]) <= top and min(x1 - x0 + 2 * cfg.margin, shape[1]) <= top


def _union(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _exact_crop(box: tuple[int, int, int, int], shape: tuple[int, int], cfg: RoiConfig) -> Crop:
    """The box grown by the margin and clipped to the frame, fed as it is (no bucket, no padding)."""
    y0, x0 = max(0, box[0] - cfg.margin), max(0, box[1] - cfg.margin)
    y1, x1 = min(shape[0], box[2] + cfg.margin), min(shape[1], box[3] + cfg.margin)
    return Crop(y0, x0, y1 - y0, x1 - x0, y1 - y0, x1 - x0)


def plan(mask: np.ndarray, cfg: RoiConfig, exact: bool = False) -> list[Crop]:
    """Crops that together cover every hole pixel of ``mask`` (uint8, non-zero = hole).

    ``exact`` (a classical backend, which takes any size): holes are grouped as for a model, but
    each group's crop is its box grown by the margin, neither snapped to a bucket nor padded, and
    a group larger than the largest bucket is one crop, not tiles. OpenCV's Telea and NS then
    fill each hole as on the whole frame, with no mirrored copy of the hole to fill as well (a
    64x64 frame was padded to 256x256, 16 times the work) and no seams between tiles."""
    shape = mask.shape[:2]
    x, y, w, h = hole_box(mask)
    if w == 0:
        return []
    whole = (y, x, y + h, x + w)
    crop_for = _exact_crop if exact else _crop_for_box
    if _fits(whole, shape, cfg):
        return [crop_for(whole, shape, cfg)]
    # Group connected components greedily while the group still fits one bucket. They are labelled
    # in the hole's bounding box only, not the whole frame; the box starts on an even row and
    # column, so OpenCV's 2x2-block labelling numbers them as it does on the frame (the order of
    # components whose boxes share a corner, which the sort below keeps).
    y0, x0 = y - y % 2, x - x % 2
    n, _, stats, _ = cv2.connectedComponentsWithStats((mask[y0 : y + h, x0 : x + w] > 0).astype(np.uint8),
                                                      connectivity=8)
    boxes = sorted(
        ((int(s[1]) + y0, int(s[0]) + x0, int(s[1] + s[3]) + y0, int(s[0] + s[2]) + x0) for s in stats[1:n]),
        key=lambda b: (b[0], b[1]),
    )
    groups: list[tuple[int, int, int, int]] = []
    for b in boxes:
        for i, g in enumerate(groups):
            u = _union(g, b)
            if _fits(u, shape, cfg):
                groups[i] = u
                break
        else:
            groups.append(b)
    crops: list[Crop] = []
    for g in groups:
        crops.extend([crop_for(g, shape, cfg)] if exact or _fits(g, shape, cfg) else _tiles(g, shape, cfg))
    return crops


def extract(image: np.ndarray, mask: np.ndarray, crop: Crop) -> tuple[np.ndarray, np.ndarray]:
    """The crop's image and mask, padded to its bucket by reflection (:func:`pad_pair`)."""
    sy, sx = crop.slices
    return pad_pair(image[sy, sx], mask[sy, sx], crop.bucket_h, crop.bucket_w)


def pad_pair(image: np.ndarray, mask: np.ndarray, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """``image`` and ``mask`` padded at the bottom and right to (h, w), both mirrored the same
    way: a hole at the edge is mirrored as hole, never as known context (a mask padded with 0
    would hand the model mirror copies of the very object being removed)."""
    ph, pw = h - mask.shape[0], w - mask.shape[1]
    if ph or pw:
        border = cv2.BORDER_REFLECT_101 if min(mask.shape) > 1 else cv2.BORDER_REPLICATE
        image = cv2.copyMakeBorder(image, 0, ph, 0, pw, border)
        mask = cv2.copyMakeBorder(mask, 0, ph, 0, pw, border)
    return np.ascontiguousarray(image), np.ascontiguousarray(mask)


def feather_weights(hole: np.ndarray, feather: int) -> np.ndarray:
    """Blend weight of the model output: 1 inside the hole, falling linearly towards 0 with the
    Euclidean distance from it (``1 - d / (feather + 1)``), and 0 beyond ``feather`` pixels.
    float32, same shape as ``hole``. (The distance is exact, and cut at ``feather``: the 5x5
    approximation and an elliptical dilation's corners gave pixels up to ``feather + 0.5`` px
    away a weight of 0.1-0.2, where every pixel beyond ``feather`` px is promised untouched.)"""
    if feather <= 0:
        return (hole > 0).astype(np.float32)
    dist = cv2.distanceTransform((hole == 0).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    weights = np.clip(1.0 - dist / (feather + 1.0), 0.0, 1.0)
    weights[dist > feather] = 0.0
    return weights.astype(np.float32)


def paste(dst: np.ndarray, filled: np.ndarray, weights: np.ndarray, crop: Crop) -> None:
    """Blend the crop's model output into ``dst`` in place. Where the weight is 0 the
    destination is left bit-identical; where it is 1 the fill is copied exactly."""
    sy, sx = crop.slices
    f = filled[: crop.h, : crop.w]
    wgt = weights[: crop.h, : crop.w]
    region = dst[sy, sx]
    touched = wgt > 0
    if not touched.any():
        return
    full = wgt >= 1.0
    blend = touched & ~full
    copy_where(region, f, full)
    if blend.any():
        a = wgt[blend][:, None]
        region[blend] = np.clip(a * f[blend] + (1 - a) * region[blend] + 0.5, 0, 255).astype(np.uint8)
