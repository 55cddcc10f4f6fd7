"""Hole-region quality of models against OpenCV Telea and Navier-Stokes (``edgefill bench quality``).

For every evaluation image (the fetched eval photos by default, ``--data texture`` for the
held-out texture families, or ``--images DIR``) a centre crop is taken (after scaling the
shorter side to ``--crop``; no training image is ever used), and for each mask family and
hole-ratio bucket ``--per-bucket`` masks are drawn with a fixed seed (``--masks DIR``: the
user's own masks, each on every image, bucketed by hole ratio). Every method fills the
same crops and masks; PSNR and SSIM are computed on the hole pixels only. Prints a table per
family and the mean gain of each model over the better classical method in the 10-50%
buckets, with 95% bootstrap intervals over the images (``edgefill.quality_stats``); writes
JSON, a PNG figure and (``--csv``) every case's scores.

    edgefill bench quality --models lite,nano --family all --json q.json --png q.png
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

import edgefill
from edgefill.checks import is_finite
from edgefill.fileio import atomic_write_bytes, drop_stdout
from edgefill.grey import is_grey, make_grey_in_place
from edgefill import maskgen
from edgefill.errors import BackendUnavailableError, ConfigError, InputError, ModelError
from edgefill.imageio import IMAGE_EXTS, MAX_PIXELS, image_files, read_image, read_mask
from edgefill.overwrites import model_inputs, refuse_overwrites, refuse_shared_outputs, same_path
from edgefill.quality_stats import difference_ci, gain_ci
from edgefill.sinks.files import check_can_write
from edgefill.refill_settings import RefillSettings, add_refill_options, refill_args_error, refill_kwargs, requested_settings
from edgefill.thin import DEFAULT_THIN_HOLE_PX

BUCKETS = [(0.0, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5)]
BUCKET_LABELS = [f"{int(lo * 100)}-{int(hi * 100)}%" for lo, hi in BUCKETS]
CLASSICAL = ("opencv-telea", "opencv-ns")
#: the MSE floor of :func:`hole_psnr`: an exact fill (MSE 0) scores :data:`PSNR_CAP_DB`, not inf
_MSE_FLOOR = 1e-10
#: hole PSNR of an exact fill (148.1 dB); any other uint8 fill has an MSE of at least 1 / (3 x hole
#: pixels), far above the floor, so a score of exactly this means an exact fill
PSNR_CAP_DB = 10 * math.log10(255.0**2 / _MSE_FLOOR)
#: fewest bootstrap resamples (other than 0) for a 95% interval: the 2.5th and 97.5th percentiles
#: of a handful of resamples are noise (of one, a 0-width "interval" that may miss the mean)
MIN_BOOT = 100
#: more resamples than any interval needs: (resamples x images) arrays for every method, after the run
MAX_BOOT = 20000


def default_images(data: str) -> list[Path]:
    """The fetched eval photos, or the held-out texture families (``make data``)."""
    try:
        from edgefill_export.fetch import list_images, texture_split
    except ImportError:
        return []
    return texture_split(list_images("texture"))[1] if data == "texture" else list_images("eval")


def centre_crop(img: np.ndarray, size: int) -> np.ndarray:
    """The central ``size`` x ``size`` square of ``img`` scaled so that its shorter side is
    ``size``. An image so elongated that the scaled one would pass the pixel limit (a 1-px-high
    strip, say) is an :class:`InputError`, not an out-of-memory failure in OpenCV."""
    h, w = img.shape[:2]
    s = size / min(h, w)
    sw, sh = max(size, round(w * s)), max(size, round(h * s))
    if sw * sh > MAX_PIXELS:
        raise InputError(f"a {w}x{h} image scaled to a {size}-px shorter side would be {sw}x{sh}, above the "
                         f"{MAX_PIXELS}-pixel limit (too elongated to crop)")
    img = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
    h, w = img.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(img[y : y + size, x : x + size])


def hole_psnr(out: np.ndarray, ref: np.ndarray, hole: np.ndarray, peak: float = 255.0) -> float:
    """PSNR over the hole pixels, against ``peak`` (255 for 8-bit images; 2**bits - 1 for deeper ones)."""
    d = out[hole].astype(np.float64) - ref[hole].astype(np.float64)
    mse = float(np.mean(d * d))
    return 10 * math.log10(peak**2 / max(mse, _MSE_FLOOR))


def hole_ssim(out: np.ndarray, ref: np.ndarray, hole: np.ndarray) -> float:
    """Mean of the SSIM map (Gaussian window, sigma 1.5, per channel) over hole pixels."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x, y = out.astype(np.float64), ref.astype(np.float64)
    blur = lambda a: cv2.GaussianBlur(a, (11, 11), 1.5)  # noqa: E731
    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    ssim = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(ssim.mean(axis=2)[hole].mean())


