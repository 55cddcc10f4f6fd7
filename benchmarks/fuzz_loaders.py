"""Fuzz the image and mask loaders with atheris for a bounded time.

Any exception other than edgefill's own InputError is a bug; its input is saved under
``--crashes`` (default bench_out/fuzz_crashes/) as a regression input. Needs
``pip install atheris``. edgefill's own functions (the header parsers and the mask checks)
are instrumented for coverage, so that libFuzzer keeps the seed images and the inputs that
reach new code; without that it drops every seed as uninteresting and mutates a 1-byte input.
The run ends after ``--seconds`` with a one-line summary (libFuzzer's own time limit would
exit without it).

    python benchmarks/fuzz_loaders.py --seconds 120
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import shutil
import sys
import tempfile
import time
import types
from pathlib import Path

import cv2
import numpy as np

from edgefill.bench import first_paragraph
from edgefill.errors import InputError
from edgefill.imageio import read_image, read_mask
from edgefill.masks import normalize_mask
from edgefill.sinks.files import check_can_write


def seeds() -> list[bytes]:
    img = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    return [cv2.imencode(ext, img)[1].tobytes() for ext in (".png", ".jpg", ".bmp", ".webp", ".tiff")]


def instrument_edgefill(atheris) -> int:
    """Instrument every loaded function of edgefill for coverage; returns how many. (All the
    loaded Python code, ``atheris.instrument_all()``, took over 90 s on a 2-core VM.)"""
    funcs = [f for f in gc.get_objects()
             if isinstance(f, types.FunctionType) and (f.__module__ or "").split(".")[0] == "edgefill"]
    for f in funcs:
        atheris.instrument_func(f)
    return len(funcs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=first_paragraph(__doc__))
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--crashes", type=Path, default=Path("bench_out/fuzz_crashes"))
    a = ap.parse_args(argv)
    if a.seconds < 1:  # libFuzzer reads -max_total_time=0 as "no limit"
        print("--seconds must be >= 1", file=sys.stderr)
        return 2
    try:
        import atheris
    except ImportError:
        print("atheris is not installed: pip install atheris", file=sys.stderr)
        return 2
    try:  # found before the instrumenting and the temporary corpus, not after them
        check_can_write(a.crashes, "the crash inputs", folder=True)
    except InputError as e:
        print(f"fuzz_loaders: {e}", file=sys.stderr)
        return 2
    print(f"instrumented {instrument_edgefill(atheris)} edgefill functions for coverage", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="edgefill-fuzz-"))
    corpus = tmp / "corpus"
    target = tmp / "input.img"
    stats = {"runs": 0, "refused": 0, "decoded": 0, "unexpected": 0}
    started = time.time()

    def report() -> None:
        print(f"{stats['runs']} inputs in {time.time() - started:.0f} s: {stats['decoded']} decoded, "
              f"{stats['refused']} refused with InputError, {stats['unexpected']} unexpected exceptions", flush=True)

    def one(data: bytes) -> None:
        try:
            check(data)
        except KeyboardInterrupt:  # Ctrl-C: atheris would exit at once, leaving the corpus in /tmp
            report()
            shutil.rmtree(tmp, ignore_errors=True)
            os._exit(130)

    def check(data: bytes) -> None:
        if time.time() - started >= a.seconds:  # atheris.Fuzz() never returns: end the run here
            report()
            shutil.rmtree(tmp, ignore_errors=True)
            os._exit(0)
        stats["runs"] += 1
        target.write_bytes(data)
        try:
            img = read_image(target)
            m = read_mask(target)
            normalize_mask(m, img.shape, warn=False)
            stats["decoded"] += 1
        except InputError:
            stats["refused"] += 1
        except Exception:
            stats["unexpected"] += 1
            a.crashes.mkdir(parents=True, exist_ok=True)
            (a.crashes / hashlib.sha256(data).hexdigest()[:16]).write_bytes(data)
            report()  # atheris then prints the traceback and exits
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    try:  # Ctrl-C before the first input (seeds, libFuzzer's start-up) ends the same way as during the run
        corpus.mkdir()
        for i, s in enumerate(seeds()):
            (corpus / f"seed{i}").write_bytes(s)
        a.crashes.mkdir(parents=True, exist_ok=True)
        atheris.Setup([sys.argv[0], f"-artifact_prefix={a.crashes}/", str(corpus)], one)
        atheris.Fuzz()
    except KeyboardInterrupt:
        report()
        shutil.rmtree(tmp, ignore_errors=True)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
