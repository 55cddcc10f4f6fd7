"""Gated whole-hole NS mix sweep (fifteenth session; docs/training.md): the fourteenth session's
probe (``wide_mix_gate_probe.py``) found that the grey-level std of the known pixels around a hole
predicts where the coarse NS mix helps. This scores, per case, the mix at every share on a grid
(0 ... 0.6, NS at 1/4, then the default thin-hole refill, as ``Inpainter`` runs it) together
with that std, and saves them, so that any gate (``edgefill.wide_mix.gated_share``: a share that
falls from ``share`` at half the gate to 0 at the gate) can be scored afterwards without running
the model again (each case at the grid's share nearest the one the runtime would use). An
existing ``--out`` is refused before the run (``--force`` replaces it), and the file is written
whole or not at all, at exactly that name.

    PYTHONPATH=export .venv/bin/python export/recipes/wide_mix_gate_sweep.py edgefill/models/nano.safetensors \\
        --sets val-texture,val-photos,train-photos --out runs/gate/nano.npz
    PYTHONPATH=export .venv/bin/python export/recipes/wide_mix_gate_sweep.py --score runs/gate/nano.npz

``--thin-shares 0.6,0.7,...`` also scores every share of NS in the thin-hole refill's pixels
with each wide share (sixteenth session), and ``--score FILE --wide SHARE,GATE`` then scores gates
of that thin share (a share that rises from the default 0.7 where the hole's surroundings are
detailed to a higher one where they are smooth), with the model's wide gate fixed:

    PYTHONPATH=export .venv/bin/python export/recipes/wide_mix_gate_sweep.py edgefill/models/nano.safetensors \
        --families scratches,free-form --thin-shares 0.6,0.7,0.8,0.9,1.0 --out runs/gate/thin_nano.npz
    PYTHONPATH=export .venv/bin/python export/recipes/wide_mix_gate_sweep.py --score runs/gate/thin_nano.npz --wide 0.5,30

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
from quick_check import check_cases, check_images, load_graph, save_npz  # noqa: E402

from edgefill.quality import hole_psnr, hole_ssim  # noqa: E402
from edgefill.thin import DEFAULT_NS_WEIGHT, DEFAULT_THIN_HOLE_PX, refill_thin, thin_components  # noqa: E402
from edgefill.wide_mix import UNGATED_STD, coarse_ns, gated_share, ring_std  # noqa: E402

SHARES = np.round(np.arange(0, 0.61, 0.05), 2)
SCALE = 4


def collect(a: argparse.Namespace) -> None:
    torch.set_num_threads(2)
    graph = load_graph(a.weights)
    thin_shares = [float(t) for t in a.thin_shares.split(",")]
    cols: dict = {k: [] for k in ("set", "family", "image", "bucket", "std", "gain", "ssim")}
    for which in a.sets.split(","):
        paths = check_images(which)
        for fam in a.families.split(","):
            for n, case in enumerate(check_cases(graph, paths, which, fam, a.per_bucket)):
                img, hole, filled = case.img, case.hole, case.filled
                ns = coarse_ns(img, hole, SCALE)
                thin = thin_components(hole, DEFAULT_THIN_HOLE_PX)
                gains, ssims = [], []
                for s in SHARES:
                    mixed = filled
                    if s:
                        mixed = np.clip(np.rint((1 - s) * filled + s * ns), 0, 255).astype(np.uint8)
                        mixed[~hole] = filled[~hole]
                    # NS alone in the thin pixels, then each thin share mixed as refill_thin mixes it
                    ns_thin = refill_thin(mixed, img, hole, DEFAULT_THIN_HOLE_PX, 2, 1.0)[thin].astype(np.float32)
                    g_row, s_row = [], []
                    for t in thin_shares:
                        out = mixed.copy()
                        out[thin] = np.rint(t * ns_thin + (1 - t) * mixed[thin].astype(np.float32)).astype(np.uint8)
                        g_row.append(hole_psnr(out, img, hole) - case.ref)
                        s_row.append(hole_ssim(out, img, hole))
                    gains.append(g_row)
                    ssims.append(s_row)
                for k, v in (("set", which), ("family", fam), ("image", n // (4 * a.per_bucket)),
                             ("bucket", case.bucket), ("std", ring_std(img, hole)), ("gain", gains), ("ssim", ssims)):
                    cols[k].append(v)
            print(f"{which} {fam}: {len(cols['gain'])} cases so far", flush=True)
    save_npz(a.out, shares=SHARES, thin_shares=np.array(thin_shares), **{k: np.array(v) for k, v in cols.items()})
    print(f"wrote {a.out}")


def load_cases(path: Path) -> dict:
    """A collected file's columns; gains and SSIMs always as (cases, wide shares, thin shares)
    (files from before the thin shares were swept hold the default thin share only)."""
    d = dict(np.load(path))
    if d["gain"].ndim == 2:
        d["gain"], d["ssim"] = d["gain"][..., None], d["ssim"][..., None]
        d["thin_shares"] = np.array([DEFAULT_NS_WEIGHT])
    return d


def case_index(d: dict, setting: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Each case's (wide share, thin share) grid indices under ``setting`` = (wide share, wide
    gate, thin share where the gate is open, thin gate): the shares the runtime would use
    (``gated_share``), each at the grid's nearest. The thin share falls from the open one to the
    default (``DEFAULT_NS_WEIGHT``) as the thin gate shuts."""
    share, hi, thin_open, thin_hi = setting
    w = np.array([gated_share(share, std, hi) for std in d["std"]])
    t = np.array([DEFAULT_NS_WEIGHT + gated_share(thin_open - DEFAULT_NS_WEIGHT, std, thin_hi) for std in d["std"]])
    wi = np.abs(d["shares"][None, :] - w[:, None]).argmin(axis=1)
    ti = np.abs(d["thin_shares"][None, :] - t[:, None]).argmin(axis=1)
    return wi, ti