#: the suffix a scored column adds to its model's name: ``+ns`` (as Inpainter runs it), ``+featherN``
_VARIANT = re.compile(r"^(.*)(\+(?:ns|feather\d+))$", re.DOTALL)


def split_variant(name: str) -> tuple[str, str]:
    """(model, scoring suffix) of a column name: ``runs/v2+aug/lite.onnx+ns`` ->
    (``runs/v2+aug/lite.onnx``, ``+ns``); a "+" inside a model's path is the path's (it was read
    as the suffix: the pairs of such a model were lost, and its label cut)."""
    m = _VARIANT.match(name)
    return (m.group(1), m.group(2)) if m else (name, "")


def method_label(name: str, parts: int = 1) -> str:
    """A method's column title: shipped names as given (``lite.int8``), a model file by its file
    name without ``.onnx`` (``/m/x.int8.onnx`` -> ``x.int8``), a bundle folder by its name; a
    scoring suffix stays (``/m/x.onnx+ns`` -> ``x+ns``). ``parts`` > 1 keeps that many trailing
    path parts (``old/x``), to tell apart two files of one name."""
    path, suffix = split_variant(name)
    stem = "/".join(Path(path).parts[-parts:])
    return (stem[: -len(".onnx")] if stem.endswith(".onnx") else stem) + suffix


def method_labels(names: list[str]) -> list[str]:
    """:func:`method_label` of each name, with more of the path where two would read the same
    (``nano`` and ``old/nano.onnx`` -> ``nano``, ``old/nano``); the name as given where even
    the whole path cannot tell them apart."""
    labels = []
    for name in names:
        depth = len(Path(split_variant(name)[0]).parts)
        parts = next((k for k in range(1, depth + 1)
                      if all(method_label(name, k) != method_label(o, k) for o in names if o != name)), None)
        labels.append(method_label(name, parts) if parts else name)
    return labels


def write_figure(path: Path, table: list[dict], names: list[str], examples: dict[int, list[np.ndarray]]) -> None:
    """Top: hole PSNR per bucket for each method. Below: one example per bucket, masked input
    (magenta = hole) / each method / ground truth."""
    from edgefill.imageio import write_image
    from edgefill.plot import image_grid, line_chart

    buckets = [row["bucket"] for row in table]
    labels = method_labels(names)
    chart = line_chart({label: {row["bucket"]: row[m]["psnr"] for row in table if row[m]} for label, m in zip(labels, names)},
                       buckets, "hole PSNR (dB) by hole ratio", y_from_zero=False)
    rows = [examples[b] for b in sorted(examples)]
    grid = image_grid(rows, ["masked input", *labels, "ground truth"])
    width = max(chart.shape[1], grid.shape[1])
    pad = lambda im: cv2.copyMakeBorder(im, 0, 0, 0, width - im.shape[1], cv2.BORDER_CONSTANT, value=(255, 255, 255))  # noqa: E731
    write_image(path, np.vstack([pad(chart), pad(grid)]))


def make_cases(crops: list[np.ndarray], per_bucket: int, seed: int, family: str):
    """Cases ``(image index, bucket, slot, crop, mask)``: ``per_bucket`` seeded masks of a
    generated family per image crop (``size`` x ``size``) and bucket."""
    fam = maskgen.FAMILIES[family]
    for i, img in enumerate(crops):
        size = img.shape[0]
        for b, (lo, hi) in enumerate(BUCKETS):
            for k in range(per_bucket):
                rng = np.random.default_rng([seed, i, b, k])
                mask = fam(size, size, rng, max(lo, 0.01), hi)
                yield i, b, k, img, mask


@dataclass(frozen=True)
class OwnMask:
    """One of the user's masks (``--masks DIR``), scaled and cropped to the evaluation size."""

    name: str
    bucket: int  # index into BUCKETS, by the cropped mask's hole ratio
    slot: int  # its position among the masks of its bucket
    mask: np.ndarray


