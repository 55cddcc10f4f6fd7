"""Test-time two-scale fill: the model's fill of the frame blended, deep inside the hole, with its
fill of the frame at half resolution (scaled back up); then the default thin-hole refill; paired
against the plain fill.

    PYTHONPATH=export .venv/bin/python export/recipes/multiscale_check.py edgefill/models/lite.safetensors \
        [--set val-photos|val-texture|photos|texture] --families free-form,blobs,rects,objects

The fourth session measured a form of this on the third-generation lite (+0.29 dB on boxes, 0.00
on strokes; not adopted once the global-context block fixed the deep-hole failure it worked
around). This re-measures it on current weights. Cases as ``quick_check.py`` draws them
(``check_cases``; 256 px crops). At half resolution a pixel is a hole when any of its four
source pixels is (no known value is taken from under the hole). The blend weight at a hole
pixel ``d`` px (Euclidean) from the nearest known one is ``alpha * clip((d - d0) / ramp, 0, 1)``;
``half`` is the half-resolution fill alone over the whole hole.
"""
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quick_check import check_images, load_graph, run_sweep, sweep_parser  # noqa: E402

from edgefill_export.onnx_export import torch_reference  # noqa: E402


def half_fill(graph, img: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The model's fill at half resolution, scaled back to ``img``'s size (float32)."""
    h, w = hole.shape
    small = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.astype(np.uint8), (w // 2, h // 2), interpolation=cv2.INTER_AREA) > 0
    small_hole |= cv2.resize(hole.astype(np.uint8), (w // 2, h // 2), interpolation=cv2.INTER_NEAREST) > 0
    small_hole = cv2.dilate(small_hole.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0  # any source pixel
    out = torch_reference(graph, np.ascontiguousarray(small)[None], small_hole.astype(np.uint8)[None, ..., None])[0]
    return cv2.resize(out.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def main() -> None:
    ap = sweep_parser(__doc__, "free-form,blobs,rects,objects", 2)
    ap.add_argument("--alphas", default="0.5,1")
    ap.add_argument("--d0", default="0,8")
    ap.add_argument("--ramps", default="8,24")
    a = ap.parse_args()
    torch.set_num_threads(2)
    graph = load_graph(a.weights)
    paths = check_images(a.set)
    grid = [(al, d0, r) for al in map(float, a.alphas.split(",")) for d0 in map(float, a.d0.split(","))
            for r in map(float, a.ramps.split(","))]

    def fills_of(case) -> dict:
        full = case.filled.astype(np.float32)
        half = half_fill(graph, case.img, case.hole)
        dist = cv2.distanceTransform(case.hole.astype(np.uint8), cv2.DIST_L2, 5)
        blends = {"plain": full, "half": half}
        for al, d0, r in grid:
            wgt = (al * np.clip((dist - d0) / r, 0, 1))[..., None]
            blends[f"a{al:g} d{d0:g} r{r:g}"] = (1 - wgt) * full + wgt * half
        return blends

    run_sweep(a.weights.stem, graph, paths, a.set, a.families.split(","), a.per_bucket, fills_of)


if __name__ == "__main__":
    main()
