"""Paired comparison of thin-hole refill settings (NS radius, share of NS in the thin pixels) on
one model's fills (docs/training.md, "Twelfth session"): the model runs once per case, then
every setting refills its thin parts.

    PYTHONPATH=export .venv/bin/python export/recipes/thin_refill_sweep.py edgefill/models/lite-surface.safetensors \
        --val-texture --radii 5,2,3,4,6,7,10 --ns-weights 1
    PYTHONPATH=export .venv/bin/python export/recipes/thin_refill_sweep.py edgefill/models/lite.safetensors \
        --radii 2 --ns-weights 1,0.8,0.7,0.6,0.5,0.4

Cases as ``quick_check.py`` draws them (3 masks per 10-50% bucket, 256 px crops, classical
baseline OpenCV radius 3); prints each setting's mean gain over the better classical method,
mean hole SSIM, and paired difference from the first setting, with a 95% interval over the images.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quick_check import check_cases, check_images, load_graph, paired_rows, save_npz  # noqa: E402

from edgefill.quality import hole_psnr, hole_ssim  # noqa: E402
from edgefill.thin import DEFAULT_THIN_HOLE_PX, refill_thin  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", type=Path)
    ap.add_argument("--val-texture", action="store_true", help="the validation textures (default: validation photos)")
    ap.add_argument("--family", default="scratches")
    ap.add_argument("--radii", default="2", help="comma list of NS radii")
    ap.add_argument("--ns-weights", default="1,0.7", help="comma list of NS shares in the thin pixels; the first "
                    "radius with the first share is the reference of the paired differences")
    ap.add_argument("--thin-px", type=float, default=DEFAULT_THIN_HOLE_PX)
    ap.add_argument("--per-bucket", type=int, default=3)
    ap.add_argument("--npz", type=Path, default=None, help="also save every case's gain per radius (images, buckets, masks)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    which = "val-texture" if a.val_texture else "val-photos"
    # once each: a setting listed twice would get two gains per case (and the arrays' shape fails)
    settings = list(dict.fromkeys((float(r), float(w)) for r in a.radii.split(",") for w in a.ns_weights.split(",")))
    graph = load_graph(a.weights)
    paths = check_images(which)
    gain: dict = {s: [] for s in settings}
    ssim: dict = {s: [] for s in settings}
    for case in check_cases(graph, paths, which, a.family, a.per_bucket):
        for r, w in settings:
            out = refill_thin(case.filled, case.img, case.hole, a.thin_px, r, w)
            gain[r, w].append(hole_psnr(out, case.img, case.hole) - case.ref)
            ssim[r, w].append(hole_ssim(out, case.img, case.hole))
    shape = (len(paths), 4, a.per_bucket)
    for (r, w), cases, d in paired_rows(gain, shape):
        line = (f"{a.weights} {which} {a.family} radius {r:g} NS share {w:g}: gain {cases.mean():+.3f} dB, "
                f"hole SSIM {np.mean(ssim[r, w]):.4f}")
        if d is not None:
            line += "; minus the first: %+.3f [%+.3f, %+.3f]" % d
        print(line, flush=True)
    if a.npz:
        save_npz(a.npz, images=np.array([p.name for p in paths]),
                 **{f"r{r:g}_w{w:g}": np.array(gain[r, w]).reshape(shape) for r, w in settings})


if __name__ == "__main__":
    main()