def read_own_masks(folder: Path, size: int) -> tuple[list[OwnMask], list[str]]:
    """The mask images of ``folder`` (sorted by name; as ``edgefill inpaint --mask`` reads them:
    1 = hole in a 0/1 mask, else white or any grey >= 128), each scaled and centre-cropped like
    the images and put in the bucket of its hole ratio. Returns the masks and ``"NAME: why"``
    for each file left out (unreadable, no hole, or a hole of 50% or more, beyond the buckets)."""
    masks: list[OwnMask] = []
    skipped: list[str] = []
    slots = [0] * len(BUCKETS)
    for path in image_files(folder):
        try:
            raw = read_mask(path)
            peak = int(raw.max())
            if peak == 1:  # a 0/1 mask (edgefill.masks' convention): its 1s are the hole
                raw = raw * np.uint8(255)
            mask = (centre_crop(raw, size) >= 128).astype(np.uint8) * 255
        except InputError as e:
            skipped.append(f"{path.name}: {e}")
            continue
        ratio = float(np.count_nonzero(mask)) / mask.size
        bucket = next((b for b, (lo, hi) in enumerate(BUCKETS) if lo <= ratio < hi and ratio > 0), None)
        if bucket is None:
            why = "no hole" if ratio == 0 else f"hole ratio {ratio:.0%}, beyond the 0-50% buckets"
            if 1 < peak < 128:
                why += f" (largest value {peak}; a hole is white, any grey >= 128, or 1 in a 0/1 mask)"
            skipped.append(f"{path.name}: {why} at {size}x{size}")
            continue
        masks.append(OwnMask(path.name, bucket, slots[bucket], mask))
        slots[bucket] += 1
    return masks, skipped


def own_mask_cases(crops: list[np.ndarray], masks: list[OwnMask]):
    """Cases ``(image index, bucket, slot, crop, mask)``: every one of the user's masks on every
    image crop."""
    for i, img in enumerate(crops):
        for m in masks:
            yield i, m.bucket, m.slot, img, m.mask


def evaluate(methods: dict, paths: list[Path], cases, slots: int, label: str,
             torch_models: dict | None = None, total: int | None = None) -> tuple[list[dict], dict, dict, dict]:
    """Scores of every method on one set of cases (:func:`make_cases`, :func:`own_mask_cases`;
    at most ``slots`` masks per image and bucket): (table rows, example images, max
    |ORT - torch|, per-case scores ``{method: array (images, buckets, slots, 2)}`` of hole PSNR
    and SSIM, NaN in a slot that holds no case). A bucket without cases has ``n`` 0 and no
    scores in the table. The cases are drawn one at a time (``total`` of them, for the progress
    bar), so that one case's mask is held at once, not a whole family's."""
    torch_models = torch_models or {}
    per_case = {m: np.full((len(paths), len(BUCKETS), slots, 2), np.nan) for m in methods}
    torch_scores = {m: {b: [] for b in range(len(BUCKETS))} for m in torch_models}
    max_diff = {m: 0 for m in torch_models}
    examples: dict[int, list[np.ndarray]] = {}
    from tqdm import tqdm

    if torch_models:
        from edgefill_export.onnx_export import torch_reference

    for i, b, k, img, mask in tqdm(cases, total=total, desc=f"quality {label}", unit="case", leave=False):
        hole = mask > 0
        keep = b not in examples and paths[i].name == paths[(3 * b) % len(paths)].name
        if keep:
            shown = img.copy()
            shown[hole] = (255, 0, 255)
            examples[b] = [shown]
        for m, be in methods.items():
            out = be.infer(img, mask)
            if keep:
                examples[b].append(out)
            per_case[m][i, b, k] = hole_psnr(out, img, hole), hole_ssim(out, img, hole)
            if m in torch_models:
                ref = torch_reference(torch_models[m], img[None], (mask > 0).astype(np.uint8)[None, ..., None])[0]
                torch_scores[m][b].append(hole_psnr(ref, img, hole))
                max_diff[m] = max(max_diff[m], int(np.abs(ref.astype(int) - out.astype(int)).max()))
        if keep:
            examples[b].append(img)  # ground truth
    table = []
    for b, bucket in enumerate(BUCKET_LABELS):
        scored = ~np.isnan(next(iter(per_case.values()))[:, b, :, 0])  # the same cases for every method
        row: dict = {"bucket": bucket, "n": int(scored.sum())}
        for m in methods:
            arr = per_case[m][:, b][scored]
            row[m] = {"psnr": float(arr[:, 0].mean()), "ssim": float(arr[:, 1].mean())} if len(arr) else None
        for m in torch_models:
            row[f"{m}-torch"] = {"psnr": float(np.mean(torch_scores[m][b]))} if torch_scores[m][b] else None
        table.append(row)
    return table, examples, max_diff, per_case


