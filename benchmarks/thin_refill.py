"""Cost of the refinements ``Inpainter`` runs after the model: the thin-hole refill
(``thin_hole_px``, :mod:`edgefill.thin`; on by default) and the NS mix in the hole pixels
(``wide_ns_weight`` / ``wide_ns_scale`` / ``wide_ns_max_std``, :mod:`edgefill.wide_mix`; on by
default where the hole's surroundings are smooth; timed here with the gate open for every hole,
its worst case, unless ``--wide-ns-max-std`` is given, plus the cost of the gate alone when it
stays closed, as on most photo holes). The same image and masks go through
``Inpainter`` with both off and with both on, interleaved call by call; each refinement
alone is timed as ``Inpainter`` runs it, per mask family and hole ratio.

    python benchmarks/thin_refill.py --model lite --size 512 --json bench_out/thin_refill.json

The image is a synthetic scene (``edgefill.bench.textured_scene``: sines + blurred noise), so nothing needs fetching; the cost
depends on the mask (how many hole pixels are thin), not on the content.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

import edgefill
from edgefill import maskgen
from edgefill.backends import uses_model
from edgefill.bench import check_report, first_paragraph, host_info, host_line, textured_scene
from edgefill.errors import ConfigError
from edgefill.fileio import atomic_write_bytes
from edgefill.overwrites import model_inputs
from edgefill.thin import DEFAULT_THIN_HOLE_PX, refill_thin_in_place, thin_components
from edgefill.wide_mix import DEFAULT_WIDE_NS_WEIGHT, NS_SCALE, UNGATED_STD, mix_wide_in_place


def _classical(backend: str, picked: str | None = None) -> ConfigError:
    """The refusal of a classical backend: the refinements timed here refine a model's fill."""
    what = f"--backend {backend}" + (f" picked {picked}, which" if picked else "")
    return ConfigError(f"{what} is classical (no model): the thin-hole refill and the NS mix refine a model's fill, "
                       "so there is nothing to time; give a learned backend (onnxruntime, tensorrt)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=first_paragraph(__doc__))
    ap.add_argument("--model", default="lite")
    ap.add_argument("--backend", default="onnxruntime", help="a learned backend (not opencv-telea / opencv-ns)")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--thin-px", type=float, default=DEFAULT_THIN_HOLE_PX)
    ap.add_argument("--thin-radius", type=float, default=None,
                    help="OpenCV NS radius of the refill (default: the model's own, else edgefill.thin.NS_RADIUS)")
    ap.add_argument("--wide-ns-weight", type=float, default=DEFAULT_WIDE_NS_WEIGHT,
                    help="share of the NS mix in the hole pixels (timed at this)")
    ap.add_argument("--wide-ns-scale", type=int, default=NS_SCALE)
    ap.add_argument("--wide-ns-max-std", type=float, default=UNGATED_STD,
                    help=f"the mix's gate (default {UNGATED_STD:g}: every hole mixed, the worst case)")
    ap.add_argument("--families", default="scratches,free-form,objects,rects")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    if a.thin_px <= 0 or not 0 < a.wide_ns_weight <= 1:
        ap.error("--thin-px must be > 0 and --wide-ns-weight from 0 (excluded) to 1")
    if a.reps < 1 or a.size < 16:  # no median of nothing (NaN in the table and the JSON)
        ap.error("--reps must be >= 1 and --size >= 16")
    families = [f for f in a.families.split(",") if f]
    unknown = [f for f in families if f not in maskgen.FAMILIES]
    if unknown or not families:
        what = f"unknown mask family {unknown[0]!r}" if unknown else "--families names no mask family"
        ap.error(f"{what}; known: {', '.join(sorted(maskgen.FAMILIES))}")
    img = textured_scene(a.size, a.size)
    made = []
    try:  # a bad model, backend, setting or output is found before the run, not after it
        if not uses_model(a.backend):
            raise _classical(a.backend)
        if a.json:  # not over the model under test or its sidecar
            check_report(a.json, model_inputs([a.model]))
        made.append(edgefill.Inpainter(model=a.model, backend=a.backend, thin_hole_px=0, wide_ns_weight=0))
        if not made[0].backend.uses_model:  # "auto" found no learned backend
            raise _classical(a.backend, made[0].backend_name)
        made.append(edgefill.Inpainter(model=a.model, backend=a.backend, thin_hole_px=a.thin_px,
                                       thin_radius=a.thin_radius, wide_ns_weight=a.wide_ns_weight,
                                       wide_ns_scale=a.wide_ns_scale, wide_ns_max_std=a.wide_ns_max_std))
    except edgefill.EdgeFillError as e:
        for inp in made:
            inp.close()
        print(f"thin_refill benchmark: {e}", file=sys.stderr)
        return 2
    off, on = made
    rows = []
    host = host_info()
    print(f"{a.model} on {off.backend_name}, {a.size}x{a.size}, thin-px {a.thin_px:g}, NS radius {on.thin_radius:g}, "
          f"wide NS share {a.wide_ns_weight:g} at 1/{a.wide_ns_scale}, gate {a.wide_ns_max_std:g}; median of "
          f"{a.reps} interleaved calls")
    print(host_line(host))
    print(f"{'masks':10s} {'hole':>7s} {'thin':>6s} | {'off ms':>7s} {'on ms':>7s} {'ratio':>6s} | "
          f"{'wide mix ms':>11s} {'gate shut ms':>12s} {'thin refill ms':>14s}")
    for fam in families:
        for lo in (0.1, 0.3):
            mask = maskgen.FAMILIES[fam](a.size, a.size, np.random.default_rng([7, int(lo * 10)]), lo, lo + 0.1)
            hole = mask > 0
            box = cv2.boundingRect(mask)  # Inpainter has the hole's box before it refills
            t_off, t_on, t_wide, t_shut, t_refill = [], [], [], [], []
            for _ in range(a.reps):
                for inp, times in ((off, t_off), (on, t_on)):
                    t0 = time.perf_counter()
                    filled = inp.inpaint(img, mask)
                    times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()  # the gate alone: a ring std above any threshold tested
                mix_wide_in_place(filled, img, mask, box, on.wide_ns_weight, on.wide_ns_scale, 1e-6)
                t_shut.append(time.perf_counter() - t0)
                t0 = time.perf_counter()  # as Inpainter runs them
                mix_wide_in_place(filled, img, mask, box, on.wide_ns_weight, on.wide_ns_scale, on.wide_ns_max_std)
                t1 = time.perf_counter()
                refill_thin_in_place(filled, img, mask, box, a.thin_px, on.thin_radius, on.thin_ns_weight)
                t_refill.append(time.perf_counter() - t1)
                t_wide.append(t1 - t0)
            row = {"family": fam, "hole_ratio": float(hole.mean()),
                   "thin_ratio": float(thin_components(hole, a.thin_px).mean()),
                   "off_ms": 1e3 * float(np.median(t_off)), "on_ms": 1e3 * float(np.median(t_on)),
                   "wide_mix_ms": 1e3 * float(np.median(t_wide)), "gate_shut_ms": 1e3 * float(np.median(t_shut)),
                   "refill_ms": 1e3 * float(np.median(t_refill))}
            rows.append(row)
            print(f"{fam:10s} {row['hole_ratio']:7.1%} {row['thin_ratio']:6.1%} | {row['off_ms']:7.1f} "
                  f"{row['on_ms']:7.1f} {row['on_ms'] / row['off_ms']:6.2f} | {row['wide_mix_ms']:11.1f} {row['gate_shut_ms']:12.1f} "
                  f"{row['refill_ms']:14.1f}")
    if a.json:
        report = {"config": {k: str(v) for k, v in vars(a).items()}, "thin_radius": on.thin_radius,
                  "thin_ns_weight": on.thin_ns_weight, "host": host, "edgefill": edgefill.__version__,
                  "rows": rows}
        atomic_write_bytes(a.json, json.dumps(report, indent=2).encode())
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
