"""The optimised thin-hole refill gives exactly what the straightforward version gave (the
shipped quality tables depend on it): masks in OpenCV's 0/255 form, NS run around the thin
pixels' own bounding box instead of the whole hole's, and the thin pixels gathered by index
instead of numpy's boolean indexing. The reference calls OpenCV's NS through
:func:`edgefill.thin.inpaint_ns`, as the code does since images one pixel high or wide made
OpenCV's own call read memory outside them (its result changed from call to call); for every
other image that is ``cv2.inpaint`` itself."""

import cv2
import numpy as np
import pytest

from edgefill import maskgen, thin

from .conftest import natural_image


def _reference_thin_components(hole, max_half_width):
    hole8 = (hole > 0).astype(np.uint8)
    if max_half_width <= 0 or not hole8.any():
        return np.zeros(hole.shape, bool)
    k = 2 * int(round(min(max_half_width, max(hole.shape)))) + 1
    wide = cv2.morphologyEx(hole8, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return (hole8 > 0) & (wide == 0)


def _reference_refill(out, original, hole, box, max_half_width, radius, ns_weight):
    """refill_thin_in_place as it was: NS over the whole hole's window, boolean indexing."""
    if max_half_width <= 0:
        return False
    x, y, w, h = box
    pad = thin.context_px(max_half_width, radius)
    window = (slice(max(0, y - pad), y + h + pad), slice(max(0, x - pad), x + w + pad))
    win_hole = hole[window] > 0
    mask = _reference_thin_components(win_hole, max_half_width)
    if not mask.any():
        return False
    source = original[window].copy()
    np.copyto(source, out[window], where=win_hole[..., None])
    ns = thin.inpaint_ns(source, mask.astype(np.uint8) * 255, radius)
    if ns_weight >= 1:
        out[window][mask] = ns[mask]
    else:
        mixed = ns_weight * ns[mask].astype(np.float32) + (1 - ns_weight) * out[window][mask].astype(np.float32)
        out[window][mask] = np.rint(mixed).astype(np.uint8)
    return True


def _case(seed):
    rng = np.random.default_rng(seed)
    h, w = [(int(rng.integers(1, 200)), int(rng.integers(1, 200))), (360, 640),
            (int(rng.integers(60, 400)), int(rng.integers(60, 400)))][seed % 3]
    family = ["scratches", "free-form", "objects", "rects", "mixed", "noise"][seed % 6]
    if family == "noise":
        hole = (rng.random((h, w)) < rng.choice([0.002, 0.05, 0.3])).astype(np.uint8) * 255
    else:
        hole = maskgen.FAMILIES[family](h, w, np.random.default_rng(seed), 0, float(rng.choice([0.05, 0.3])))
    if seed % 7 == 0 and h > 2:
        hole[:2] = 255  # a band along the border
    if seed % 11 == 0:
        hole[:] = 255
    if seed % 4 == 3:  # smooth surroundings: the wide mix's gate opens
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.stack([60 + 0.2 * xx, 40 + 0.3 * yy, 100 + 0.1 * (xx + yy)], -1).astype(np.uint8)
    else:
        img = natural_image(h, w, seed=seed)
    fill = img.copy()
    fill[hole > 0] = rng.integers(0, 255, (int(np.count_nonzero(hole)), 3), np.uint8)
    return rng, img, fill, (hole if seed % 2 else hole > 0)


@pytest.mark.parametrize("seed", range(40))
def test_thin_refill_is_what_it_was(seed):
    rng, img, fill, hole = _case(seed)
    pts = cv2.findNonZero(hole.astype(np.uint8))
    if pts is None:
        return
    box = cv2.boundingRect(pts)
    for max_half_width, radius, ns_weight in [(5.0, 2.0, 0.7), (float(rng.choice([0.4, 1, 3, 9, 40])),
                                                                float(rng.choice([1, 3.5, 10])),
                                                                float(rng.choice([0.0, 0.3, 1.0])))]:
        a, b = fill.copy(), fill.copy()
        assert thin.refill_thin_in_place(a, img, hole, box, max_half_width, radius, ns_weight) == \
            _reference_refill(b, img, hole, box, max_half_width, radius, ns_weight)
        assert np.array_equal(a, b)
        assert np.array_equal(thin.thin_components(hole, max_half_width), _reference_thin_components(hole, max_half_width))


def test_thin_refill_with_a_short_scratch_beside_a_large_object():
    """The case the smaller NS window is for: NS around the scratch only, same result."""
    img = natural_image(720, 1280, seed=1)
    hole = np.zeros((720, 1280), np.uint8)
    cv2.circle(hole, (400, 360), 250, 255, -1)
    cv2.line(hole, (700, 100), (760, 140), 255, 2)
    fill = img.copy()
    fill[hole > 0] = (20, 200, 90)
    box = cv2.boundingRect(hole)
    a, b = fill.copy(), fill.copy()
    assert thin.refill_thin_in_place(a, img, hole, box, 5.0)
    assert _reference_refill(b, img, hole, box, 5.0, thin.NS_RADIUS, thin.DEFAULT_NS_WEIGHT)
    assert np.array_equal(a, b) and not np.array_equal(a, fill)
