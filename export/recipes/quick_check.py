"""Quick A/B check of trained weights or training checkpoints, without shipping them (PyTorch FP32,
through the same fused, uint8-in/uint8-out wrapper that is exported: ``onnx_export.prepare``).

    PYTHONPATH=export .venv/bin/python export/recipes/quick_check.py runs/v5/abC/lite.safetensors [--texture]
    PYTHONPATH=export .venv/bin/python export/recipes/quick_check.py runs/v5/E/checkpoint.safetensors --refine 16

For each file: the mean hole-PSNR gain over the better of OpenCV Telea and NS on the 18 eval
photos (``--texture``: every 4th held-out texture; ``--val-texture``: the 41 validation
textures of the training families, for choices that must not see the held-out ones;
``--val-photos``: the validation split of the training photos, scaled to 512 px on the short
side; ``--images DIR``: any folder, e.g. a family held out of a training run), one mask
(``--per-bucket N``: N) per family and bucket 10-20 ... 40-50% (256 px centre
crops, seeds (0, image, bucket, k)). These are not the benchmark's masks
(``edgefill bench quality``), so compare quick-check figures only with each other; the
"quick check" tables of docs/training.md were made with it. A checkpoint does not record the
architecture flags: pass the training run's ``--model``/``--context``/``--refine``.
``--fill-passes 0,1,2,...`` scores each file with those fill smoothings of the exported graph
(``onnx_export.FillSmoothing``) instead of the one its weights record. The model alone, or
with the thin-hole refill (``--thin-px``); never with the whole-hole NS mix a model may record
(``ModelConfig.refill.wide_ns_weight``; ``wide_mix_sweep.py`` scores that): it compares networks.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors import safe_open

from edgefill import maskgen
from edgefill.fileio import atomic_write_bytes
from edgefill.imageio import IMAGE_EXTS, is_image_file, read_image
from edgefill.quality import BUCKETS, centre_crop, hole_psnr, hole_ssim
from edgefill.quality_stats import difference_ci
from edgefill.refill_settings import RefillSettings
from edgefill.thin import DEFAULT_NS_WEIGHT, DEFAULT_THIN_HOLE_PX, NS_RADIUS, refill_thin
from edgefill_export.fetch import default_cache_dir, list_images, texture_split, training_paths
from edgefill_export.model import build_model
from edgefill_export.onnx_export import FillSmoothing, InpaintGraph, prepare, torch_reference
from edgefill_export.train import TrainConfig, param_groups, split_photos
from edgefill_export.weights import CheckpointError, load_checkpoint, load_weights


def load_graph(path: Path) -> InpaintGraph:
    """Trained weights as the exported graph computes them; a missing or unreadable file ends the
    recipe in one line (SystemExit), not a traceback."""
    try:
        return prepare(load_weights(path))
    except CheckpointError as exc:
        raise SystemExit(str(exc)) from None


def load(path: Path, a: argparse.Namespace) -> InpaintGraph:
    """Weights or a checkpoint, as the exported graph computes it (fused, uint8 in and out)."""
    if not path.is_file():
        raise SystemExit(f"{path} does not exist")
    try:
        with safe_open(str(path), "pt") as f:
            is_checkpoint = "state" in (f.metadata() or {})
    except Exception as exc:  # safetensors raises several types for a file that is not one
        raise SystemExit(f"{path} is not a valid safetensors file: {exc}") from None
    if not is_checkpoint:
        return load_graph(path)
    net = build_model(a.model, context=a.context, refine=a.refine)
    # the run's optimiser layout (its parameter groups), which the checkpoint's Adam state must fit
    try:
        state = load_checkpoint(path, net, torch.optim.Adam(param_groups(net, TrainConfig())))
    except CheckpointError as exc:
        raise SystemExit(str(exc)) from None
    print(f"{path}: checkpoint at step {state.get('step')}")
    return prepare(net)


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """``arrays`` as an .npz at exactly ``path`` (``np.savez`` would add ``.npz`` to another
    name), written whole or not at all: a sweep killed while saving leaves no truncated file."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def check_images(which: str | Path) -> list[Path]:
    """The images of a check: the eval photos, every 4th held-out texture, or the validation
    textures (every 10th training texture by name: the ones ``train --data texture`` holds out,
    from the training families, never the held-out ones), for choices that must not look at
    the held-out families.

    An unknown set, a missing folder or an empty set ends the recipe in one line (SystemExit):
    an empty set would score nothing (a NaN mean, or a traceback from the intervals)."""
    if isinstance(which, Path):  # --images DIR: a folder of the user's (or a held-out split's) images
        if not which.is_dir():
            raise SystemExit(f"--images {which}: no such folder")
        paths = sorted(p for p in which.iterdir() if is_image_file(p))  # not macOS's ._NAME.png
        if not paths:
            raise SystemExit(f"--images {which}: no images in it ({', '.join(sorted(IMAGE_EXTS))})")
        return paths
    if which == "photos":
        paths = list_images("eval")
    elif which == "texture":
        paths = texture_split(list_images("texture"))[1][::4]
    elif which in ("val-photos", "val-texture"):  # what train.photo_sets holds out of these training paths
        data = "train" if which == "val-photos" else "texture"
        paths = split_photos(sorted(training_paths(data), key=lambda p: p.name))[1]
    elif which == "train-photos":  # the photos the models trained on: only for checks that favour the network
        paths = split_photos(sorted(training_paths("train"), key=lambda p: p.name))[0]
    else:
        raise SystemExit(f"unknown image set {which!r}; known: {', '.join(IMAGE_SETS)}")
    if not paths:
        raise SystemExit(f"no images for the {which} set under {default_cache_dir() / 'images'}: fetch them "
                         "with 'make data' (or set EDGEFILL_DATA to the folder that holds images/)")
    return paths


