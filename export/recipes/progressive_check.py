"""Progressive filling at inference (thirtieth session; docs/training.md): run the model, keep its
fill of the hole pixels within ``ring`` px of the known ones, take them as known, and run it
again on the smaller hole, ``passes`` runs in all (the last keeps all it fills). Then the
default thin-hole refill, as ``Inpainter`` runs it. Each setting paired against one run.

    PYTHONPATH=export .venv/bin/python export/recipes/progressive_check.py edgefill/models/lite.safetensors \\
        --set val-photos --families free-form,objects --settings 2:8,3:8,2:16

Cases as ``quick_check.py`` draws them (``check_cases``: 256 px crops, masks per 10-50% bucket).
Choose on the validation sets only, never on the eval photos or the held-out textures.
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
from edgefill.thin import DEFAULT_NS_WEIGHT, DEFAULT_THIN_HOLE_PX, NS_RADIUS, refill_thin  # noqa: E402
from edgefill_export.onnx_export import torch_reference  # noqa: E402


def progressive(graph, img: np.ndarray, hole: np.ndarray, first: np.ndarray, passes: int, ring: float) -> np.ndarray:
    """The fill after ``passes`` runs (``first``: the first run's fill of ``img``, ``hole``)."""
    out, left = first.copy(), hole.copy()
    for _ in range(passes - 1):
        dist = cv2.distanceTransform(left.astype(np.uint8), cv2.DIST_L2, 3)  # to the nearest known pixel
        left &= dist > ring  # the ring just filled is known from here on
        if not left.any():
            break
        # the network never reads hole pixels (partial convolutions), so what the last pass left there is no input
        fill = torch_reference(graph, out[None], left.astype(np.uint8)[None, ..., None])[0]
        out[left] = fill[left]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", type=Path)
    ap.add_argument("--set", default="val-photos", help="val-photos, val-texture or train-photos")
    ap.add_argument("--families", default="free-form,objects")
    ap.add_argument("--settings", default="2:8,3:8,2:16", help="comma list of PASSES:RING_PX")
    ap.add_argument("--per-bucket", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(2)
    graph = load_graph(a.weights)
    paths = check_images(a.set)
    settings = [(1, 0.0)] + [(int(p), float(r)) for p, r in (s.split(":") for s in a.settings.split(","))]
    for fam in a.families.split(","):
        gain: dict = {k: [] for k in settings}
        ss: dict = {k: [] for k in settings}
        for case in check_cases(graph, paths, a.set, fam, a.per_bucket):
            for passes, ring in settings:
                out = progressive(graph, case.img, case.hole, case.filled, passes, ring)
                out = refill_thin(out, case.img, case.hole, DEFAULT_THIN_HOLE_PX, NS_RADIUS, DEFAULT_NS_WEIGHT)
                gain[passes, ring].append(hole_psnr(out, case.img, case.hole) - case.ref)
                ss[passes, ring].append(hole_ssim(out, case.img, case.hole))
        for (passes, ring), cases, d in paired_rows(gain, (len(paths), 4, a.per_bucket)):
            line = (f"{a.weights.stem} {a.set} {fam} passes {passes} ring {ring:g}: gain {cases.mean():+.3f} "
                    f"SSIM {np.mean(ss[passes, ring]):.4f}")
            if d is not None:
                line += f"; vs one run {d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]"
            print(line, flush=True)


if __name__ == "__main__":
    main()