class _LastCall:
    """A backend that remembers its last call, so that a :class:`_Refined` scored on the same
    image and mask right after it reuses the model's fill instead of running it again."""

    def __init__(self, backend):
        self.backend = backend
        self._last: tuple | None = None

    def __getattr__(self, name: str):
        return getattr(self.backend, name)

    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._last is not None and self._last[0] is image and self._last[1] is mask:
            return self._last[2]
        out = self.backend.infer(image, mask)
        self._last = (image, mask, out)
        return out


class _Refined:
    """A model's fill refined as ``Inpainter`` does: a coarse NS fill mixed into every hole pixel
    (edgefill.wide_mix), then the thin hole components refilled by OpenCV NS (edgefill.thin),
    and a grey image's fill made grey (edgefill.grey),
    with the ``requested`` settings, else those the model records, else the defaults
    (:mod:`edgefill.refill_settings`)."""

    def __init__(self, backend: _LastCall, half_width: float, requested: RefillSettings | None = None):
        self.backend, self.half_width = backend, half_width
        self.settings = backend.backend.refill.updated(requested or RefillSettings()).resolved()

    @property
    def active(self) -> bool:
        """Whether it changes anything: a thin-hole refill or a wide mix."""
        return self.half_width > 0 or bool(self.settings.wide_ns_weight)

    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        hole = mask > 0
        out = self.backend.infer(image, mask).copy()  # the model's fill stays cached unchanged
        pts = cv2.findNonZero(hole.astype(np.uint8))
        if pts is not None:
            box = cv2.boundingRect(pts)
            self.settings.refine_in_place(out, image, hole, box, self.half_width)
            if is_grey(image, box, hole):  # a grey image's fill made grey, as Inpainter does (the hole left out)
                make_grey_in_place(out, box)
        return out


class _Feathered:
    """A model run through ``Inpainter`` with a feathered seam ring of ``feather`` px and no
    refinement (no thin-hole refill, no whole-hole NS mix), to measure what the ring alone costs
    inside the hole against the raw model's column. (The NS mix the model records was left on:
    nano's feathered column scored 2.5-2.9 dB above the ring alone, whatever --wide-ns-weight said.)"""

    def __init__(self, backend, feather: int):
        # no grey fill: on a grey image it hid part of the ring's cost
        self.inpainter = edgefill.Inpainter(backend=backend, roi_config=edgefill.RoiConfig(buckets=None, feather=feather),
                                            thin_hole_px=0, wide_ns_weight=0, grey_fill=False)

    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.inpainter.inpaint(image, mask)


def gains(table: list[dict], models: list[str]) -> dict[str, dict]:
    """Per model, over the 10-50% buckets: mean PSNR gain over the better classical method in
    each bucket, the smallest such gain, and whether it beats both in SSIM in every bucket.
    Buckets without cases are left out; with none in 10-50% every figure is None."""
    rows = [r for r in table if r["bucket"] != BUCKET_LABELS[0] and r[CLASSICAL[0]] is not None]
    out: dict[str, dict] = {}
    for m in models:
        if not rows:
            out[m] = dict.fromkeys(("mean_psnr_gain_db", "min_psnr_gain_db", "min_ssim_gain",
                                    "beats_classical_ssim_everywhere"))
            continue
        d_psnr = [r[m]["psnr"] - max(r[c]["psnr"] for c in CLASSICAL) for r in rows]
        d_ssim = [r[m]["ssim"] - max(r[c]["ssim"] for c in CLASSICAL) for r in rows]
        out[m] = {"mean_psnr_gain_db": float(np.mean(d_psnr)), "min_psnr_gain_db": float(np.min(d_psnr)),
                  "min_ssim_gain": float(np.min(d_ssim)), "beats_classical_ssim_everywhere": bool(min(d_ssim) > 0)}
    return out


def _opened(opened: contextlib.ExitStack, backend):
    """``backend``, to be closed when ``opened`` is."""
    opened.callback(backend.close)
    return backend


def _pairs(models: list[str]) -> list[tuple[str, str]]:
    """Models to compare head to head: each pair scored the same way (both alone, or both with
    the same suffix such as ``+ns``)."""
    return [(x, y) for i, x in enumerate(models) for y in models[i + 1 :] if split_variant(x)[1] == split_variant(y)[1]]