def score(path: Path, settings: list[tuple[float, float, float, float]], reference: tuple[float, float, float, float],
          label: str) -> None:
    """Print each setting's paired gain over ``reference`` per set and family, and choose: the
    largest mean over the texture cells among the settings that lower no photo cell by more
    than 0.005 dB and no bucket's mean hole SSIM by more than 0.0005."""
    d = load_cases(path)
    groups = sorted({(s, f) for s, f in zip(d["set"], d["family"], strict=True)})
    print(f"{path.stem}: ring std medians " + ", ".join(
        f"{s}/{f} {np.median(d['std'][(d['set'] == s) & (d['family'] == f)]):.1f}" for s, f in groups))
    print(f"{label:<22}" + " ".join(f"{s[:9]}/{f[:4]:>4}" for s, f in groups))
    rows = np.arange(len(d["std"]))
    ri, rt = case_index(d, reference)
    ref_gain, ref_ssim = d["gain"][rows, ri, rt], d["ssim"][rows, ri, rt]
    best = None
    for setting in settings:
        wi, ti = case_index(d, setting)
        dg, ds = d["gain"][rows, wi, ti] - ref_gain, d["ssim"][rows, wi, ti] - ref_ssim
        cells, ok, texture = [], True, []
        for s, f in groups:
            m = (d["set"] == s) & (d["family"] == f)
            worst_ssim = min(ds[m & (d["bucket"] == b)].mean() for b in range(1, 5))
            changed = ((wi != ri) | (ti != rt))[m].mean()
            cells.append(f"{dg[m].mean():+.3f}{'!' if worst_ssim < -0.0005 else ' '}{changed:4.0%}")
            ok &= worst_ssim >= -0.0005 and ("photos" not in s or dg[m].mean() >= -0.005)
            if "texture" in s:
                texture.append(dg[m].mean())
        if ok and texture and (best is None or np.mean(texture) > best[0]):
            best = (np.mean(texture), setting)
        print(f"{' '.join(f'{v:g}' for v in setting):<22}" + " ".join(f"{c:>14}" for c in cells))
    if not any("texture" in s for s, _ in groups):
        print(f"no texture set in {path}: nothing to choose on (collect with --sets val-texture,...)")
    elif best:
        print(f"chosen: {' '.join(f'{v:g}' for v in best[1])} (mean texture gain {best[0]:+.3f} dB): the largest mean "
              "over the texture cells among the settings that lower no photo cell by more than 0.005 dB and no "
              "bucket's mean hole SSIM by more than 0.0005")
    print(f"cells: mean paired hole-PSNR gain over {' '.join(f'{v:g}' for v in reference)} (dB), ! = some bucket's "
          "mean hole SSIM fell by more than 0.0005, % = cases changed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", type=Path, nargs="?")
    ap.add_argument("--sets", default="val-texture,val-photos,train-photos")
    ap.add_argument("--families", default="free-form,objects,scratches")
    ap.add_argument("--per-bucket", type=int, default=1)
    ap.add_argument("--thin-shares", default=str(DEFAULT_NS_WEIGHT),
                    help="comma list of NS shares in the thin pixels to score with every wide share")
    ap.add_argument("--out", type=Path, default=Path("runs/gate/cases.npz"))
    ap.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    ap.add_argument("--score", type=Path, nargs="*", help="score saved case files instead of collecting")
    ap.add_argument("--wide", default=None, help="SHARE,GATE: with --score, score thin-share gates against the default "
                    "thin share, with this wide gate (the model's) fixed")
    a = ap.parse_args()
    if a.score is not None and not a.score:
        ap.error("--score needs one or more case files (written by a collecting run's --out)")
    for path in a.score or []:
        if not path.is_file():
            ap.error(f"--score {path}: no such file")
    if a.score is None:
        if a.weights is None:
            ap.error("give WEIGHTS to collect the cases, or --score FILE... to score collected ones")
        if a.wide:
            ap.error("--wide scores collected cases: use it with --score")
        if a.out.exists() and not a.force:  # refused before the run, not after half an hour of it
            ap.error(f"--out {a.out} exists: choose another name, or pass --force to overwrite it")
    if a.score and a.wide:  # the thin share's gate, with the model's wide gate fixed
        try:
            share, hi = (float(v) for v in a.wide.split(","))
        except ValueError:
            ap.error(f"--wide {a.wide!r}: give SHARE,GATE, e.g. 0.5,30")
        thin_grid = [(share, hi, t, thi) for t in (0.75, 0.8, 0.85, 0.9, 0.95, 1.0) for thi in (15, 20, 25, 30, 35, UNGATED_STD)]
        for p in a.score:
            score(p, thin_grid, (share, hi, DEFAULT_NS_WEIGHT, UNGATED_STD), "share gate thin gate")
    elif a.score:
        grid = [(s, UNGATED_STD, DEFAULT_NS_WEIGHT, UNGATED_STD) for s in (0.2, 0.3, 0.4)]
        grid += [(s, hi, DEFAULT_NS_WEIGHT, UNGATED_STD) for s in (0.2, 0.3, 0.4, 0.5, 0.6) for hi in (20, 25, 30, 35, 40)]
        for p in a.score:
            score(p, grid, (0.0, UNGATED_STD, DEFAULT_NS_WEIGHT, UNGATED_STD), "share gate thin gate")
    else:
        collect(a)


if __name__ == "__main__":
    main()
