"""Soak: push many frames through the pipeline and watch for leaks.

A finite in-memory source of small frames (so every frame must come out), a static mask,
and a fast backend (OpenCV Telea on a tiny hole; stabiliser off, so every frame is filled).
Samples RSS, open file descriptors and threads 50 times while the pipeline runs (a leak
held by the pipeline itself would be freed before any reading taken after it), and reports
their growth from a tenth of the run to its end, those before and after, and frames lost
(asked for but never delivered to the sink).

    python benchmarks/soak.py --frames 100000 --json bench_out/soak.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

import edgefill
from edgefill.backends import uses_model
from edgefill.bench import check_report, first_paragraph, host_info, host_line
from edgefill.fileio import atomic_write_bytes
from edgefill.capture import CaptureOptions, FrameSource
from edgefill.models import DEFAULT_MODEL
from edgefill.overwrites import model_inputs
from edgefill.sinks import CallbackSink


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class Synthetic(FrameSource):
    def __init__(self, n: int, size=(96, 128)):
        super().__init__("memory://soak", CaptureOptions())
        self.n, self.size, self.i = n, size, 0
        self.base = np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)

    def open(self):
        self.i = 0

    def read(self):
        if self.i >= self.n:
            return None
        self.i += 1
        f = self.base.copy()
        f[0, 0, 0] = self.i % 256
        return f


SAMPLES = 50  # RSS, fds and threads are sampled this many times during the run


class Probe:
    """The sink's callback: counts frames and samples RSS, open fds and threads every
    ``every`` frames, while the pipeline (and whatever it holds) is alive."""

    def __init__(self, every: int):
        self.every, self.count, self.samples = max(1, every), 0, []

    def __call__(self, result) -> None:
        self.count += 1
        if self.count % self.every == 0:
            self.samples.append((self.count, rss_mb(), open_fds(), threading.active_count()))


def run(n: int, backend: str) -> tuple[edgefill.Pipeline, Probe]:
    mask = np.zeros((96, 128), np.uint8)
    mask[40:52, 50:70] = 255
    probe = Probe(n // SAMPLES)
    pipe = edgefill.Pipeline(Synthetic(n), mask, [CallbackSink(probe)], backend=backend, stabilize=False)
    return pipe, probe


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=first_paragraph(__doc__))
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--backend", default="opencv-telea")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    if a.frames < 10 * SAMPLES:
        print(f"soak: --frames must be >= {10 * SAMPLES}", file=sys.stderr)
        return 2
    try:
        if a.json:  # a learned backend runs the default model: not over its files
            check_report(a.json, model_inputs([DEFAULT_MODEL] if uses_model(a.backend) else []))
        warm, _ = run(min(2000, a.frames // 5), a.backend)  # warm-up: allocator pools, OpenCV buffers, threads
    except edgefill.EdgeFillError as e:
        print(f"soak: {e}", file=sys.stderr)
        return 2
    warm.run()
    del warm
    gc.collect()
    fds0, threads0, rss0 = open_fds(), threading.active_count(), rss_mb()
    t0 = time.time()
    pipe, probe = run(a.frames, a.backend)
    stats = pipe.run()
    seconds = time.time() - t0
    del pipe
    gc.collect()
    fds1, threads1, rss1 = open_fds(), threading.active_count(), rss_mb()
    # Growth is read from the samples taken while the pipeline ran, from the first one after
    # a tenth of the frames (its queues, buffers and statistics windows filled) to the last.
    steady = [x for x in probe.samples if x[0] >= a.frames // 10]
    first, last = steady[0], steady[-1]
    host = host_info()
    res = {"frames": a.frames, "backend": a.backend, "host": host, "edgefill": edgefill.__version__,
           "frames_in": stats.frames_in, "frames_out": stats.frames_out,
           "frames_lost": a.frames - probe.count, "callback_frames": probe.count,
           "rss_mb_before": rss0, "rss_mb_after": rss1,
           "rss_mb_during": {"first": first[1], "last": last[1], "max": max(x[1] for x in probe.samples),
                             "from_frame": first[0], "to_frame": last[0]},
           "rss_growth_pct": 100 * (last[1] - first[1]) / first[1],
           "fds": {"before": fds0, "during_max": max(x[2] for x in probe.samples), "after": fds1},
           "threads": {"before": threads0, "during_max": max(x[3] for x in probe.samples), "after": threads1},
           "samples": [{"frame": f, "rss_mb": r, "fds": d, "threads": t} for f, r, d, t in probe.samples],
           "seconds": seconds, "fps": stats.fps}
    print(f"{a.frames} frames in {seconds:.0f} s ({stats.fps:.0f} fps) on {a.backend}")
    print(host_line(host))
    print(f"frames lost {res['frames_lost']} (asked {a.frames}, read {stats.frames_in}, "
          f"out {stats.frames_out}, at the sink {probe.count})")
    print(f"RSS while running: {first[1]:.1f} MB at frame {first[0]} -> {last[1]:.1f} MB at frame {last[0]} "
          f"({res['rss_growth_pct']:+.2f}%), max {res['rss_mb_during']['max']:.1f} MB; "
          f"{rss0:.1f} MB before, {rss1:.1f} MB after")
    print(f"fds {fds0} before, at most {res['fds']['during_max']} during, {fds1} after; "
          f"threads {threads0} before, at most {res['threads']['during_max']} during, {threads1} after")
    if a.json:
        atomic_write_bytes(a.json, json.dumps(res, indent=2).encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