def _refill_steps(r: dict, thin_px: float) -> str:
    """The refinement of a ``+ns`` column in words: only the steps that are on (``--thin-px 0`` or
    ``--wide-ns-weight 0`` turned one off, and the line still gave its radius, shares and gate)."""
    steps = []
    if r["wide_ns_weight"]:
        steps.append(f"an NS fill at 1/{r['wide_ns_scale']} resolution mixed {r['wide_ns_weight']:g} : "
                     f"{1 - r['wide_ns_weight']:g} with the model's fill in the hole pixels (less where the known "
                     f"ring's std is above {r['wide_ns_max_std'] / 2:g}, none from {r['wide_ns_max_std']:g})")
    else:
        steps.append("no NS mix over the whole hole (--wide-ns-weight 0)")
    if thin_px > 0:
        steps.append(f"thin parts (half-width <= {thin_px:g} px) by OpenCV NS (radius {r['thin_radius']:g}) mixed "
                     f"{r['thin_ns_weight']:g} : {1 - r['thin_ns_weight']:g} with that fill")
    else:
        steps.append("no thin-hole refill (--thin-px 0)")
    return "; then ".join(steps)


def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


def _output_clash(outputs: dict[str, Path | None], images: list[Path], masks: list[Path],
                  models: list[str] = ()) -> str | None:
    """Why the outputs (``{flag: path}``) would harm the inputs, else None: an output that is an
    evaluation image, a mask file or a file of a model under test (written over at the end of the
    run), one path given for two outputs (the last written replaces the other), or an
    image-named output in a folder of evaluation images or masks (the next run would score it as
    one more input)."""
    given = [(Path(path), flag) for flag, path in outputs.items() if path]
    try:
        refuse_shared_outputs(given)
        refuse_overwrites([(f, "the evaluation image") for f in images] + [(f, "the mask") for f in masks]
                          + model_inputs(models), given)
    except InputError as e:
        return str(e)
    for path, flag in given:
        if path.suffix.lower() in IMAGE_EXTS:
            for f in (*images, *masks):
                if same_path(path.parent, f.parent):
                    return (f"{flag} {path} is in {f.parent}, where the next run would read it as an input; "
                            "write it to another folder")
    return None


def print_table(table: list[dict], names: list[str], title: str) -> None:
    header = f"{'hole ratio':>10} | " + " | ".join(f"{m:>17}" for m in names)
    print(title)
    print(header)
    print("-" * len(header))
    for row in table:
        cells = [f"{row[m]['psnr']:8.2f} / {row[m]['ssim']:.3f}" if row[m] else "no masks" for m in names]
        print(f"{row['bucket']:>10} | " + " | ".join(f"{c:>17}" for c in cells))


class _PipeSafe:
    """stdout that a reader going away (``| head``, quitting ``less``) does not stop: the tables
    are dropped from then on, and the run goes on to write its --json, --csv and --png (the first
    print after the pipe closed ended the finished run without them, and without a word)."""

    def __init__(self, out):
        self.out, self.broken = out, False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self.out.write(text)
            except BrokenPipeError:
                self._closed()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.out.flush()
            except BrokenPipeError:
                self._closed()

    def _closed(self) -> None:
        self.broken = True
        drop_stdout(self.out)


