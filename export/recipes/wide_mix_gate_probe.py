"""Probe (fourteenth session; docs/training.md): can a statistic of the known pixels around a hole
tell where the whole-hole NS mix (share 0.2 at 1/4) helps? Per case of the validation photos and
textures (free-form and objects, 1 mask per 10-50% bucket; ``quick_check.check_cases``): the
paired gain of the mix, and four statistics a runtime could compute (the ring of known pixels
within 8 px of the hole: mean gradient magnitude, mean |Laplacian|, grey-level std; the mean
|model - NS| inside the hole). Prints each statistic's correlation with the gain and the mean
gain per domain when the mix is applied only below / above a pooled quantile.

    PYTHONPATH=export .venv/bin/python export/recipes/wide_mix_gate_probe.py edgefill/models/nano.safetensors
"""
import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quick_check import check_cases, check_images, load_graph  # noqa: E402

from edgefill.quality import hole_psnr  # noqa: E402
from edgefill.thin import DEFAULT_NS_WEIGHT, DEFAULT_THIN_HOLE_PX, refill_thin  # noqa: E402
from edgefill.wide_mix import coarse_ns  # noqa: E402

SHARE, SCALE, RING = 0.2, 4, 8
NAMES = ["grad", "lap", "std", "disagree"]


def refined(filled, img, hole, ns, share):
    mixed = np.clip(np.rint((1 - share) * filled + share * ns), 0, 255).astype(np.uint8)
    mixed[~hole] = filled[~hole]
    return refill_thin(mixed, img, hole, DEFAULT_THIN_HOLE_PX, 2, DEFAULT_NS_WEIGHT)


def statistics(img, hole, filled, ns):
    ring = (cv2.dilate(hole.astype(np.uint8), np.ones((2 * RING + 1,) * 2, np.uint8)) > 0) & ~hole
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    grad = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    lap = np.abs(cv2.Laplacian(g, cv2.CV_32F))
    disagree = np.abs(filled.astype(np.float32) - ns)[hole].mean()
    return grad[ring].mean(), lap[ring].mean(), g[ring].std(), disagree


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", type=Path)
    a = ap.parse_args()
    torch.set_num_threads(2)
    graph = load_graph(a.weights)
    rows, texture = [], []
    for which in ("val-photos", "val-texture"):
        paths = check_images(which)
        for fam in ("free-form", "objects"):
            for case in check_cases(graph, paths, which, fam, 1):
                img, hole, filled = case.img, case.hole, case.filled
                ns = coarse_ns(img, hole, SCALE)
                gain = (hole_psnr(refined(filled, img, hole, ns, SHARE), img, hole)
                        - hole_psnr(refined(filled, img, hole, ns, 0.0), img, hole))
                rows.append((gain, *statistics(img, hole, filled, ns)))
                texture.append(which == "val-texture")
    arr, dom = np.array(rows, float), np.array(texture)
    print(f"cases: photos {(~dom).sum()}, textures {dom.sum()}; mean gain of the mix: photos {arr[~dom, 0].mean():+.3f}, "
          f"textures {arr[dom, 0].mean():+.3f}")
    for j, name in enumerate(NAMES, 1):
        print(f"{name}: correlation with the gain {np.corrcoef(arr[:, 0], arr[:, j])[0, 1]:+.3f}; median photos "
              f"{np.median(arr[~dom, j]):.2f}, textures {np.median(arr[dom, j]):.2f}")
        for q in (0.25, 0.5, 0.75):
            t = np.quantile(arr[:, j], q)
            for below in (True, False):
                on = arr[:, j] <= t if below else arr[:, j] >= t
                print(f"   mix only {'<=' if below else '>='} q{q:.2f} ({t:.1f}): mean gain photos "
                      f"{(arr[~dom, 0] * on[~dom]).mean():+.3f}, textures {(arr[dom, 0] * on[dom]).mean():+.3f}")


if __name__ == "__main__":
    main()
