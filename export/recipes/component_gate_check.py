"""Whole-hole against per-component gating of the wide NS mix (sixteenth session;
docs/training.md): the fifteenth session's gate reads one ring std for the whole hole, so every
hole of a frame gets one share; :func:`component_shares` (defined here: not adopted) gives each
8-connected component the share of its own ring. This scores both on the validation sets, with the model's
recorded settings (else the runtime's defaults), as ``Inpainter`` runs them (the mix, then the
default thin-hole refill), paired per case. A case whose components all get the whole hole's
share is the same under both and is not run through the model.

    PYTHONPATH=export .venv/bin/python export/recipes/component_gate_check.py edgefill/models/lite.safetensors

Choose on these sets only, never on the eval photos or the held-out textures.
"""
import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quick_check import check_cases, check_images, load_graph  # noqa: E402

from edgefill.quality import hole_psnr, hole_ssim  # noqa: E402
from edgefill.quality_stats import difference_ci  # noqa: E402
from edgefill.thin import DEFAULT_NS_WEIGHT, DEFAULT_THIN_HOLE_PX, refill_thin  # noqa: E402
from edgefill.refill_settings import RefillSettings  # noqa: E402
from edgefill.wide_mix import DEFAULT_WIDE_NS_MAX_STD, RING_PX, coarse_ns, gated_share, ring_std  # noqa: E402


def component_ring_std(image: np.ndarray, hole: np.ndarray, ring: int = RING_PX) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ring_std` for each 8-connected component of ``hole``: its labels (int32, 0 off the
    hole) and the std of each label's ring (index 0 unused; ``inf`` where no known pixel is
    near). A known pixel near two components counts for the one with the higher label only (one
    grey-level dilation of the labels finds every ring), so a component ringed entirely by
    pixels nearer to a higher one takes the std of the whole hole's ring."""
    hole8 = (hole > 0).astype(np.uint8)
    n, labels = cv2.connectedComponents(hole8, connectivity=8)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * ring + 1, 2 * ring + 1))
    near = cv2.dilate(labels.astype(np.float32), kernel)  # float32 holds labels exactly up to 2**24
    known = (near > 0) & (hole8 == 0)
    stds = np.full(n, np.inf)
    if not known.any():
        return labels, stds
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    values = grey[known].astype(np.float64)
    owner = near[known].astype(np.intp)
    count = np.bincount(owner, minlength=n)
    mean = np.bincount(owner, values, minlength=n) / np.maximum(count, 1)
    var = np.bincount(owner, values * values, minlength=n) / np.maximum(count, 1) - mean * mean
    stds = np.where(count > 0, np.sqrt(np.maximum(var, 0.0)), float(values.std()))
    stds[0] = np.inf
    return labels, stds


def component_shares(image: np.ndarray, hole: np.ndarray, weight: float,
                     max_std: float = DEFAULT_WIDE_NS_MAX_STD) -> np.ndarray:
    """The NS share of every hole pixel (float32, 0 off the hole): each 8-connected component of
    ``hole`` gets :func:`gated_share` of its own ring's std (:func:`component_ring_std`), so a
    hole on a wall is mixed and one on a detailed object beside it is not."""
    labels, stds = component_ring_std(image, hole)
    shares = np.array([gated_share(weight, std, max_std) for std in stds], np.float32)
    shares[0] = 0.0
    return shares[labels]


def mixed(filled: np.ndarray, img: np.ndarray, hole: np.ndarray, share: float | np.ndarray,
          s: RefillSettings) -> np.ndarray:
    """The wide mix at ``share`` (one for the hole, or a per-pixel map) with NS at 1/``s.wide_ns_scale``
    of the whole crop (the same for both gates, so the pairing compares shares only), then the
    default thin refill with ``s.thin_radius``."""
    share = share[hole][:, None] if isinstance(share, np.ndarray) else share
    out = filled.copy()
    if np.any(share):
        ns = coarse_ns(img, hole, s.wide_ns_scale)
        out[hole] = np.clip(np.rint(share * ns[hole] + (1 - share) * filled[hole].astype(np.float32)), 0, 255)
    return refill_thin(out, img, hole, DEFAULT_THIN_HOLE_PX, s.thin_radius, DEFAULT_NS_WEIGHT)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", type=Path)
    ap.add_argument("--per-bucket", type=int, default=1)
    ap.add_argument("--photo-families", default="free-form,blobs,rects,objects,scratches")
    ap.add_argument("--texture-families", default="free-form,objects,scratches")
    a = ap.parse_args()
    torch.set_num_threads(2)
    graph = load_graph(a.weights)
    s = graph.net.config.refill.resolved()
    print(f"{a.weights}: share {s.wide_ns_weight:g} at 1/{s.wide_ns_scale}, gate {s.wide_ns_max_std:g}")

    def shares(img, hole):
        whole = gated_share(s.wide_ns_weight, ring_std(img, hole), s.wide_ns_max_std)
        return whole, component_shares(img, hole, s.wide_ns_weight, s.wide_ns_max_std)

    def differs(img, hole):
        whole, comp = shares(img, hole)
        return not np.allclose(comp[hole], whole, atol=1e-6)

    for which, fams in (("val-texture", a.texture_families), ("val-photos", a.photo_families),
                        ("train-photos", a.photo_families)):
        paths = check_images(which)
        for fam in fams.split(","):
            d_gain, d_ssim, changed = [], {b: [] for b in range(1, 5)}, 0
            for case in check_cases(graph, paths, which, fam, a.per_bucket, needs_fill=differs):
                if case.filled is None:
                    d_gain.append(0.0)
                    d_ssim[case.bucket].append(0.0)
                    continue
                changed += 1
                whole, comp = shares(case.img, case.hole)
                outs = [mixed(case.filled, case.img, case.hole, sh, s) for sh in (whole, comp)]
                g = [hole_psnr(o, case.img, case.hole) for o in outs]
                d_gain.append(g[1] - g[0])
                d_ssim[case.bucket].append(hole_ssim(outs[1], case.img, case.hole) - hole_ssim(outs[0], case.img, case.hole))
            cases = np.array(d_gain).reshape(len(paths), 4, a.per_bucket)
            m, lo, hi = difference_ci({"a": cases, "b": np.zeros_like(cases)}, "a", "b", buckets=slice(None))
            worst = min(np.mean(v) for v in d_ssim.values())
            print(f"{which:12} {fam:10} per-component minus whole-hole {m:+.4f} [{lo:+.4f}, {hi:+.4f}] dB, "
                  f"worst bucket SSIM {worst:+.5f}, cases changed {changed}/{cases.size}", flush=True)


if __name__ == "__main__":
    main()