#: the named image sets of :func:`check_images`
IMAGE_SETS = ("photos", "texture", "val-photos", "val-texture", "train-photos")


@dataclass
class CheckCase:
    """One case of a check: a 256 px crop, its mask, OpenCV's fills and the model's."""

    bucket: int  # 1-4: 10-20 ... 40-50%
    img: np.ndarray
    mask: np.ndarray
    hole: np.ndarray
    classical: dict  # "telea" / "ns" -> OpenCV's fill (radius 3)
    ref: float  # the better classical method's hole PSNR
    filled: np.ndarray | None  # the model's fill (None where ``check_cases``' ``needs_fill`` said no)


def check_cases(graph: InpaintGraph, paths: list[Path], which: str | Path, family: str,
                per_bucket: int, needs_fill: Callable[[np.ndarray, np.ndarray], bool] | None = None
                ) -> Iterator[CheckCase]:
    """Every case of a check, in order (images x buckets 10-50% x masks; the seeds are (0, image,
    bucket, k)), as :func:`gains` and the sweep recipes score them. ``needs_fill(img, hole)``:
    whether to run the model on a case (default: always), for sweeps that can tell beforehand
    that a case is the same under every setting."""
    if family not in maskgen.FAMILIES:
        raise SystemExit(f"unknown mask family {family!r}; known: {', '.join(maskgen.FAMILIES)}")
    make = maskgen.FAMILIES[family]
    for i, p in enumerate(paths):
        img = read_image(p)
        if which in ("val-photos", "train-photos"):  # wallpapers of 1600-5000 px: scale to the eval photos' ~512 px first
            scale = 512 / min(img.shape[:2])
            img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        img = centre_crop(img, 256)
        for b, k in ((b, k) for b in range(1, 5) for k in range(per_bucket)):
            mask = make(256, 256, np.random.default_rng([0, i, b, k]), *BUCKETS[b])
            hole = mask > 0
            classical = {name: cv2.inpaint(img, mask, 3, flag)
                         for name, flag in (("telea", cv2.INPAINT_TELEA), ("ns", cv2.INPAINT_NS))}
            ref = max(hole_psnr(c, img, hole) for c in classical.values())
            filled = None
            if needs_fill is None or needs_fill(img, hole):
                filled = torch_reference(graph, img[None], hole.astype(np.uint8)[None, ..., None])[0]
            yield CheckCase(b, img, mask, hole, classical, ref, filled)


def paired_rows(gain: dict, shape: tuple[int, int, int]) -> Iterator[tuple[object, np.ndarray, tuple | None]]:
    """For a sweep's per-case gains (setting -> list in :func:`check_cases` order): each setting,
    its gains as an array of ``shape`` (images, buckets, masks), and its paired difference from
    the first setting (mean, 95% low, high over the images; None for the first itself)."""
    first_key = next(iter(gain))
    first = np.array(gain[first_key]).reshape(shape)
    for key, values in gain.items():
        cases = np.array(values).reshape(shape)
        d = None if key == first_key else difference_ci({"a": cases, "b": first}, "a", "b", buckets=slice(None))
        yield key, cases, d


