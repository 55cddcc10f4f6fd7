"""Hole-region quality of the shipped models against OpenCV Telea and Navier-Stokes.

For every evaluation photo (the fetched eval set by default, or ``--images DIR``)
a centre crop is taken (after scaling the shorter side to ``--crop``; no training
photo is ever used), and for each hole-ratio bucket ``--per-bucket`` masks are
drawn with a fixed seed. Every method fills the same crops and masks; PSNR and
SSIM are computed on the hole pixels only. Prints a table and writes JSON.

    python benchmarks/quality.py --models lite,nano --json bench_out/quality.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np

import edgefill
from edgefill.fileio import atomic_write_bytes
from edgefill import maskgen
from edgefill.imageio import IMAGE_EXTS, read_image

BUCKETS = [(0.0, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6)]


def default_eval_images() -> list[Path]:
    try:
        from edgefill_export.fetch import list_images
    except ImportError:
        return []
    return list_images("eval")


def centre_crop(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    s = size / min(h, w)
    img = cv2.resize(img, (max(size, round(w * s)), max(size, round(h * s))), interpolation=cv2.INTER_AREA)
    h, w = img.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(img[y : y + size, x : x + size])


def hole_psnr(out: np.ndarray, ref: np.ndarray, hole: np.ndarray) -> float:
    d = out[hole].astype(np.float64) - ref[hole].astype(np.float64)
    mse = float(np.mean(d * d))
    return 10 * math.log10(255.0**2 / max(mse, 1e-10))


def hole_ssim(out: np.ndarray, ref: np.ndarray, hole: np.ndarray) -> float:
    """Mean of the SSIM map (Gaussian window, sigma 1.5, per channel) over hole pixels."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x, y = out.astype(np.float64), ref.astype(np.float64)
    blur = lambda a: cv2.GaussianBlur(a, (11, 11), 1.5)  # noqa: E731
    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    ssim = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(ssim.mean(axis=2)[hole].mean())


def write_figure(path: Path, table: list[dict], names: list[str], examples: dict[int, list[np.ndarray]]) -> None:
    """Top: hole PSNR per bucket for each method. Below: one example per bucket, masked input
    (magenta = hole) / each method / ground truth."""
    from edgefill.imageio import write_image
    from edgefill.plot import image_grid, line_chart

    buckets = [row["bucket"] for row in table]
    chart = line_chart({m: {row["bucket"]: row[m]["psnr"] for row in table} for m in names}, buckets,
                       "hole PSNR (dB) by hole ratio", y_from_zero=False)
    rows = [examples[b] for b in sorted(examples)]
    grid = image_grid(rows, ["masked input", *[Path(n).stem for n in names], "ground truth"])
    width = max(chart.shape[1], grid.shape[1])
    pad = lambda im: cv2.copyMakeBorder(im, 0, 0, 0, width - im.shape[1], cv2.BORDER_CONSTANT, value=(255, 255, 255))  # noqa: E731
    write_image(path, np.vstack([pad(chart), pad(grid)]))


