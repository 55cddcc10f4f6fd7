"""The optimised ROI planning and pasting give exactly what the straightforward versions gave
(the shipped quality tables depend on the crops): a bounding box read from the mask instead of
from a list of its pixels, components labelled in the hole's bounding box instead of the frame,
and the pasted fill copied by OpenCV instead of numpy's boolean indexing."""

import cv2
import numpy as np
import pytest

from edgefill import maskgen, roi


def _reference_plan(mask, cfg):
    """roi.plan as it was: every hole pixel listed, the whole frame labelled."""
    shape = mask.shape[:2]
    pts = cv2.findNonZero(mask)
    if pts is None:
        return []
    x, y, w, h = cv2.boundingRect(pts)
    whole = (y, x, y + h, x + w)
    if roi._fits(whole, shape, cfg):
        return [roi._crop_for_box(whole, shape, cfg)]
    n, _, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)
    boxes = sorted(((int(s[1]), int(s[0]), int(s[1] + s[3]), int(s[0] + s[2])) for s in stats[1:n]),
                   key=lambda b: (b[0], b[1]))
    groups = []
    for b in boxes:
        for i, g in enumerate(groups):
            u = roi._union(g, b)
            if roi._fits(u, shape, cfg):
                groups[i] = u
                break
        else:
            groups.append(b)
    crops = []
    for g in groups:
        crops.extend([roi._crop_for_box(g, shape, cfg)] if roi._fits(g, shape, cfg) else roi._tiles(g, shape, cfg))
    return crops


def _reference_paste(dst, filled, weights, crop):
    sy, sx = crop.slices
    f, wgt, region = filled[: crop.h, : crop.w], weights[: crop.h, : crop.w], dst[sy, sx]
    touched = wgt > 0
    if not touched.any():
        return
    full = wgt >= 1.0
    blend = touched & ~full
    region[full] = f[full]
    if blend.any():
        a = wgt[blend][:, None]
        region[blend] = np.clip(a * f[blend] + (1 - a) * region[blend] + 0.5, 0, 255).astype(np.uint8)


def _corner_ties(h, w, rng):
    """Pairs of components whose bounding boxes share their top-left corner (the sort keeps
    OpenCV's label order between them), at odd and even offsets."""
    m = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(2, 30))):
        y, x = int(rng.integers(0, h - 12)), int(rng.integers(0, w - 12))
        m[y, x + 3 : x + 10] = 255
        m[y : y + 10, x + 10] = 255
        m[y + 10, x : x + 11] = 255
        m[y : y + 2, x] = 255
    return m


CONFIGS = [roi.RoiConfig(), roi.RoiConfig(buckets=(128,), margin=16), roi.RoiConfig(buckets=(64, 128), margin=8, feather=3)]


@pytest.mark.parametrize("seed", range(12))
def test_plan_and_paste_are_what_they_were(seed):
    rng = np.random.default_rng(seed)
    h, w = [(720, 1280), (1080, 1920), (int(rng.integers(40, 700)), int(rng.integers(40, 700)))][seed % 3]
    masks = [maskgen.scratches(h, w, np.random.default_rng(seed), 0.005, 0.05),
             maskgen.free_form(h, w, np.random.default_rng(seed), 0.05, 0.3),
             (rng.random((h, w)) < 0.002).astype(np.uint8) * 255,
             _corner_ties(h, w, rng)]
    img = rng.integers(0, 255, (h, w, 3), np.uint8)
    for m in masks:
        for cfg in CONFIGS:
            crops = roi.plan(m, cfg)
            assert crops == _reference_plan(m, cfg)
        assert roi.plan(m > 0, CONFIGS[0]) == _reference_plan(m > 0, CONFIGS[0])  # bool: the other path
        for crop in crops[:4]:
            fill = rng.integers(0, 255, (crop.bucket_h, crop.bucket_w, 3), np.uint8)
            weights = roi.feather_weights(m[crop.slices], int(rng.choice([0, 3])))
            a, b = img.copy(), img.copy()
            roi.paste(a, fill, weights, crop)
            _reference_paste(b, fill, weights, crop)
            assert np.array_equal(a, b)


def test_paste_into_a_destination_opencv_cannot_take():
    """A float destination, or one the fill does not match, still gets numpy's copy."""
    crop = roi.Crop(0, 0, 4, 4, 64, 64)
    weights = np.zeros((64, 64), np.float32)
    weights[1:3, 1:3] = 1
    fill = np.full((64, 64, 3), 200, np.uint8)
    dst = np.zeros((6, 6, 3), np.float32)
    roi.paste(dst, fill, weights, crop)
    assert (dst[1:3, 1:3] == 200).all() and dst.sum() == 200 * 12
    assert roi.plan(np.zeros((5, 5), np.uint8), CONFIGS[0]) == []