def finished_scores(fill: np.ndarray, case: CheckCase) -> tuple[float, float]:
    """A sweep's float fill of ``case`` finished as the runtime finishes a fill (rounded, the
    known pixels put back, the thin parts refilled by the default thin-hole refill: NS radius 2,
    share :data:`edgefill.thin.DEFAULT_NS_WEIGHT`): its hole-PSNR gain over the better classical
    method and its hole SSIM."""
    img, hole = case.img, case.hole
    out = np.clip(np.rint(fill), 0, 255).astype(np.uint8)
    out[~hole] = img[~hole]
    out = refill_thin(out, img, hole, DEFAULT_THIN_HOLE_PX, 2, DEFAULT_NS_WEIGHT)
    return hole_psnr(out, img, hole) - case.ref, hole_ssim(out, img, hole)


def print_sweep(label: str, gain: dict, ssim: dict, shape: tuple[int, int, int], suffix: str = "") -> None:
    """One line per setting of a sweep (``label`` ``setting`` ``suffix``): its mean gain, its
    mean hole SSIM and its paired difference from the first setting (:func:`paired_rows`)."""
    for v, cases, d in paired_rows(gain, shape):
        line = f"{label} {v}{suffix}: gain {cases.mean():+.3f} SSIM {np.mean(ssim[v]):.4f}"
        if d is not None:
            line += " d %+.3f [%+.3f, %+.3f]" % d
        print(line, flush=True)


