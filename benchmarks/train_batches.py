"""How fast training batches are made: in the training process (``--workers 0``), in worker
threads (how ``train`` made them before the twenty-seventh session) and in worker processes
(``train --workers N`` now), side by side in one run, on the same photos and steps: each way
is timed once per round, ``--rounds`` rounds in a rotating order, and its median is reported
(one run of each after the other let a slow spell of the machine land on one way alone).

    python benchmarks/train_batches.py --pack runs/gpu/train.npz --workers 2 --batch 32 --crop 256

Why it matters: on a lent H100, lite at batch 32 / 256 px trained 5-7 steps/s with 12 worker
threads while the GPU was mostly idle (mean utilisation 10%; docs/training.md, "Twenty-seventh
session"): the mask generator is Python and holds the GIL. Prints batches/s for each way and the ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from edgefill.bench import check_report, first_paragraph, host_info, host_line
from edgefill.errors import EdgeFillError
from edgefill.fileio import atomic_write_bytes


def _rate(make, n: int) -> float:
    """Batches/s over the second n of 2n steps made in one stream (the first n warm it up:
    worker start-up, the prefetch queue filling)."""
    t = 0.0
    for i, _ in enumerate(make(range(2 * n))):
        if i == n - 1:
            t = time.perf_counter()
    return n / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=first_paragraph(__doc__))
    ap.add_argument("--pack", type=Path, help="a photo pack (python -m edgefill_export.pack); default: the fetched training photos")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--steps", type=int, default=48, help="batches timed per way (after as many again to warm up)")
    ap.add_argument("--rounds", type=int, default=3, help="times each way is timed, interleaved (the median is reported)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.workers < 1 or args.batch < 1 or args.crop < 16 or args.steps < 1 or args.rounds < 1:
        ap.error("--workers, --batch, --steps and --rounds must be >= 1, --crop >= 16")
    if args.json:  # found before the run, not after it (a folder was an IsADirectoryError traceback)
        try:
            check_report(args.json, [(args.pack, "the photo pack")] if args.pack else [])
        except EdgeFillError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        import torch  # noqa: F401
        from edgefill_export.fetch import training_paths
        from edgefill_export.train import BatchPrefetcher, CropSampler, TrainConfig, batch_rng, photo_sets
    except ImportError as exc:
        print(f"error: needs the export toolchain (pip install -e '.[export]', PYTHONPATH=export): {exc}", file=sys.stderr)
        return 2
    try:
        photos, _ = photo_sets(args.pack if args.pack else training_paths("train"))
    except (OSError, ValueError, EdgeFillError) as exc:
        print(f"error: cannot load the photos: {exc}", file=sys.stderr)
        return 2
    cfg = TrainConfig(batch=args.batch, crop=args.crop, steps=2 * args.steps, workers=args.workers)
    sampler = CropSampler.for_config(photos, cfg)

    def in_process(steps):
        return (sampler.batch(cfg.batch, batch_rng(cfg, s)) for s in steps)

    def threads(steps):
        with ThreadPoolExecutor(args.workers) as pool:
            yield from pool.map(lambda s: sampler.batch(cfg.batch, batch_rng(cfg, s)), steps)

    def processes(steps):
        batches = BatchPrefetcher(sampler, cfg, start=steps.start)
        try:
            yield from (batches.get(s) for s in steps)
        finally:
            batches.close()

    ways = {"in-process": in_process, f"{args.workers} threads": threads, f"{args.workers} processes": processes}
    n = args.steps
    names = list(ways)
    timed: dict[str, list[float]] = {name: [] for name in names}
    for r in range(args.rounds):  # each round in another order: no way always runs first (or last)
        for name in names[r % len(names):] + names[: r % len(names)]:
            timed[name].append(_rate(ways[name], n))
    rates = {name: statistics.median(timed[name]) for name in names}
    base = rates["in-process"]
    host = host_info()
    print(f"{len(photos)} photos, batch {args.batch} at {args.crop} px, {n} batches per way and round, "
          f"median of {args.rounds} interleaved rounds")
    print(host_line(host))
    for name, r in rates.items():
        print(f"{name:<14} {r:7.2f} batches/s  {r / base:5.2f}x in-process")
    if args.json:
        atomic_write_bytes(args.json, json.dumps({"host": host, "batch": args.batch, "crop": args.crop,
                                                   "photos": len(photos), "batches": n, "rounds": args.rounds,
                                                   "batches_per_s": rates, "batches_per_s_each_round": timed},
                                                  indent=2).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
