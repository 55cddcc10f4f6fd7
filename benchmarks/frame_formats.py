"""What a frame's format costs in ``Inpainter.inpaint``: the same scene and hole as BGR uint8,
grey uint8, grey uint16 (12-bit samples) and BGR uint16, timed side by side in one run
(interleaved, so the machine's drift hits every format alike), with each stage's median
(``last_timing``: inference, the rest before it, the rest after it) and the ratio of each
format's total to BGR uint8's.

    python benchmarks/frame_formats.py --model nano --width 1920 --height 1080 [--json bench_out/frame_formats.json]

The hole is one object silhouette of about ``--hole`` of a 256 px crop, in the middle of the frame:
a defect on a line camera's frame, where everything outside the model's crop is the format's
overhead (conversion to 8 bits, the grey fill, the 16-bit restore).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

import edgefill
from edgefill import maskgen
from edgefill.backends import uses_model
from edgefill.bench import check_report, first_paragraph, host_info, host_line, textured_scene
from edgefill.fileio import atomic_write_bytes
from edgefill.overwrites import model_inputs

STAGES = ("total", "infer", "pre", "post")


def formats(bgr: np.ndarray) -> dict[str, np.ndarray]:
    """The scene in each format (the 16-bit ones spread over 12 bits)."""
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)

    def deep(img: np.ndarray) -> np.ndarray:
        return (img.astype(np.uint32) * 4095 // 255).astype(np.uint16)

    return {"bgr8": bgr, "grey8": grey, "grey16": deep(grey), "bgr16": deep(bgr)}


#: the model of docs/performance.md's table (a bare run measured lite, 17 ms against the table's 10)
FORMATS_MODEL = "nano"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=first_paragraph(__doc__))
    ap.add_argument("--model", default=None,
                    help=f"default: {FORMATS_MODEL} for a learned backend (docs/performance.md's table), none for "
                         "opencv-telea / opencv-ns")
    ap.add_argument("--backend", default="onnxruntime")
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--hole", type=float, default=0.1, help="hole ratio of a 256 px crop (default 0.1)")
    ap.add_argument("--runs", type=int, default=30, help="timed calls per format (default 30)")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    if a.width < 256 or a.height < 256 or a.runs < 1 or not 0 < a.hole < 0.6:
        print("frame_formats: --width/--height must be >= 256, --runs >= 1 and 0 < --hole < 0.6", file=sys.stderr)
        return 2
    if a.model is None and uses_model(a.backend):
        a.model = FORMATS_MODEL
    if a.json is not None:
        try:  # not over the model under test or its sidecar
            check_report(a.json, model_inputs([a.model] if a.model is not None else []))
        except edgefill.EdgeFillError as exc:
            print(f"frame_formats: {exc}", file=sys.stderr)
            return 2
    frames = formats(textured_scene(a.height, a.width, seed=0))
    mask = np.zeros((a.height, a.width), np.uint8)
    y, x = (a.height - 256) // 2, (a.width - 256) // 2
    mask[y : y + 256, x : x + 256] = maskgen.objects(256, 256, np.random.default_rng(0), a.hole, a.hole + 0.05)
    times: dict[str, dict[str, list[float]]] = {f: {s: [] for s in STAGES} for f in frames}
    try:
        inp = edgefill.Inpainter(model=a.model, backend=a.backend)
    except edgefill.EdgeFillError as exc:
        print(f"frame_formats: {exc}", file=sys.stderr)
        return 2
    with inp:
        for frame in frames.values():  # warm-up: buffers, the crop size's first run
            inp.inpaint(frame, mask)
        for _ in range(a.runs):
            for name, frame in frames.items():
                inp.inpaint(frame, mask)
                t = inp.last_timing
                for s in STAGES:
                    times[name][s].append(getattr(t, s) * 1000)
        backend = inp.backend_name
        model = a.model if inp.backend.uses_model else None
    rows = []
    base = float(np.median(times["bgr8"]["total"]))
    host = host_info()
    print(f"{a.width}x{a.height}, {model or 'no model'} on {backend}, {a.runs} calls per format, medians in ms")
    print(host_line(host))
    print(f"{'format':>7} | {'total':>6} | {'infer':>6} | {'pre':>6} | {'post':>6} | total / bgr8")
    for name, stage in times.items():
        med = {s: float(np.median(v)) for s, v in stage.items()}
        rows.append({"format": name, **{f"{s}_ms": med[s] for s in STAGES}, "ratio_to_bgr8": med["total"] / base})
        print(f"{name:>7} | {med['total']:6.1f} | {med['infer']:6.1f} | {med['pre']:6.1f} | {med['post']:6.1f} | "
              f"{med['total'] / base:.2f}")
    if a.json is not None:
        report = {"config": {**vars(a), "json": str(a.json)}, "model": model, "backend": backend, "host": host,
                  "rows": rows}
        atomic_write_bytes(a.json, json.dumps(report, indent=2).encode())
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