def sweep_parser(doc: str, families: str, per_bucket: int) -> argparse.ArgumentParser:
    """The arguments every test-time sweep takes: the weights, ``--set`` (validation photos by
    default), ``--families`` and ``--per-bucket`` (these two defaulting as given)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("weights", type=Path)
    ap.add_argument("--set", default="val-photos", choices=IMAGE_SETS)
    ap.add_argument("--families", default=families)
    ap.add_argument("--per-bucket", type=int, default=per_bucket)
    return ap


def run_sweep(label: str, graph: InpaintGraph, paths: list[Path], which: str, families: list[str],
              per_bucket: int, fills_of: Callable[[CheckCase], dict], suffix: str = "") -> None:
    """A test-time sweep: for each family, every case's float fills by setting (``fills_of(case)``,
    the first setting the one the others are paired against), each finished as the runtime
    finishes a fill (:func:`finished_scores`) and printed by :func:`print_sweep`."""
    for fam in families:
        gain: dict = {}
        ss: dict = {}
        for case in check_cases(graph, paths, which, fam, per_bucket):
            for name, fill in fills_of(case).items():
                g, sim = finished_scores(fill, case)
                gain.setdefault(name, []).append(g)
                ss.setdefault(name, []).append(sim)
        print_sweep(f"{label} {which} {fam}", gain, ss, (len(paths), 4, per_bucket), suffix)


def gains(graph: InpaintGraph, which: str, families: list[str], per_bucket: int = 1,
          thin_px: float = 0.0, thin_radius: float = NS_RADIUS, ssim: bool = False,
          cases: dict | None = None, ns_weight: float = DEFAULT_NS_WEIGHT) -> dict:
    """Mean hole-PSNR gain per family; ``thin_px`` > 0: with the thin parts of each hole refilled
    by OpenCV NS as ``Inpainter(thin_hole_px=...)`` does. ``ssim``: also the smallest hole-SSIM
    margin over the buckets, as the benchmark reports it (the bucket's mean SSIM minus the better
    classical method's), under ``FAMILY ssim``. ``cases``: filled with each family's per-case
    gains, an array (images, buckets 10-50%, masks), for paired comparisons."""
    paths = check_images(which)
    result: dict = {}
    for fam in families:
        g = []
        ssims = {b: {"model": [], "telea": [], "ns": []} for b in range(1, 5)}
        for case in check_cases(graph, paths, which, fam, per_bucket):
            img, hole, filled = case.img, case.hole, case.filled
            if thin_px > 0:
                filled = refill_thin(filled, img, hole, thin_px, thin_radius, ns_weight)
            g.append(hole_psnr(filled, img, hole) - case.ref)
            if ssim:
                for name, out in (("model", filled), *case.classical.items()):
                    ssims[case.bucket][name].append(hole_ssim(out, img, hole))
        result[fam] = round(float(np.mean(g)), 2)
        if cases is not None:
            cases[fam] = np.array(g).reshape(len(paths), 4, per_bucket)
        if ssim:
            result[f"{fam} ssim"] = round(min(
                float(np.mean(s["model"]) - max(np.mean(s["telea"]), np.mean(s["ns"]))) for s in ssims.values()), 4)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--texture", action="store_true", help="held-out textures instead of the eval photos")
    ap.add_argument("--val-photos", action="store_true",
                    help="the validation split of the training photos (every 10th by name; held out by train)")
    ap.add_argument("--per-bucket", type=int, default=1, help="masks per family and bucket (seeds (0, image, bucket, k))")
    ap.add_argument("--val-texture", action="store_true",
                    help="the validation split of the training textures (for choices that must not see the held-out families)")
    ap.add_argument("--images", type=Path, default=None,
                    help="a folder of images instead (256 px centre crops, as the textures)")
    ap.add_argument("--families", default="free-form,blobs,rects,scratches")
    ap.add_argument("--model", default="lite", help="for checkpoints")
    ap.add_argument("--context", action=argparse.BooleanOptionalAction, default=True, help="for checkpoints")
    ap.add_argument("--refine", type=int, default=0, help="for checkpoints")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--thin-radius", type=float, default=None, help="OpenCV NS radius of the thin-hole refill "
                    f"(default: each file's own, ModelConfig.refill, else {NS_RADIUS:g}, as Inpainter runs it)")
    ap.add_argument("--thin-ns-weight", type=float, default=DEFAULT_NS_WEIGHT,
                    help=f"share of NS in the thin pixels, the rest the model's fill (default {DEFAULT_NS_WEIGHT:g}, the "
                         "runtime's default, the same for every file so that networks compare alike; Inpainter "
                         "uses a model's recorded share, lite 0.5, lite-surface 0.6)")
    ap.add_argument("--thin-px", default="0", help="comma list: also score with Inpainter's thin-hole refill at these "
                    "half-widths (0: the model alone)")
    ap.add_argument("--ssim", action="store_true", help="also the smallest per-bucket hole-SSIM margin over the "
                    "better classical method")
    ap.add_argument("--paired", action="store_true", help="also each variant's mean gain minus the first one's "
                    "(first file, first --fill-passes), with a 95%% paired bootstrap interval over the images "
                    "(edgefill.quality_stats)")
    ap.add_argument("--fill-passes", default=None, help="comma list: score each file with these fill smoothings "
                    "(3x3 mean passes, onnx_export.FillSmoothing; 0: none) instead of its own")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    which = (a.images if a.images else "val-texture" if a.val_texture else "val-photos" if a.val_photos
             else "texture" if a.texture else "photos")
    first: dict = {}
    passes_list = [int(v) for v in a.fill_passes.split(",")] if a.fill_passes else [None]
    for n, path in enumerate(a.files):
        graph = load(path, a)
        for j, passes in enumerate(passes_list):
            if passes is not None:
                graph.fill_smooth = FillSmoothing(passes) if passes > 0 else None
            for thin in (float(t) for t in a.thin_px.split(",")):
                label = str(path) + (f" fill-passes {passes}" if passes is not None else "") + (f" thin-px {thin:g}" if thin else "")
                cases: dict = {}
                radius = graph.net.config.refill.updated(RefillSettings(a.thin_radius)).resolved().thin_radius
                print(label, gains(graph, which, a.families.split(","), a.per_bucket, thin, radius, a.ssim, cases,
                                   a.thin_ns_weight),
                      flush=True)
                if not a.paired:
                    continue
                if n == 0 and j == 0:
                    first[thin] = cases
                    continue
                diff = {fam: "%+.3f [%+.3f, %+.3f]" % difference_ci({"a": c, "b": first[thin][fam]}, "a", "b",
                                                                    buckets=slice(None))
                        for fam, c in cases.items()}
                print("  minus the first:", diff, flush=True)


if __name__ == "__main__":
    main()
