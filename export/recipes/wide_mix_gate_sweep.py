"""Gated whole-hole NS mix sweep (fifteenth session; docs/training.md): the fourteenth session's
probe (``wide_mix_gate_probe.py``) found that the grey-level std of the known pixels around a hole
predicts where the coarse NS mix helps. This scores, per case, the mix at every share on a grid
(0 ... 0.6, NS at 1/4, then the default thin-hole refill, as ``Inpainter`` runs it) together
with that std, and saves them, so that any gate (``edgefill.wide_mix.gated_share``: a share that
falls from ``share`` at half the gate to 0 at the gate) can be scored afterwards without running
the model again (each case at the grid's share nearest the one the runtime would use).

    PYTHONPATH=export .venv/bin/python export/recipes/wide_mix_gate_sweep.py edgefill/models/nano.safetensors \\
        --sets val-texture,val-photos,train-photos --out runs/gate/nano.npz
    PYTHONPATH=export .venv/bin/python export/recipes/wide_mix_gate_sweep.py --score runs/gate/nano.npz

``train-photos`` are the photos the models trained on: the network fills them better than
unseen photos, so the mix's loss there is an upper bound of its loss on photos (a conservative
check). Choose on these sets only, never on the eval photos or the held-out textures.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quick_check import check_cases, check_images  # noqa: E402

from edgefill.quality import hole_psnr, hole_ssim  # noqa: E402
from edgefill.thin import DEFAULT_NS_WEIGHT, DEFAULT_THIN_HOLE_PX, refill_thin  # noqa: E402
from edgefill.wide_mix import UNGATED_STD, coarse_ns, gated_share, ring_std  # noqa: E402

SHARES = np.round(np.arange(0, 0.61, 0.05), 2)
SCALE = 4


def collect(a: argparse.Namespace) -> None:
    from edgefill_export.onnx_export import prepare
    from edgefill_export.weights import load_weights

    torch.set_num_threads(2)
    graph = prepare(load_weights(a.weights))
    cols: dict = {k: [] for k in ("set", "family", "image", "bucket", "std", "gain", "ssim")}
    for which in a.sets.split(","):
        paths = check_images(which)
        for fam in a.families.split(","):
            for n, case in enumerate(check_cases(graph, paths, which, fam, a.per_bucket)):
                img, hole, filled = case.img, case.hole, case.filled
                ns = coarse_ns(img, hole, SCALE)
                gains, ssims = [], []
                for s in SHARES:
                    mixed = filled
                    if s:
                        mixed = np.clip(np.rint((1 - s) * filled + s * ns), 0, 255).astype(np.uint8)
                        mixed[~hole] = filled[~hole]
                    out = refill_thin(mixed, img, hole, DEFAULT_THIN_HOLE_PX, 2, DEFAULT_NS_WEIGHT)
                    gains.append(hole_psnr(out, img, hole) - case.ref)
                    ssims.append(hole_ssim(out, img, hole))
                for k, v in (("set", which), ("family", fam), ("image", n // (4 * a.per_bucket)),
                             ("bucket", case.bucket), ("std", ring_std(img, hole)), ("gain", gains), ("ssim", ssims)):
                    cols[k].append(v)
            print(f"{which} {fam}: {len(cols['gain'])} cases so far", flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(a.out, shares=SHARES, **{k: np.array(v) for k, v in cols.items()})
    print(f"wrote {a.out}")


def score(path: Path, gates: list[tuple[float, float]]) -> None:
    d = np.load(path)
    shares = d["shares"]
    groups = sorted({(s, f) for s, f in zip(d["set"], d["family"], strict=True)})
    print(f"{path.stem}: ring std medians " + ", ".join(
        f"{s}/{f} {np.median(d['std'][(d['set'] == s) & (d['family'] == f)]):.1f}" for s, f in groups))
    head = "share gate       " + " ".join(f"{s[:9]}/{f[:4]:>4}" for s, f in groups)
    print(head)
    best = None
    for share, hi in gates:
        w = np.array([gated_share(share, std, hi) for std in d["std"]])  # each case's share, as the runtime gives it
        idx = np.abs(shares[None, :] - w[:, None]).argmin(axis=1)  # the grid's nearest share
        rows = np.arange(len(w))
        dg = d["gain"][rows, idx] - d["gain"][:, 0]
        ds = d["ssim"][rows, idx] - d["ssim"][:, 0]
        cells, ok, texture = [], True, []
        for s, f in groups:
            m = (d["set"] == s) & (d["family"] == f)
            worst_ssim = min(ds[m & (d["bucket"] == b)].mean() for b in range(1, 5))
            cells.append(f"{dg[m].mean():+.3f}{'!' if worst_ssim < -0.0005 else ' '}{(w[m] > 0).mean():4.0%}")
            ok &= worst_ssim >= -0.0005 and ("photos" not in s or dg[m].mean() >= -0.005)
            if "texture" in s:
                texture.append(dg[m].mean())
        if ok and (best is None or np.mean(texture) > best[0]):
            best = (np.mean(texture), share, hi)
        print(f"{share:.2f} {hi:4.0f}        " + " ".join(f"{c:>14}" for c in cells))
    if best:
        print(f"chosen: share {best[1]:g}, max std {best[2]:g} (mean texture gain {best[0]:+.3f} dB): the largest mean "
              "over the texture cells among the gates that lower no photo cell by more than 0.005 dB and no "
              "bucket's mean hole SSIM by more than 0.0005")
    print("cells: mean paired hole-PSNR gain of the gated mix over none (dB), ! = some bucket's mean hole "
          "SSIM fell by more than 0.0005, % = cases mixed")


ap = argparse.ArgumentParser()
ap.add_argument("weights", type=Path, nargs="?")
ap.add_argument("--sets", default="val-texture,val-photos,train-photos")
ap.add_argument("--families", default="free-form,objects,scratches")
ap.add_argument("--per-bucket", type=int, default=1)
ap.add_argument("--out", type=Path, default=Path("runs/gate/cases.npz"))
ap.add_argument("--score", type=Path, nargs="*", help="score saved case files instead of collecting")
a = ap.parse_args()
if a.score:
    grid = [(s, UNGATED_STD) for s in (0.2, 0.3, 0.4)]
    grid += [(s, hi) for s in (0.2, 0.3, 0.4, 0.5, 0.6) for hi in (20, 25, 30, 35, 40)]
    for p in a.score:
        score(p, grid)
else:
    collect(a)
