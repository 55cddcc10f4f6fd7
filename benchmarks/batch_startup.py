"""How long batch workers take to deliver the first batch (``train --workers N``), with the fork
server preloading the training module (now) and without (the stdlib's default, before the
thirty-first session), each in a fresh process, alternated, side by side in one run.

    PYTHONPATH=export python benchmarks/batch_startup.py --pack runs/gpu/train.npz --workers 2 --repeats 2

Why it matters: every call of ``export/recipes/gpu_train.sh`` on a lent H100 spent 50-57 s before
its first step with 12 workers (docs/training.md, "Thirty-first session"), out of ~8.5 minutes.
Without the preload each worker imports torch and OpenCV itself when it unpickles its batch maker.
Prints the seconds to the first batch for each arm and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from edgefill.bench import check_report, first_paragraph, host_info, host_line
from edgefill.errors import EdgeFillError
from edgefill.fileio import atomic_write_bytes

# run with ``python -c`` like ``python -m edgefill_export.train`` in what matters here: no main
# script for the fork server or the workers to import
_CHILD = r"""
import json, sys, time
from pathlib import Path
from edgefill_export import train as t
arm, workers, pack, batch, crop = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
if arm == "default":
    t._WORKER_PRELOAD = ["__main__"]
photos, _ = t.photo_sets(Path(pack) if pack else t.training_paths("train"))
cfg = t.TrainConfig(model="lite", batch=batch, crop=crop, workers=workers, steps=10 * workers, device="cpu")
sampler = t.CropSampler.for_config(photos, cfg)
t0 = time.perf_counter()
batches = t.BatchPrefetcher(sampler, cfg)
batches.arrays(0)
print(json.dumps({"first_batch_s": time.perf_counter() - t0}))
batches.close()
"""


def preload_verdict(default_s: float, preload_s: float) -> str:
    """How the preload arm's median seconds to the first batch compare with the default arm's."""
    if preload_s <= default_s:
        return f"preload: {default_s / preload_s:.2f}x sooner"
    return f"preload: {preload_s / default_s:.2f}x slower"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=first_paragraph(__doc__))
    ap.add_argument("--pack", type=Path, help="a photo pack (python -m edgefill_export.pack); default: the fetched training photos")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2, help="fresh processes per arm (alternated)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.workers < 1 or args.repeats < 1 or args.batch < 1 or args.crop < 16:
        ap.error("--workers, --repeats and --batch must be >= 1, --crop >= 16")
    if args.pack and not args.pack.is_file():
        ap.error(f"--pack {args.pack}: no such file")
    if args.json:  # found before the run, not after it (a folder was an IsADirectoryError traceback)
        try:
            check_report(args.json, [(args.pack, "the photo pack")] if args.pack else [])
        except EdgeFillError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    times: dict[str, list[float]] = {"default": [], "preload": []}
    for _ in range(args.repeats):
        for arm in times:
            p = subprocess.run([sys.executable, "-c", _CHILD, arm, str(args.workers), str(args.pack or ""),
                                str(args.batch), str(args.crop)],
                               capture_output=True, text=True, timeout=600)
            if p.returncode != 0:
                print(f"error: the {arm} run failed: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}",
                      file=sys.stderr)
                return 2
            times[arm].append(json.loads(p.stdout.strip().splitlines()[-1])["first_batch_s"])
    med = {arm: statistics.median(v) for arm, v in times.items()}
    host = host_info()
    print(f"{args.workers} workers, {args.repeats} fresh processes per arm")
    print(host_line(host))
    for arm, v in times.items():
        print(f"  {arm:8s} first batch after {', '.join(f'{x:.2f}' for x in v)} s (median {med[arm]:.2f})")
    print(f"  {preload_verdict(med['default'], med['preload'])}")
    if args.json:
        atomic_write_bytes(args.json, json.dumps({"workers": args.workers, "seconds": times, "host": host},
                                                 indent=2).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
