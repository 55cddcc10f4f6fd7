"""Soak: push many frames through the pipeline and watch for leaks.

A finite in-memory source of small frames (so every frame must come out), a static mask,
and a fast backend (OpenCV Telea on a tiny hole; stabiliser off, so every frame is filled).
Reports RSS at start (after warm-up) and end, open file descriptors and threads before and
after, and frames lost.

    python benchmarks/soak.py --frames 100000 --json bench_out/soak.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import threading
import time
from pathlib import Path

import numpy as np

import edgefill
from edgefill.fileio import atomic_write_bytes
from edgefill.capture import CaptureOptions, FrameSource
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


def run(n: int, backend: str) -> dict:
    mask = np.zeros((96, 128), np.uint8)
    mask[40:52, 50:70] = 255
    count = [0]
    pipe = edgefill.Pipeline(Synthetic(n), mask, [CallbackSink(lambda r: count.__setitem__(0, count[0] + 1))],
                             backend=backend, stabilize=False)
    return pipe, count


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--backend", default="opencv-telea")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)

    warm, _ = run(2000, a.backend)  # warm-up: allocator pools, OpenCV buffers, thread start-up
    warm.run()
    del warm
    gc.collect()
    fds0, threads0, rss0 = open_fds(), threading.active_count(), rss_mb()
    t0 = time.time()
    pipe, count = run(a.frames, a.backend)
    stats = pipe.run()
    del pipe
    gc.collect()
    fds1, threads1, rss1 = open_fds(), threading.active_count(), rss_mb()
    res = {"frames": a.frames, "backend": a.backend, "frames_in": stats.frames_in, "frames_out": stats.frames_out,
           "frames_lost": stats.frames_in - stats.frames_out, "callback_frames": count[0],
           "rss_mb_start": rss0, "rss_mb_end": rss1, "rss_growth_pct": 100 * (rss1 - rss0) / rss0,
           "fds_start": fds0, "fds_end": fds1, "threads_start": threads0, "threads_end": threads1,
           "seconds": time.time() - t0, "fps": stats.fps}
    print(f"{a.frames} frames in {res['seconds']:.0f} s ({stats.fps:.0f} fps) on {a.backend}")
    print(f"frames lost {res['frames_lost']} (in {stats.frames_in}, out {stats.frames_out})")
    print(f"RSS {rss0:.1f} -> {rss1:.1f} MB ({res['rss_growth_pct']:+.2f}%), fds {fds0} -> {fds1}, "
          f"threads {threads0} -> {threads1}")
    if a.json:
        atomic_write_bytes(a.json, json.dumps(res, indent=2).encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
