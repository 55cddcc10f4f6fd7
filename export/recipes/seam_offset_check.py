"""Test-time seam correction: the network's own error on the known pixels around the hole,
carried into the hole; paired against the plain fill (then the default thin-hole refill).

    PYTHONPATH=export .venv/bin/python export/recipes/seam_offset_check.py edgefill/models/lite.safetensors \
        [--set val-photos|val-texture] --families free-form,blobs,rects,objects [--per-bucket 2]

The generator outputs every pixel, the known ones too, and the graph keeps its output only in
the hole. Where its output on the known ring around the hole is off (a colour or brightness
offset of the whole region, a gradient it did not follow), the fill next to that ring is likely
off the same way: the correction is the residual ``image - raw output`` on the known pixels
within ``ring`` px of the hole, spread into the hole by a normalised Gaussian average of width
``sigma`` (a smooth membrane through the residual), times ``w * exp(-d / tau)`` at a hole pixel
``d`` px from the nearest known one. Cases as ``quick_check.py`` draws them (``check_cases``;
256 px crops). The correction is applied before the graph's fill smoothing, as a graph output
would carry it.
"""
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quick_check import check_images, load_graph, run_sweep, sweep_parser  # noqa: E402


def raw_output(graph, img: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The generator's output over the whole crop (float32 HxWx3, 0..255 scale, not clamped)."""
    with torch.no_grad():
        pixels = torch.from_numpy(img).permute(2, 0, 1)[None].float()
        valid = torch.from_numpy((~hole).astype(np.float32))[None, None]
        pred = graph.net(pixels * (1.0 / 127.5) - 1.0, valid)
    return ((pred[0].permute(1, 2, 0).numpy() + 1.0) * 127.5).astype(np.float32)


def smooth_graph_fill(graph, filled: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The graph's fill smoothing of a composited float fill (as the graph runs it)."""
    if graph.fill_smooth is None:
        return np.rint(filled)
    with torch.no_grad():
        t = torch.from_numpy(np.ascontiguousarray(filled)).permute(2, 0, 1)[None]
        h = torch.from_numpy(hole.astype(np.float32))[None, None]
        return graph.fill_smooth(t, h)[0].permute(1, 2, 0).numpy()


def spread_residual(residual: np.ndarray, ring: np.ndarray, sigma: float) -> np.ndarray:
    """A normalised Gaussian average of ``residual`` over the ``ring`` pixels, everywhere."""
    wgt = ring.astype(np.float32)
    num = cv2.GaussianBlur(residual * wgt[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(wgt, (0, 0), sigma)[..., None]
    return num / np.maximum(den, 1e-6)


def main() -> None:
    ap = sweep_parser(__doc__, "free-form,blobs,rects,objects", 2)
    ap.add_argument("--rings", default="2,6")
    ap.add_argument("--sigmas", default="4,12")
    ap.add_argument("--taus", default="8,1000")
    ap.add_argument("--weights-w", default="0.5,1")
    a = ap.parse_args()
    torch.set_num_threads(2)
    graph = load_graph(a.weights)
    paths = check_images(a.set)
    grid = [(r, s, t, w) for r in map(int, a.rings.split(",")) for s in map(float, a.sigmas.split(","))
            for t in map(float, a.taus.split(",")) for w in map(float, a.weights_w.split(","))]

    def fills_of(case) -> dict:
        img, hole = case.img, case.hole
        raw = raw_output(graph, img, hole)
        # the graph's own fill (case.filled), to a few pixels off by one (float order: checked)
        plain = np.where(hole[..., None], np.clip(np.rint(raw), 0, 255), img).astype(np.float32)
        residual = img.astype(np.float32) - raw
        dist = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5)
        known_dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)
        fills = {"plain": smooth_graph_fill(graph, plain, hole)}
        for r, s, t, w in grid:
            ring = (~hole) & (known_dist <= r)
            corr = spread_residual(residual, ring, s) * (w * np.exp(-dist / t))[..., None]
            fixed = np.where(hole[..., None], np.clip(np.rint(raw + corr), 0, 255), img).astype(np.float32)
            fills[f"ring{r} s{s:g} tau{t:g} w{w:g}"] = smooth_graph_fill(graph, fixed, hole)
        return fills

    run_sweep(a.weights.stem, graph, paths, a.set, a.families.split(","), a.per_bucket, fills_of)


if __name__ == "__main__":
    main()
