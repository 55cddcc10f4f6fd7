"""Fuzz the image and mask loaders with atheris for a bounded time.

Any exception other than edgefill's own InputError is a bug; its input is saved under
``--crashes`` (default bench_out/fuzz_crashes/) as a regression input. Needs
``pip install atheris``.

    python benchmarks/fuzz_loaders.py --seconds 120
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from edgefill.errors import InputError
from edgefill.imageio import read_image, read_mask
from edgefill.masks import normalize_mask


def seeds() -> list[bytes]:
    img = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    return [cv2.imencode(ext, img)[1].tobytes() for ext in (".png", ".jpg", ".bmp", ".webp", ".tiff")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--crashes", type=Path, default=Path("bench_out/fuzz_crashes"))
    a = ap.parse_args(argv)
    try:
        import atheris
    except ImportError:
        print("atheris is not installed: pip install atheris", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp())
    corpus = tmp / "corpus"
    corpus.mkdir()
    for i, s in enumerate(seeds()):
        (corpus / f"seed{i}").write_bytes(s)
    target = tmp / "input.img"
    stats = {"runs": 0, "refused": 0, "decoded": 0}
    started = time.time()

    def report() -> None:
        print(f"{stats['runs']} inputs in {time.time() - started:.0f} s: {stats['decoded']} decoded, "
              f"{stats['refused']} refused with InputError, 0 unexpected exceptions", flush=True)

    atexit.register(report)

    def one(data: bytes) -> None:
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
            a.crashes.mkdir(parents=True, exist_ok=True)
            (a.crashes / hashlib.sha256(data).hexdigest()[:16]).write_bytes(data)
            raise

    a.crashes.mkdir(parents=True, exist_ok=True)
    atheris.Setup([sys.argv[0], f"-max_total_time={a.seconds}", f"-artifact_prefix={a.crashes}/", str(corpus)], one)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
