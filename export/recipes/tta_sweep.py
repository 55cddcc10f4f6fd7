"""Test-time flip ensemble sweep: the model's fill averaged with its fill of the mirrored image
(mirrored back), then the default thin-hole refill; paired against the plain fill.

    PYTHONPATH=export .venv/bin/python export/recipes/tta_sweep.py edgefill/models/lite.safetensors \
        [--val-texture] --families free-form,objects,scratches

Cases as ``quick_check.py`` draws them (``check_cases``; 2 masks per 10-50% bucket, 256 px crops);
validation sets only. Variants: ``h`` (horizontal mirror, 2 runs), ``hv`` (+ vertical and both, 4 runs),
``d8`` (+ the four transposed orientations: every quarter turn with and without the mirror, 8 runs).
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quick_check import check_images, load_graph, run_sweep  # noqa: E402

from edgefill.wide_mix import coarse_ns  # noqa: E402
from edgefill_export.onnx_export import torch_reference  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", type=Path)
    ap.add_argument("--val-texture", action="store_true")
    ap.add_argument("--families", default="free-form,objects,scratches")
    ap.add_argument("--per-bucket", type=int, default=2)
    ap.add_argument("--wide", type=float, default=0.0, help="also mix NS at 1/4 resolution in at this share "
                    "(edgefill.wide_mix), to see whether the two stack")
    a = ap.parse_args()
    torch.set_num_threads(2)
    which = "val-texture" if a.val_texture else "val-photos"
    graph = load_graph(a.weights)
    paths = check_images(which)

    def fill(img: np.ndarray, hole: np.ndarray) -> np.ndarray:
        return torch_reference(graph, np.ascontiguousarray(img)[None],
                               np.ascontiguousarray(hole).astype(np.uint8)[None, ..., None])[0].astype(np.float32)

    def fills_of(case) -> dict:
        img, hole = case.img, case.hole
        fills = [case.filled.astype(np.float32)]
        for axes in ((1,), (0,), (0, 1)):
            fills.append(np.flip(fill(np.flip(img, axes), np.flip(hole, axes)), axes))
        turned_img, turned_hole = img.transpose(1, 0, 2), hole.T  # the transpose and its three mirrors
        for axes in ((), (1,), (0,), (0, 1)):
            out = np.flip(fill(np.flip(turned_img, axes), np.flip(turned_hole, axes)), axes)
            fills.append(out.transpose(1, 0, 2))
        ns = coarse_ns(img, hole, 4) if a.wide else None
        means = {}
        for v, n in (("plain", 1), ("h", 2), ("hv", 4), ("d8", 8)):
            mean = np.mean(fills[:n], axis=0)
            means[v] = (1 - a.wide) * mean + a.wide * ns if a.wide else mean
        return means

    run_sweep(a.weights.stem, graph, paths, which, a.families.split(","), a.per_bucket, fills_of,
              f" wide {a.wide:g}" if a.wide else "")

if __name__ == "__main__":
    main()
