"""Whole-hole NS mix sweep (docs/training.md, "Thirteenth session"): every hole pixel
``s x NS(at 1/f resolution) + (1 - s) x model``, then the default thin-hole refill; paired
against no mix, on one model's fills (the model runs once per case).

    PYTHONPATH=export .venv/bin/python export/recipes/wide_mix_sweep.py edgefill/models/lite-surface.safetensors \
        --val-texture --families objects,free-form,scratches --shares 0.1,0.2,0.3,0.4 --scales 1,2,4

Cases as ``quick_check.py`` draws them (``check_cases`` ; 3 masks per 10-50% bucket, 256 px crops). NS here runs
on the whole crop (``edgefill.wide_mix`` runs it on the hole's window: the same up to the
low-resolution grid's alignment). The session's full-resolution photo figures came from an
earlier form that mixed after the thin refill.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quick_check import check_cases, check_images, load_graph, paired_rows  # noqa: E402

from edgefill.quality import hole_psnr, hole_ssim  # noqa: E402
from edgefill.thin import DEFAULT_NS_WEIGHT, DEFAULT_THIN_HOLE_PX, refill_thin  # noqa: E402
from edgefill.wide_mix import coarse_ns  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", type=Path)
    ap.add_argument("--val-texture", action="store_true")
    ap.add_argument("--families", default="free-form,objects")
    ap.add_argument("--shares", default="0.1,0.2,0.3")
    ap.add_argument("--scales", default="1,2,4")
    ap.add_argument("--per-bucket", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(2)
    which = "val-texture" if a.val_texture else "val-photos"
    graph = load_graph(a.weights)
    paths = check_images(which)
    # once each, share 0 at any scale being "no mix" (a repeat would get two gains per case)
    sets = list(dict.fromkeys([(0.0, 1)] + [(float(s), int(f)) if float(s) else (0.0, 1)
                                            for f in a.scales.split(",") for s in a.shares.split(",")]))
    for fam in a.families.split(","):
        gain: dict = {k: [] for k in sets}
        ss: dict = {k: [] for k in sets}
        for case in check_cases(graph, paths, which, fam, a.per_bucket):
            img, hole, filled = case.img, case.hole, case.filled
            ns = {f: coarse_ns(img, hole, f) for f in {f for s, f in sets if s}}
            for s, f in sets:
                mixed = filled
                if s:
                    mixed = np.clip(np.rint((1 - s) * filled + s * ns[f]), 0, 255).astype(np.uint8)
                    mixed[~hole] = filled[~hole]
                out = refill_thin(mixed, img, hole, DEFAULT_THIN_HOLE_PX, 2, DEFAULT_NS_WEIGHT)
                gain[s, f].append(hole_psnr(out, img, hole) - case.ref)
                ss[s, f].append(hole_ssim(out, img, hole))
        shape = (len(paths), 4, a.per_bucket)
        for (s, f), cases, d in paired_rows(gain, shape):
            line = f"{a.weights.stem} {which} {fam} share {s:g} scale 1/{f}: gain {cases.mean():+.3f} SSIM {np.mean(ss[s, f]):.4f}"
            if d is not None:
                line += " d %+.3f [%+.3f, %+.3f]" % d
                d_ssim = np.array(ss[s, f]).reshape(shape) - np.array(ss[sets[0]]).reshape(shape)
                line += " ssim-bucket-min-d %+.4f" % d_ssim.mean(axis=(0, 2)).min()
            print(line, flush=True)


if __name__ == "__main__":
    main()
