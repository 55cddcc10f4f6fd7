"""Memorisation check (thirtieth session; docs/training.md): a network's mean gain over the better
classical method on upright cases, and the paired change when image and mask are turned by 90
and 180 degrees (the fill turned back). Training flips crops only left-right, so a turned
training photo is as new to the network as an unseen one: a turn that costs much more on the
training photos than on the validation photos measures what the network recalls of its photos.

    PYTHONPATH=export .venv/bin/python export/recipes/turned_check.py edgefill/models/lite.safetensors \\
        --set train-photos --families free-form,objects

The network alone with its fill smoothing (as ``quick_check.py`` scores it, no refill); cases as
``quick_check.py`` draws them (1 mask per 10-50% bucket, 256 px crops). The standard error is
over the images' mean differences.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quick_check import check_cases, check_images, load_graph  # noqa: E402

from edgefill.quality import hole_psnr  # noqa: E402
from edgefill_export.onnx_export import torch_reference  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", type=Path)
    ap.add_argument("--set", default="train-photos", help="train-photos, val-photos or val-texture")
    ap.add_argument("--families", default="free-form,objects")
    a = ap.parse_args()
    torch.set_num_threads(2)
    graph = load_graph(a.weights)
    paths = check_images(a.set)
    for fam in a.families.split(","):
        upright, turned = [], {1: [], 2: []}
        for case in check_cases(graph, paths, a.set, fam, 1):
            p0 = hole_psnr(case.filled, case.img, case.hole)
            upright.append(p0 - case.ref)
            for k in turned:
                img = np.ascontiguousarray(np.rot90(case.img, k))
                hole = np.ascontiguousarray(np.rot90(case.hole, k)).astype(np.uint8)
                fill = np.rot90(torch_reference(graph, img[None], hole[None, ..., None])[0], -k)
                turned[k].append(hole_psnr(fill, case.img, case.hole) - p0)
        line = f"{a.weights.stem} {a.set} {fam}: upright gain {np.mean(upright):+.3f}"
        for k, diffs in turned.items():
            per_image = np.array(diffs).reshape(len(paths), -1).mean(axis=1)
            se = per_image.std(ddof=1) / np.sqrt(len(paths)) if len(paths) > 1 else float("nan")
            line += f"; turned {90 * k} deg minus upright {np.mean(diffs):+.3f} (se {se:.3f})"
        print(line, flush=True)


if __name__ == "__main__":
    main()