def main(argv: list[str] | None = None) -> int:
    """``edgefill bench quality``. Bad options or inputs (found before the run) and a failure
    during it (a backend that fails on a case, such as ONNX Runtime out of memory at a large
    ``--crop``) are one line and exit 2, and Ctrl-C one line and exit 130, as the other
    ``edgefill`` commands end: not a traceback. The tables of the families finished before it
    are printed; the files are written only at the end of a run."""
    out = _PipeSafe(sys.stdout)
    try:
        with contextlib.ExitStack() as opened, contextlib.redirect_stdout(out):  # every backend opened is closed
            code = _run(argv, opened)
        return 141 if out.broken and code == 0 else code  # as cli.main ends on a closed pipe
    except edgefill.EdgeFillError as e:
        print(f"edgefill bench quality: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("edgefill bench quality: interrupted", file=sys.stderr)
        return 130


def _run(argv: list[str] | None, opened: contextlib.ExitStack) -> int:
    ap = argparse.ArgumentParser(prog="edgefill bench quality", description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=Path, default=None, help="folder of evaluation images (default: the fetched --data set)")
    ap.add_argument("--data", choices=("eval", "texture"), default=None,
                    help="fetched set: the eval photos (default), or the held-out texture families (metal*, wood*); "
                         "not with --images")
    ap.add_argument("--models", default="lite,nano", help="comma list of shipped names or .onnx paths")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--per-bucket", type=int, default=3, help="masks per image and bucket")
    ap.add_argument("--family", default=None, help="generated mask family, comma list or 'all' "
                    f"({', '.join(sorted(maskgen.FAMILIES))}; 'all' is every one but mixed, a mixture of the "
                    "others); default free-form, or none with --masks")
    ap.add_argument("--masks", type=Path, default=None,
                    help="folder of your own masks (white = hole), each used on every image and bucketed by its "
                         "hole ratio after the same scaling and crop as the images")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--limit", type=int, default=None, help="use only the first N images")
    ap.add_argument("--torch", action="store_true", help="also run the PyTorch weights and report ORT/PyTorch agreement")
    ap.add_argument("--thin-px", type=float, default=DEFAULT_THIN_HOLE_PX,
                    help="also score each model as Inpainter runs it by default (MODEL+ns): thin hole components "
                         f"(half-width <= this) refilled with OpenCV NS (default {DEFAULT_THIN_HOLE_PX:g}; 0 with "
                         "--wide-ns-weight 0: models only)")
    add_refill_options(ap)  # as Inpainter runs it
    ap.add_argument("--feather", type=int, default=0,
                    help="also score each model through Inpainter with a seam ring of this many px (RoiConfig.feather)")
    ap.add_argument("--boot", type=int, default=2000,
                    help="bootstrap resamples of the images for 95%% intervals on each mean gain and on the "
                         f"difference between models (0: none; else at least {MIN_BOOT})")
    ap.add_argument("--csv", type=Path, default=None,
                    help="also write every case's scores: family, image, bucket, mask, method, PSNR, SSIM")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--png", type=Path, default=None, help="figure: PSNR per bucket and an example grid (first family)")
    a = ap.parse_args(argv)
    if a.boot < 0 or a.per_bucket < 1 or a.crop < 16 or a.seed < 0 or (a.limit is not None and a.limit < 1):
        raise ConfigError("--boot must be >= 0, --per-bucket >= 1, --crop >= 16, --seed >= 0 and --limit >= 1")
    if 0 < a.boot < MIN_BOOT or a.boot > MAX_BOOT:
        raise ConfigError(f"--boot must be 0 (no intervals) or {MIN_BOOT} to {MAX_BOOT} resamples, got {a.boot}: the "
                          "95% interval of fewer is noise, and more hold (resamples x images) arrays no machine "
                          "needs, allocated after the whole run")
    if a.images is not None and a.data is not None:  # --data was ignored without a word
        raise ConfigError("--data picks a fetched set and --images your own folder: give one of them")
    if a.images is None:
        a.data = a.data or "eval"  # the report's config says which set, not "None"
    if a.crop * a.crop > MAX_PIXELS:  # every image is scaled to at least crop x crop
        raise ConfigError(f"--crop {a.crop}: {a.crop}x{a.crop} is above the {MAX_PIXELS}-pixel limit on images")
    if not (is_finite(a.thin_px) and a.thin_px >= 0):  # as Inpainter(thin_hole_px=...) checks it
        raise ConfigError(f"--thin-px must be a finite number >= 0, got {a.thin_px:g}")
    if a.png and a.png.suffix.lower() not in IMAGE_EXTS:  # found before the run, not after it
        raise ConfigError(f"--png {a.png}: unsupported extension {a.png.suffix!r} (use one of {', '.join(IMAGE_EXTS)})")
    for what, path in (("the figure", a.png), ("the CSV", a.csv), ("the JSON report", a.json)):
        if path:  # an output that cannot be written is found before the run, not after it
            check_can_write(path, what)
    bad = refill_args_error(a)
    if bad:
        raise ConfigError(bad)
    requested = requested_settings(**refill_kwargs(a))

    family = a.family if a.family is not None else ("" if a.masks else "free-form")
    # a family named twice is evaluated once (twice wrote each of its cases twice into --csv)
    families = sorted(f for f in maskgen.FAMILIES if f != "mixed") if family == "all" else \
        list(dict.fromkeys(f for f in family.split(",") if f))
    unknown = [f for f in families if f not in maskgen.FAMILIES]
    if unknown:
        raise ConfigError(f"unknown mask family {unknown[0]!r}; known: {', '.join(sorted(maskgen.FAMILIES))}")
    if a.images:
        if not a.images.is_dir():
            raise InputError(f"{a.images} is not a folder")
        paths = image_files(a.images)
    else:
        paths = default_images(a.data)
    paths = paths[: a.limit] if a.limit else paths
    if not paths:
        raise InputError(f"no images in {a.images} (PNG, JPEG, ...)" if a.images else
                         "no evaluation images: run `make data` (or pass --images DIR)")
    try:  # each image read and cropped once, here: a broken file is named before the run, not halfway through it
        crops = []
        for p in paths:
            crops.append(centre_crop(read_image(p), a.crop))
    except InputError as e:
        name = "" if str(p) in str(e) else f"{p}: "
        raise InputError(f"{name}{e}") from None
    if not families and not a.masks:
        raise ConfigError("no mask family to evaluate: pass --family and/or --masks DIR")
    own: list[OwnMask] = []
    if a.masks:
        if not a.masks.is_dir():
            raise InputError(f"{a.masks} is not a folder")
        own, skipped = read_own_masks(a.masks, a.crop)
        for why in skipped:
            print(f"left out mask {why}", file=sys.stderr)
        if not own:
            raise InputError(f"no usable mask in {a.masks} (mask images with a hole of 0-50% after scaling)")
    clash = _output_clash({"--png": a.png, "--csv": a.csv, "--json": a.json}, paths,
                         image_files(a.masks) if a.masks else [], [m for m in a.models.split(",") if m])
    if clash:
        raise ConfigError(clash)
    methods = {m: _LastCall(_opened(opened, edgefill.create_backend("onnxruntime", model=m)))
               for m in a.models.split(",") if m}
    raw_models = list(methods)
    for m in raw_models:
        refined = _Refined(methods[m], a.thin_px, requested)
        if refined.active:
            methods[f"{m}+ns"] = refined
    if a.feather:
        for m in raw_models:
            methods[f"{m}+feather{a.feather}"] = _Feathered(methods[m].backend, a.feather)
    for m in raw_models:  # the crops go to the model whole: found before the run, not in it
        multiple = methods[m].input_info.multiple
        if a.crop % multiple:
            raise ConfigError(f"--crop {a.crop} is not a multiple of {multiple}, which model {m} needs")
    models = list(methods)
    for c in CLASSICAL:
        methods[c] = _opened(opened, edgefill.create_backend(c))
    torch_models = {}
    if a.torch:  # found before the run: the export tools, and FP32 weights beside each model
        try:
            from edgefill_export.onnx_export import prepare
            from edgefill_export.weights import CheckpointError, load_weights
        except ImportError as e:
            raise BackendUnavailableError("torch", f"--torch: the export tools cannot be imported ({e})", "export") from None
        for m in raw_models:
            try:
                torch_models[m] = prepare(load_weights(methods[m].model.path.with_suffix(".safetensors")))
            except CheckpointError as e:
                raise ModelError(f"--torch: no PyTorch weights for model {m}: {e}") from None

    t0 = time.time()
    from edgefill.bench import host_info

    # the machine and versions, as `edgefill bench` records them: figures without them cannot be compared
    report: dict = {"config": {k: str(v) for k, v in vars(a).items()}, "edgefill": edgefill.__version__,
                    "host": host_info(), "images": [p.name for p in paths], "families": {}}
    # the refinement each model's +ns column used (its own settings, unless the options set them)
    report["refill"] = {name: m.settings.to_dict() for name, m in methods.items() if isinstance(m, _Refined)}
    for name, r in report["refill"].items():
        print(f"{name}: as Inpainter runs it: {_refill_steps(r, a.thin_px)}")
    first_examples = None
    rows: list[tuple] = []
    # (label, cases, how many, slots per bucket, mask names); the cases are generators, drawn one
    # case at a time (a list of them all held every mask of a family at once)
    case_sets = [(fam, make_cases(crops, a.per_bucket, a.seed, fam), len(crops) * len(BUCKETS) * a.per_bucket,
                  a.per_bucket, None) for fam in families]
    if own:
        case_sets.append((f"own:{a.masks.resolve().name}", own_mask_cases(crops, own), len(crops) * len(own),
                          max(m.slot for m in own) + 1, {(m.bucket, m.slot): m.name for m in own}))
    for fam, cases, total, slots, mask_names in case_sets:
        table, examples, max_diff, per_case = evaluate(methods, paths, cases, slots, fam, torch_models, total)
        first_examples = first_examples or (table, examples)
        g = gains(table, models)
        psnr = {m: v[..., 0] for m, v in per_case.items()}
        pairs = {}
        # resampling one image gives it back every time: an interval of width 0, not certainty
        boot = a.boot if len(paths) > 1 else 0
        if boot and any(g[m]["mean_psnr_gain_db"] is not None for m in models):
            for m in models:
                g[m]["ci95_psnr_gain_db"] = list(gain_ci(psnr, m, CLASSICAL, a.boot, a.seed)[1:])
            for x, y in _pairs(models):
                mean, lo, hi = difference_ci(psnr, x, y, a.boot, a.seed)
                pairs[f"{x} - {y}"] = {"mean_db": mean, "ci95_low_db": lo, "ci95_high_db": hi}
        report["families"][fam] = {"table": table, "gains_10_50": g, "differences_10_50": pairs,
                                   "torch_vs_ort_max_abs_diff": max_diff}
        rows += [(fam, paths[i].name, BUCKET_LABELS[b], mask_names[b, k] if mask_names else k, m, *v[i, b, k])
                 for m, v in per_case.items() for i, b, k in np.ndindex(v.shape[:3]) if not np.isnan(v[i, b, k, 0])]
        source = a.images or a.data
        drawn = (f"your {len(own)} masks ({a.masks}), each on every image" if mask_names else
                 f"{fam} masks, {a.per_bucket} per bucket, seed {a.seed}")
        print_table(table, list(methods), f"\n{drawn}: hole-pixel PSNR dB / SSIM, {len(paths)} images ({source}), "
                    f"{a.crop}x{a.crop} crops")
        for m, v in per_case.items():  # a capped score is no measurement: say how many lift the mean
            scored = ~np.isnan(v[..., 0])
            exact = int(np.count_nonzero(v[..., 0][scored] >= PSNR_CAP_DB))
            if exact:
                print(f"  {m}: {exact} of {int(scored.sum())} cases filled exactly (hole PSNR {PSNR_CAP_DB:.0f} dB, the "
                      "cap), which lifts its mean PSNR far above its other cases: compare SSIM, or the --csv scores")
        for m in models:
            if g[m]["mean_psnr_gain_db"] is None:
                print(f"  {m}: no mask in the 10-50% buckets, so no mean gain")
                continue
            above = "above" if g[m]["beats_classical_ssim_everywhere"] else "NOT above"
            ci = (" [95%% CI %+.2f, %+.2f]" % tuple(g[m]["ci95_psnr_gain_db"]) if boot else
                  " (no interval from one image)" if a.boot else "")
            print(f"  {m}: {g[m]['mean_psnr_gain_db']:+.2f} dB{ci} mean gain over the better classical method in "
                  f"10-50% (smallest {g[m]['min_psnr_gain_db']:+.2f} dB); SSIM {above} both in every bucket "
                  f"(smallest margin {g[m]['min_ssim_gain']:+.3f})")
        for name, d in pairs.items():
            print(f"  {name}: {d['mean_db']:+.2f} dB [95% CI {d['ci95_low_db']:+.2f}, {d['ci95_high_db']:+.2f}] "
                  "(paired, images resampled)")
        for m, d in max_diff.items():
            print(f"  {m}: PyTorch vs ONNX Runtime max |diff| = {d} (uint8 levels)")
    print(f"{time.time() - t0:.1f} s")
    if a.csv:
        lines = ["family,image,bucket,mask,method,hole_psnr_db,hole_ssim"]
        lines += [f"{_csv_field(f)},{_csv_field(im)},{bucket},{_csv_field(str(k))},{_csv_field(m)},{p:.4f},{q:.5f}"
                  for f, im, bucket, k, m, p, q in rows]
        atomic_write_bytes(a.csv, ("\n".join(lines) + "\n").encode())
        print(f"wrote {a.csv} ({len(rows)} rows)")
    if a.json:
        atomic_write_bytes(a.json, json.dumps(report, indent=2).encode())
        print(f"wrote {a.json}")
    if a.png and first_examples:  # last: the scores above are written even if drawing fails
        write_figure(a.png, first_examples[0], list(methods), first_examples[1])
        print(f"wrote {a.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
