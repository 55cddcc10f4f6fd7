"""Telea in the thin-hole refill (seventeenth session; docs/training.md): the runtime's thin
pixels get ``w`` x OpenCV NS + (1 - ``w``) x the model's fill (:data:`edgefill.thin.DEFAULT_NS_WEIGHT`).
Telea and NS err differently too, so this scores a three-way mix, ``w`` x ((1 - ``t``) x NS +
``t`` x Telea) + (1 - ``w``) x model, for a grid of ``w`` and ``t``, each case as ``Inpainter`` runs
it otherwise (the model, its recorded wide NS mix, then the thin refill; both OpenCV fills read
the same pixels, the known ones and the mixed fill of the wide parts). The first setting is the
runtime's (t 0 at the default share), the reference of the paired differences.

    PYTHONPATH=export .venv/bin/python export/recipes/thin_telea_check.py edgefill/models/nano.safetensors

Choose on these sets only, never on the eval photos or the held-out textures.
"""
import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quick_check import check_cases, check_images, load_graph, paired_rows  # noqa: E402

from edgefill.quality import hole_psnr, hole_ssim  # noqa: E402
from edgefill.thin import DEFAULT_NS_WEIGHT, DEFAULT_THIN_HOLE_PX, thin_components  # noqa: E402
from edgefill.wide_mix import mix_wide_in_place  # noqa: E402


def settings_grid(shares: str, teleas: str) -> list[tuple[float, float]]:
    grid = [(float(w), float(t)) for w in shares.split(",") for t in teleas.split(",")]
    first = (DEFAULT_NS_WEIGHT, 0.0)
    return list(dict.fromkeys([first] + grid))  # once each: a repeat would get two gains per case


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", type=Path)
    ap.add_argument("--shares", default="0.7,0.8,0.9", help="comma list of OpenCV's share w in the thin pixels")
    ap.add_argument("--teleas", default="0,0.25,0.5,0.75", help="comma list of Telea's part t of OpenCV's share")
    ap.add_argument("--telea-radius", type=float, default=None, help="Telea's radius (default: the NS radius in use)")
    ap.add_argument("--per-bucket", type=int, default=1)
    ap.add_argument("--sets", default="val-texture:free-form+scratches+objects,val-photos:scratches+free-form,"
                                      "train-photos:scratches+free-form")
    a = ap.parse_args()
    torch.set_num_threads(2)
    sets = []
    for spec in a.sets.split(","):
        which, sep, fams = spec.partition(":")
        if not sep or not fams:
            raise SystemExit(f"--sets: {spec!r} is not SET:FAMILY+FAMILY... (e.g. val-photos:scratches+free-form)")
        sets.append((which, fams))
    graph = load_graph(a.weights)
    s = graph.net.config.refill.resolved()
    telea_r = a.telea_radius or s.thin_radius
    grid = settings_grid(a.shares, a.teleas)
    print(f"{a.weights}: wide share {s.wide_ns_weight:g} at 1/{s.wide_ns_scale}, gate {s.wide_ns_max_std:g}; "
          f"NS radius {s.thin_radius:g}, Telea radius {telea_r:g}", flush=True)
    for which, fams in sets:
        paths = check_images(which)
        for fam in fams.split("+"):
            gain: dict = {g: [] for g in grid}
            ssim: dict = {g: {b: [] for b in range(1, 5)} for g in grid}
            for case in check_cases(graph, paths, which, fam, a.per_bucket):
                img, hole = case.img, case.hole
                out = case.filled.copy()
                ys, xs = np.nonzero(hole)
                box = (int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1)
                mix_wide_in_place(out, img, hole, box, s.wide_ns_weight, s.wide_ns_scale, s.wide_ns_max_std)
                thin = thin_components(hole, DEFAULT_THIN_HOLE_PX)
                source = img.copy()
                source[hole] = out[hole]
                thin8 = thin.astype(np.uint8) * 255
                ns = cv2.inpaint(source, thin8, s.thin_radius, cv2.INPAINT_NS)[thin].astype(np.float32)
                te = cv2.inpaint(source, thin8, telea_r, cv2.INPAINT_TELEA)[thin].astype(np.float32)
                model = out[thin].astype(np.float32)
                for w, t in grid:
                    res = out.copy()
                    res[thin] = np.clip(np.rint(w * ((1 - t) * ns + t * te) + (1 - w) * model), 0, 255).astype(np.uint8)
                    if (w, t) == grid[0]:  # the reference is what the runtime does
                        runtime = case.filled.copy()
                        s.refine_in_place(runtime, img, hole, box, DEFAULT_THIN_HOLE_PX, DEFAULT_NS_WEIGHT)
                        assert np.array_equal(runtime, res), "the reference differs from RefillSettings.refine_in_place"
                    gain[w, t].append(hole_psnr(res, img, hole) - case.ref)
                    ssim[w, t][case.bucket].append(hole_ssim(res, img, hole))
            base_ssim = {b: np.mean(v) for b, v in ssim[grid[0]].items()}
            for (w, t), cases, d in paired_rows(gain, (len(paths), 4, a.per_bucket)):
                worst = min(np.mean(ssim[w, t][b]) - base_ssim[b] for b in range(1, 5))
                diff = "reference" if d is None else f"{d[0]:+.4f} [{d[1]:+.4f}, {d[2]:+.4f}]"
                print(f"{which:12} {fam:10} w {w:.2f} t {t:.2f}: gain {cases.mean():+.4f} dB, paired {diff}, "
                      f"worst bucket SSIM {worst:+.5f}", flush=True)


if __name__ == "__main__":
    main()
