"""Whole-hole NS mix sweep (docs/training.md, "Thirteenth session"): every hole pixel
``s x NS(at 1/f resolution) + (1 - s) x model``, then the default thin-hole refill; paired
against no mix, on one model's fills (the model runs once per case).

    PYTHONPATH=export .venv/bin/python export/recipes/wide_mix_sweep.py edgefill/models/lite-surface.safetensors \
        --val-texture --families objects,free-form,scratches --shares 0.1,0.2,0.3,0.4 --scales 1,2,4

Cases as ``quick_check.py`` draws them (3 masks per 10-50% bucket, 256 px crops). NS here runs
on the whole crop (``edgefill.wide_mix`` runs it on the hole's window: the same up to the
low-resolution grid's alignment). The session's full-resolution photo figures came from an
earlier form that mixed after the thin refill.
"""
import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quick_check import BUCKETS, centre_crop, check_images, read_image  # noqa: E402

from edgefill import maskgen  # noqa: E402
from edgefill.quality import hole_psnr, hole_ssim  # noqa: E402
from edgefill.quality_stats import difference_ci  # noqa: E402
from edgefill.thin import DEFAULT_NS_WEIGHT, DEFAULT_THIN_HOLE_PX, refill_thin  # noqa: E402
from edgefill.wide_mix import coarse_ns  # noqa: E402
from edgefill_export.onnx_export import prepare, torch_reference  # noqa: E402
from edgefill_export.weights import load_weights  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("weights", type=Path)
ap.add_argument("--val-texture", action="store_true")
ap.add_argument("--families", default="free-form,objects")
ap.add_argument("--shares", default="0.1,0.2,0.3")
ap.add_argument("--scales", default="1,2,4")
ap.add_argument("--per-bucket", type=int, default=3)
a = ap.parse_args()
torch.set_num_threads(2)
which = "val-texture" if a.val_texture else "val-photos"
graph = prepare(load_weights(a.weights))
paths = check_images(which)
sets = [(0.0, 1)] + [(float(s), int(f)) for f in a.scales.split(",") for s in a.shares.split(",")]
for fam in a.families.split(","):
    gain = {k: [] for k in sets}
    ss = {k: [] for k in sets}
    for i, p in enumerate(paths):
        img = read_image(p)
        if which == "val-photos":
            scale = 512 / min(img.shape[:2])
            img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        img = centre_crop(img, 256)
        for b in range(1, 5):
            for k in range(a.per_bucket):
                mask = maskgen.FAMILIES[fam](256, 256, np.random.default_rng([0, i, b, k]), *BUCKETS[b])
                hole = mask > 0
                ref = max(hole_psnr(cv2.inpaint(img, mask, 3, fl), img, hole) for fl in (cv2.INPAINT_TELEA, cv2.INPAINT_NS))
                filled = torch_reference(graph, img[None], hole.astype(np.uint8)[None, ..., None])[0]
                ns = {f: coarse_ns(img, hole, f) for f in {f for _, f in sets}}
                for s, f in sets:
                    mixed = filled
                    if s:
                        mixed = np.clip(np.rint((1 - s) * filled + s * ns[f]), 0, 255).astype(np.uint8)
                        mixed[~hole] = filled[~hole]
                    out = refill_thin(mixed, img, hole, DEFAULT_THIN_HOLE_PX, 2, DEFAULT_NS_WEIGHT)
                    gain[s, f].append(hole_psnr(out, img, hole) - ref)
                    ss[s, f].append(hole_ssim(out, img, hole))
    shape = (len(paths), 4, a.per_bucket)
    first = np.array(gain[sets[0]]).reshape(shape)
    for s, f in sets:
        cases = np.array(gain[s, f]).reshape(shape)
        line = f"{a.weights.stem} {which} {fam} share {s:g} scale 1/{f}: gain {cases.mean():+.3f} SSIM {np.mean(ss[s, f]):.4f}"
        if s:
            line += " d %+.3f [%+.3f, %+.3f]" % difference_ci({"a": cases, "b": first}, "a", "b", buckets=slice(None))
            d_ssim = np.array(ss[s, f]).reshape(shape) - np.array(ss[sets[0]]).reshape(shape)
            line += " ssim-bucket-min-d %+.4f" % d_ssim.mean(axis=(0, 2)).min()
        print(line, flush=True)
