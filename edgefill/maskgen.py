"""Random hole masks for training, evaluation and testing.

Every generator returns a uint8 (H, W) mask in the public convention: 255 = hole
to fill, 0 = keep. Generators take a ``numpy.random.Generator`` so that a fixed
seed gives the same masks on every machine.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from .checks import is_finite, is_whole
from .errors import ConfigError

MaskFamily = Callable[[int, int, np.random.Generator], np.ndarray]


def _stroke(mask: np.ndarray, rng: np.random.Generator) -> None:
    """Draw one free-form stroke (a random walk of thick line segments, as in DeepFill v2)."""
    h, w = mask.shape
    scale = min(h, w)
    x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
    width = int(rng.uniform(0.02, 0.09) * scale) + 1
    for _ in range(int(rng.integers(2, 8))):
        angle = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(0.05, 0.25) * scale
        nx = int(np.clip(x + length * np.cos(angle), 0, w - 1))
        ny = int(np.clip(y + length * np.sin(angle), 0, h - 1))
        cv2.line(mask, (x, y), (nx, ny), 255, width)
        cv2.circle(mask, (nx, ny), width // 2, 255, -1)
        x, y = nx, ny


def _blob(mask: np.ndarray, rng: np.random.Generator) -> None:
    """Draw one object-like blob: a random convex-ish polygon."""
    h, w = mask.shape
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    r = rng.uniform(0.05, 0.2) * min(h, w)
    n = int(rng.integers(5, 12))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = r * rng.uniform(0.6, 1.3, n)
    pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255)


def _scratch(mask: np.ndarray, rng: np.random.Generator) -> None:
    """One thin crack or scratch (a jittered polyline 1-4 px wide) with a few small spots,
    like surface defects on a production line."""
    h, w = mask.shape
    scale = min(h, w)
    x, y = rng.uniform(0, w), rng.uniform(0, h)
    angle = rng.uniform(0, 2 * np.pi)
    width = int(rng.integers(1, 5))
    pts = [(int(x), int(y))]
    for _ in range(int(rng.integers(4, 14))):
        angle += rng.normal(0, 0.5)
        step = rng.uniform(0.02, 0.08) * scale
        x, y = np.clip(x + step * np.cos(angle), 0, w - 1), np.clip(y + step * np.sin(angle), 0, h - 1)
        pts.append((int(x), int(y)))
    cv2.polylines(mask, [np.array(pts, np.int32)], False, 255, width)
    for _ in range(int(rng.integers(0, 4))):
        cx, cy = pts[int(rng.integers(len(pts)))]
        r = int(rng.integers(1, max(2, scale // 60) + 1))
        cv2.circle(mask, (int(cx + rng.normal(0, 4)), int(cy + rng.normal(0, 4))), r, 255, -1)


def _rect(mask: np.ndarray, rng: np.random.Generator) -> None:
    """One axis-aligned box, as a detector would report it. It never touches the last row and
    column (x < w - bw): kept as it is, because changing the draws would change every seeded
    benchmark and training mask; :func:`_rect_to_edges` is used where that matters."""
    h, w = mask.shape
    bw, bh = int(rng.uniform(0.08, 0.4) * w) + 1, int(rng.uniform(0.08, 0.4) * h) + 1
    x, y = int(rng.integers(0, max(1, w - bw))), int(rng.integers(0, max(1, h - bh)))
    mask[y : y + bh, x : x + bw] = 255


def _rect_to_edges(mask: np.ndarray, rng: np.random.Generator) -> None:
    """:func:`_rect`, able to reach the last row and column (x <= w - bw, y <= h - bh)."""
    h, w = mask.shape
    bw, bh = int(rng.uniform(0.08, 0.4) * w) + 1, int(rng.uniform(0.08, 0.4) * h) + 1
    x, y = int(rng.integers(0, max(1, w - bw + 1))), int(rng.integers(0, max(1, h - bh + 1)))
    mask[y : y + bh, x : x + bw] = 255


def _rect_max_ratio(h: int, w: int) -> float:
    """The largest hole ratio :func:`_rect` can reach: it never covers the last row and column."""
    return (h - 1 if h > 1 else h) * (w - 1 if w > 1 else w) / (h * w)


def _object(mask: np.ndarray, rng: np.random.Generator) -> None:
    """One large object silhouette (a person, a car, a bin in front of the camera): a smooth
    polygon 0.15-0.4 of the shorter side in radius, mostly inside the frame. Its centre is up
    to ~100 px from the hole border at 256 px, where blobs and boxes stay within ~50 px."""
    h, w = mask.shape
    r = rng.uniform(0.15, 0.4) * min(h, w)
    cx, cy = rng.uniform(0.5 * r, w - 0.5 * r), rng.uniform(0.5 * r, h - 0.5 * r)
    n = int(rng.integers(8, 16))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = r * rng.uniform(0.75, 1.2, n) * rng.uniform(0.6, 1.0) ** np.abs(np.cos(angles - rng.uniform(0, np.pi)))
    pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1).astype(np.int32)
    cv2.fillPoly(mask, [cv2.convexHull(pts)], 255)


#: :func:`_grow_until` gives up on a mask when this many shapes in a row have added no pixel:
#: the family cannot cover more of the image (a range above its reach), so that ``lo`` would
#: never be reached and the loop would never end. Far beyond any run of no-op shapes met on the
#: way to a reachable range, so the masks (and random draws) of every range that can be
#: reached are exactly those drawn before this bound existed.
STALL_DRAWS = 5000


def _grow_until(h: int, w: int, rng: np.random.Generator, lo: float, hi: float, draw: Callable, tries: int = 200) -> np.ndarray:
    """Add shapes until the hole ratio reaches [lo, hi]; restart when it overshoots. Returns the
    closest mask below ``lo`` when the range is not reached in ``tries`` restarts, or when
    :data:`STALL_DRAWS` shapes in a row add nothing (the family cannot reach ``lo`` here)."""
    best = np.zeros((h, w), np.uint8)
    for _ in range(tries):
        mask = np.zeros((h, w), np.uint8)
        count, stalled = 0, 0
        while True:
            before = mask.copy()
            draw(mask, rng)
            before_count, count = count, np.count_nonzero(mask)
            ratio = count / mask.size
            if lo <= ratio <= hi:
                return mask
            if ratio > hi:
                if lo <= before_count / mask.size:
                    return before
                best = before if before_count > np.count_nonzero(best) else best
                break
            stalled = stalled + 1 if count == before_count else 0
            if stalled >= STALL_DRAWS:  # below lo and saturated: restarting would not help
                return mask if count > np.count_nonzero(best) else best
    return best


def _check(h: object, w: object, rng: object, lo: object, hi: object) -> None:
    """ConfigError unless the size is whole pixels >= 1, ``rng`` a Generator and ``lo``, ``hi`` finite
    numbers with 0 <= lo <= 1 and lo <= hi (``hi`` above 1 means no upper bound). Draws nothing."""
    if not (is_whole(h) and is_whole(w) and h >= 1 and w >= 1):
        raise ConfigError(f"a mask needs a height and width of whole pixels >= 1, got {h!r} x {w!r}")
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), not {type(rng).__name__}")
    if not all(is_finite(v) for v in (lo, hi)) or not 0 <= lo <= min(hi, 1):
        raise ConfigError(f"the hole ratio range needs finite numbers with 0 <= lo <= 1 and lo <= hi, got {lo!r}, {hi!r}")


def free_form(h: int, w: int, rng: np.random.Generator, lo: float = 0.0, hi: float = 0.6) -> np.ndarray:
    """Free-form strokes covering between ``lo`` and ``hi`` of the image."""
    _check(h, w, rng, lo, hi)
    target_lo = max(lo, 1.0 / (h * w))
    return _grow_until(h, w, rng, target_lo, hi, _stroke)


def blobs(h: int, w: int, rng: np.random.Generator, lo: float = 0.0, hi: float = 0.6) -> np.ndarray:
    """Object-shaped polygons covering between ``lo`` and ``hi`` of the image."""
    _check(h, w, rng, lo, hi)
    return _grow_until(h, w, rng, max(lo, 1.0 / (h * w)), hi, _blob)


def mixed(h: int, w: int, rng: np.random.Generator, lo: float = 0.0, hi: float = 0.6) -> np.ndarray:
    """Strokes and blobs together (the training default)."""
    _check(h, w, rng, lo, hi)

    def draw(mask: np.ndarray, r: np.random.Generator) -> None:
        (_stroke if r.random() < 0.7 else _blob)(mask, r)

    return _grow_until(h, w, rng, max(lo, 1.0 / (h * w)), hi, draw)


def objects(h: int, w: int, rng: np.random.Generator, lo: float = 0.0, hi: float = 0.6) -> np.ndarray:
    """Large object silhouettes covering between ``lo`` and ``hi`` of the image (object removal
    of big foreground things; holes far deeper than the other families')."""
    _check(h, w, rng, lo, hi)
    return _grow_until(h, w, rng, max(lo, 1.0 / (h * w)), hi, _object)


def scratches(h: int, w: int, rng: np.random.Generator, lo: float = 0.0, hi: float = 0.6) -> np.ndarray:
    """Thin cracks and scratches with small spots (industrial defects)."""
    _check(h, w, rng, lo, hi)
    return _grow_until(h, w, rng, max(lo, 1.0 / (h * w)), hi, _scratch)


def rects(h: int, w: int, rng: np.random.Generator, lo: float = 0.0, hi: float = 0.6) -> np.ndarray:
    """Axis-aligned boxes (detector output)."""
    _check(h, w, rng, lo, hi)
    lo = max(lo, 1.0 / (h * w))
    # Boxes that reach the last row and column only for a range the original boxes cannot reach
    # (which used to loop for ever): every other range keeps its seeded masks.
    return _grow_until(h, w, rng, lo, hi, _rect if lo <= _rect_max_ratio(h, w) else _rect_to_edges)


FAMILIES: dict[str, Callable[..., np.ndarray]] = {"free-form": free_form, "blobs": blobs, "scratches": scratches,
                                                  "rects": rects, "objects": objects, "mixed": mixed}

#: The training masks of the fourth-generation models: each mask is one family, drawn with these
#: odds. The earlier generations trained on ``mixed`` only, so they never saw a scratch, a box or
#: a hole whose centre is more than ~50 px from its border (docs/training.md).
TRAINING_MIX: dict[str, float] = {"mixed": 0.4, "rects": 0.15, "scratches": 0.15, "objects": 0.3}


def training_mix(h: int, w: int, rng: np.random.Generator, lo: float = 0.0, hi: float = 0.6) -> np.ndarray:
    """A mask of a family drawn from :data:`TRAINING_MIX` (large objects only when ``hi`` allows
    one: >= 0.1 of the image)."""
    _check(h, w, rng, lo, hi)
    names = [n for n in TRAINING_MIX if n != "objects" or hi >= 0.1]
    p = np.array([TRAINING_MIX[n] for n in names])
    return FAMILIES[names[int(rng.choice(len(names), p=p / p.sum()))]](h, w, rng, lo, hi)


def hole_ratio(mask: np.ndarray) -> float:
    """The share of hole pixels; 0 for an empty mask (it divided by zero)."""
    return float(np.count_nonzero(mask)) / mask.size if mask.size else 0.0