def make_cases(paths: list[Path], size: int, per_bucket: int, seed: int, family: str):
    fam = maskgen.FAMILIES[family]
    for i, p in enumerate(paths):
        img = centre_crop(read_image(p), size)
        for b, (lo, hi) in enumerate(BUCKETS):
            for k in range(per_bucket):
                rng = np.random.default_rng([seed, i, b, k])
                mask = fam(size, size, rng, max(lo, 0.01), hi)
                yield p.name, b, img, mask


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=Path, default=None, help="folder of evaluation photos (default: fetched eval set)")
    ap.add_argument("--models", default="lite,nano", help="comma list of shipped names or .onnx paths")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--per-bucket", type=int, default=3, help="masks per image and bucket")
    ap.add_argument("--family", default="free-form", choices=sorted(maskgen.FAMILIES))
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--torch", action="store_true", help="also run the PyTorch weights and report ORT/PyTorch agreement")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--png", type=Path, default=None, help="figure: PSNR per bucket and an example grid")
    a = ap.parse_args(argv)

    paths = sorted(p for p in a.images.iterdir() if p.suffix.lower() in IMAGE_EXTS) if a.images else default_eval_images()
    if not paths:
        print("no evaluation images: run `make data` (or pass --images DIR)", file=sys.stderr)
        return 2
    methods = {m: edgefill.create_backend("onnxruntime", model=m) for m in a.models.split(",") if m}
    methods["opencv-telea"] = edgefill.create_backend("opencv-telea")
    methods["opencv-ns"] = edgefill.create_backend("opencv-ns")
    torch_models = {}
    if a.torch:
        from edgefill_export.onnx_export import prepare, torch_reference
        from edgefill_export.weights import load_weights

        for m, be in list(methods.items()):
            if be.name == "onnxruntime":
                w = be.model.path.with_suffix(".safetensors")
                torch_models[m] = prepare(load_weights(w))

    scores: dict[str, dict[int, list[tuple[float, float]]]] = {m: {b: [] for b in range(len(BUCKETS))} for m in methods}
    torch_scores: dict[str, dict[int, list[float]]] = {m: {b: [] for b in range(len(BUCKETS))} for m in torch_models}
    max_diff = {m: 0 for m in torch_models}
    t0 = time.time()
    n = 0
    examples: dict[int, list[np.ndarray]] = {}
    for name, b, img, mask in make_cases(paths, a.crop, a.per_bucket, a.seed, a.family):
        hole = mask > 0
        keep = b not in examples and name == paths[(3 * b) % len(paths)].name
        if keep:
            shown = img.copy()
            shown[hole] = (255, 0, 255)
            examples[b] = [shown]
        for m, be in methods.items():
            out = be.infer(img, mask)
            if keep:
                examples[b].append(out)
            scores[m][b].append((hole_psnr(out, img, hole), hole_ssim(out, img, hole)))
            if m in torch_models:
                ref = torch_reference(torch_models[m], img[None], (mask > 0).astype(np.uint8)[None, ..., None])[0]
                torch_scores[m][b].append(hole_psnr(ref, img, hole))
                max_diff[m] = max(max_diff[m], int(np.abs(ref.astype(int) - out.astype(int)).max()))
        if keep:
            examples[b].append(img)  # ground truth
        n += 1
    elapsed = time.time() - t0

    names = list(methods)
    header = f"{'hole ratio':>10} | " + " | ".join(f"{m:>17}" for m in names)
    print(f"hole-pixel PSNR dB / SSIM, {len(paths)} images, {a.per_bucket} {a.family} masks per bucket, "
          f"{a.crop}x{a.crop} crops, seed {a.seed}")
    print(header)
    print("-" * len(header))
    table = []
    for b, (lo, hi) in enumerate(BUCKETS):
        row = {"bucket": f"{int(lo * 100)}-{int(hi * 100)}%", "n": len(scores[names[0]][b])}
        cells = []
        for m in names:
            arr = np.array(scores[m][b])
            row[m] = {"psnr": float(arr[:, 0].mean()), "ssim": float(arr[:, 1].mean())}
            cells.append(f"{row[m]['psnr']:8.2f} / {row[m]['ssim']:.3f}")
        for m in torch_models:
            row[f"{m}-torch"] = {"psnr": float(np.mean(torch_scores[m][b]))}
        table.append(row)
        print(f"{row['bucket']:>10} | " + " | ".join(f"{c:>17}" for c in cells))
    for m in torch_models:
        print(f"{m}: PyTorch vs ONNX Runtime max |diff| over all cases = {max_diff[m]} (uint8 levels)")
    print(f"{n} cases in {elapsed:.1f} s")
    if a.png:
        write_figure(a.png, table, names, examples)
        print(f"wrote {a.png}")
    if a.json:
        report = {"config": {k: str(v) for k, v in vars(a).items()}, "images": [p.name for p in paths],
                  "table": table, "torch_vs_ort_max_abs_diff": max_diff}
        atomic_write_bytes(a.json, json.dumps(report, indent=2).encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
