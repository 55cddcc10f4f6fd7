"""Quick A/B check of trained weights or training checkpoints, without shipping them (torch, FP32).

    PYTHONPATH=export .venv/bin/python export/recipes/quick_check.py runs/v5/abC/lite.safetensors [--texture]
    PYTHONPATH=export .venv/bin/python export/recipes/quick_check.py runs/v5/E/checkpoint.safetensors --refine 16

For each file: the mean hole-PSNR gain over the better of OpenCV Telea and NS on the 18 eval
photos (``--texture``: every 4th held-out texture), one mask per family and bucket 10-20 ...
40-50% (256 px centre crops, seeds (0, image, bucket, 0)). These are not the benchmark's masks
(``edgefill bench quality``), so compare quick-check figures only with each other; the
"quick check" tables of docs/training.md were made with it. A checkpoint holds no architecture
metadata: pass the training run's ``--model``/``--context``/``--refine``.
"""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from edgefill import maskgen
from edgefill.imageio import read_image
from edgefill.quality import BUCKETS, centre_crop, hole_psnr
from edgefill_export.fetch import list_images, texture_split
from edgefill_export.model import build_model
from edgefill_export.weights import load_weights


def load(path: str, a: argparse.Namespace) -> torch.nn.Module:
    with safe_open(path, "pt") as f:
        meta = f.metadata() or {}
    if "state" not in meta:  # shipped-style weights
        return load_weights(path).eval()
    net = build_model(meta.get("model", a.model), context=a.context, refine=a.refine)
    net.load_state_dict({k[6:]: v for k, v in load_file(path).items() if k.startswith("model.")})
    print(f"{path}: checkpoint at step {json.loads(meta['state']).get('step')}")
    return net.eval()


def fill(net: torch.nn.Module, img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    hole = mask > 0
    valid = torch.from_numpy((~hole).astype(np.float32))[None, None]
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        p = net(x * valid, valid)
    p = ((p[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).round()
    return np.where(hole[..., None], p, img).astype(np.uint8)


def gains(net: torch.nn.Module, texture: bool, families: list[str]) -> dict[str, float]:
    paths = texture_split(list_images("texture"))[1][::4] if texture else list_images("eval")
    out = {}
    for fam in families:
        make, g = maskgen.FAMILIES[fam], []
        for i, p in enumerate(paths):
            img = centre_crop(read_image(p), 256)
            for b in range(1, 5):
                mask = make(256, 256, np.random.default_rng([0, i, b, 0]), *BUCKETS[b])
                hole = mask > 0
                ref = max(hole_psnr(cv2.inpaint(img, mask, 3, flag), img, hole)
                          for flag in (cv2.INPAINT_TELEA, cv2.INPAINT_NS))
                g.append(hole_psnr(fill(net, img, mask), img, hole) - ref)
        out[fam] = round(float(np.mean(g)), 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--texture", action="store_true", help="held-out textures instead of the eval photos")
    ap.add_argument("--families", default="free-form,blobs,rects,scratches")
    ap.add_argument("--model", default="lite", help="for checkpoints")
    ap.add_argument("--context", action=argparse.BooleanOptionalAction, default=True, help="for checkpoints")
    ap.add_argument("--refine", type=int, default=0, help="for checkpoints")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for path in a.files:
        print(path, gains(load(path, a), a.texture, a.families.split(",")), flush=True)


if __name__ == "__main__":
    main()
