"""The ``edgefill`` command: a thin layer over the Python API.

Exit codes: 0 success, 2 bad input or configuration (one line on stderr, no
traceback), 1 an unexpected internal error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import EdgeFillError, InputError
from .imageio import IMAGE_EXTS, read_image, read_mask, write_image

log = logging.getLogger("edgefill")


def _images_in(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in IMAGE_EXTS}


def plan_jobs(inp: Path, mask: Path, out: Path) -> list[tuple[Path, Path, Path]]:
    """(input, mask, output) triples. Folders pair files by name (stem); a single mask
    file may serve a whole folder. Every problem is found before anything is written."""
    if not inp.exists():
        raise InputError(f"input {inp} does not exist")
    if not mask.exists():
        raise InputError(f"mask {mask} does not exist")
    if not inp.is_dir():
        if mask.is_dir():
            raise InputError(f"mask {mask} is a folder but input {inp} is a single file")
        if out.is_dir():
            out = out / inp.name
        if out.exists() and out.resolve() in (inp.resolve(), mask.resolve()):
            raise InputError(f"the output {out} is the input or the mask; refusing to overwrite it")
        return [(inp, mask, out)]
    inputs = _images_in(inp)
    if not inputs:
        raise InputError(f"input folder {inp} has no images ({', '.join(IMAGE_EXTS)})")
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} must be a folder when the input is a folder")
    if out.resolve() == inp.resolve():
        raise InputError("the output folder is the input folder; refusing to overwrite the inputs")
    masks = _images_in(mask) if mask.is_dir() else None
    jobs = []
    for stem, path in inputs.items():
        m = mask if masks is None else masks.get(stem)
        if m is None:
            raise InputError(f"no mask named {stem}.* in {mask} for input {path.name}")
        jobs.append((path, m, out / path.name))
    return jobs


def cmd_inpaint(args: argparse.Namespace) -> int:
    from .inpainter import Inpainter
    from .roi import RoiConfig

    jobs = plan_jobs(Path(args.input), Path(args.mask), Path(args.output))
    model = args.model
    if model is None and args.backend in ("auto", "onnxruntime", "tensorrt"):
        model = "lite"
    options = {"threads": args.threads} if args.threads else {}
    roi_cfg = RoiConfig(margin=args.margin, feather=args.feather)
    with Inpainter(model=model, backend=args.backend, roi_config=roi_cfg, **options) as inp:
        desc = inp.backend_name + (f" ({inp.backend.model.name})" if getattr(inp.backend, "model", None) else "")
        bar = None
        if len(jobs) > 1:
            from tqdm import tqdm

            bar = tqdm(jobs, desc=f"inpainting with {desc}", unit="img", file=sys.stderr)
        total = 0.0
        for src, msk, dst in bar or jobs:
            image, mask = read_image(src), read_mask(msk)
            result = inp.inpaint(image, mask, invert=args.invert_mask)
            write_image(dst, result)
            total += inp.last_timing.total
            if bar is None:
                t = inp.last_timing
                print(f"wrote {dst} ({image.shape[1]}x{image.shape[0]}, {desc}: {t.total * 1000:.1f} ms total, "
                      f"{t.infer * 1000:.1f} ms inference, {t.crops} crop{'s' if t.crops != 1 else ''})")
        if bar is not None:
            bar.close()
            print(f"wrote {len(jobs)} images to {Path(args.output)} ({desc}: {1000 * total / len(jobs):.1f} ms/image)")
    return 0


def cmd_backends(args: argparse.Namespace) -> int:
    from .backends import backend_class, list_backends

    for name in list_backends():
        avail = backend_class(name).is_available()
        print(f"{name:14s} {'available' if avail else 'unavailable: ' + avail.reason}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .opencv_check import opencv_info

    info = opencv_info()
    print(f"OpenCV {info.version} from {info.path}; GStreamer: {'yes' if info.gstreamer else 'no'}; "
          f"pip wheels: {', '.join(info.pip_wheels) or 'none'}; Jetson: {'yes' if info.is_jetson else 'no'}")
    for p in info.problems:
        print(f"problem: {p}")
    cmd_backends(args)
    return 1 if info.problems else 0


def build_parser() -> argparse.ArgumentParser:
    from .backends import list_backends

    ap = argparse.ArgumentParser(prog="edgefill", description="Real-time image inpainting for edge devices.")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="log backend choices (-vv: debug)")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inpaint", help="fill the masked holes of an image or a folder of images",
                       description="Mask convention: 255 (or 1) = hole to fill, 0 = keep.")
    p.add_argument("input", help="image file or folder")
    p.add_argument("--mask", required=True, help="mask file, or folder of masks named like the inputs")
    p.add_argument("-o", "--output", required=True, help="output file, or folder (batch mode)")
    p.add_argument("--backend", default="auto", help=f"auto or one of: {', '.join(list_backends())}")
    p.add_argument("--model", default=None, help="shipped model name (lite, nano) or path to an edgefill .onnx")
    p.add_argument("--invert-mask", action="store_true", help="the mask marks pixels to keep, not holes")
    p.add_argument("--threads", type=int, default=0, help="inference threads (0: backend default)")
    p.add_argument("--margin", type=int, default=48, help="context pixels around the hole (default 48)")
    p.add_argument("--feather", type=int, default=6, help="seam blending width in pixels (default 6)")
    p.set_defaults(func=cmd_inpaint)

    p = sub.add_parser("backends", help="list backends and whether each can run here")
    p.set_defaults(func=cmd_backends)
    p = sub.add_parser("doctor", help="check OpenCV (GStreamer on Jetson) and backends")
    p.set_defaults(func=cmd_doctor)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING if args.verbose == 0 else logging.INFO if args.verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="edgefill: %(levelname)s: %(message)s")
    try:
        return args.func(args)
    except EdgeFillError as exc:
        print(f"edgefill: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("edgefill: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
