"""Pipeline overhead, latency spread and flicker, on a synthetic 1080p clip.

1. Throughput: the same frames and masks through (a) the model alone, called frame by
   frame on frames already in memory, and (b) the full pipeline (decode thread, mask,
   inference, stabiliser off, sink thread), with a null sink and with a video-file sink.
   Overhead = 1 - pipeline fps / model-only fps.
2. Latency, from the pipeline's own statistics: p50 / p99 of the per-frame inference time (the
   pipeline's "infer" stage: one frame's ``Inpainter`` call; its p99/p50 is the spread) and
   of the capture-to-sink latency. The clip is read ahead as fast as the queues take it, so the
   latter is mostly queue wait (about queue size + 2 frame times), not what a camera would see,
   and it averages the spread of several frames. With fewer than 100 frames p99 is close to
   the maximum (the output says so).
3. Flicker: a static scene with sensor noise and a static mask; the temporal standard
   deviation of the output inside the hole, with and without temporal stabilisation.

    python benchmarks/pipeline.py --model lite --frames 90 --json bench_out/pipeline.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

import edgefill
from edgefill.bench import check_report, first_paragraph, host_info, host_line, textured_scene
from edgefill.fileio import atomic_write_bytes
from edgefill.overwrites import model_inputs
from edgefill.pipeline import Pipeline
from edgefill.sinks import CallbackSink, VideoFileSink
from edgefill.stabilize import StabilizerConfig

W, H = 1920, 1080
#: Frames of the static scene each flicker measurement runs (whatever ``--frames`` says).
FLICKER_FRAMES = 40


def scene(seed: int = 0) -> np.ndarray:
    return textured_scene(H, W, seed)


def ball(i: int, n: int) -> tuple[int, int]:
    t = i / max(1, n - 1)
    return int(200 + t * (W - 400)), int(H / 2 + 300 * np.sin(2 * np.pi * t))


def mask_for(i: int, n: int) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    cv2.circle(m, ball(i, n), 70, 255, -1)
    return m


def write_clip(path: Path, frames: int) -> None:
    bg = scene()
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (W, H))
    for i in range(frames):
        f = bg.copy()
        cv2.circle(f, ball(i, frames), 64, (40, 160, 240), -1)
        wr.write(f)
    wr.release()


def decoded(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = []
    try:
        while True:
            ok, f = cap.read()
            if not ok:
                return out
            out.append(f)
    finally:
        cap.release()


def flicker(model: str, frames: int, stabilize: bool | StabilizerConfig) -> float:
    rng = np.random.default_rng(3)
    base = scene(1)[:720, :1280]
    hole = np.zeros(base.shape[:2], np.uint8)
    cv2.circle(hole, (640, 360), 80, 255, -1)
    outs = []
    pipe_frames = [np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8) for _ in range(frames)]

    class Frames(edgefill.capture.FrameSource):
        def open(self):
            self.i = 0

        def read(self):
            if self.i >= len(pipe_frames):
                return None
            self.i += 1
            return pipe_frames[self.i - 1]

    src = Frames("memory://static", edgefill.capture.CaptureOptions())
    Pipeline(src, hole, [CallbackSink(lambda r: outs.append(r.image[hole > 0].astype(np.float32)))], model=model,
             backend="onnxruntime", stabilize=stabilize).run()
    return float(np.stack(outs).std(axis=0).mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=first_paragraph(__doc__))
    ap.add_argument("--model", default="lite")
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    if a.frames < 1:
        print("--frames must be >= 1", file=sys.stderr)
        return 2
    try:  # a bad model or output is found before the run, not after it
        if a.json:  # not over the model under test or its sidecar
            check_report(a.json, model_inputs([a.model]))
        inp = edgefill.Inpainter(model=a.model, backend="onnxruntime")
    except edgefill.EdgeFillError as e:
        print(f"pipeline benchmark: {e}", file=sys.stderr)
        return 2

    # an error during the run (e.g. an OpenCV built without a video writer) is one line, and
    # the model's session is closed
    try:
        with inp, tempfile.TemporaryDirectory() as tmp:
            clip = Path(tmp) / "clip_1080p.avi"
            write_clip(clip, a.frames)
            frames = decoded(clip)
            n = len(frames)
            masks = [mask_for(i, n) for i in range(n)]
            for f, m in zip(frames[:3], masks[:3]):  # warm-up
                inp.inpaint(f, m)
            t0 = time.perf_counter()
            for f, m in zip(frames, masks):
                inp.inpaint(f, m)
            model_fps = n / (time.perf_counter() - t0)

            def run(sinks):
                return Pipeline(str(clip), lambda frame, i: masks[i], sinks, inpainter=inp, stabilize=False).run()

            null_stats = run([CallbackSink(lambda r: None)])
            video_stats = run([VideoFileSink(Path(tmp) / "out.avi")])

        f_off = flicker(a.model, FLICKER_FRAMES, stabilize=False)
        f_blend = flicker(a.model, FLICKER_FRAMES, stabilize=StabilizerConfig(static_threshold=0.0))  # blending only
        f_on = flicker(a.model, FLICKER_FRAMES, stabilize=True)
    except edgefill.EdgeFillError as e:
        print(f"pipeline benchmark: {e}", file=sys.stderr)
        return 1
    null_inf, video_inf = null_stats.stages["infer"], video_stats.stages["infer"]
    host = host_info()
    res = {
        "machine": host, "host": host, "edgefill": edgefill.__version__, "model": a.model, "backend": "onnxruntime",
        "frames": n, "size": [W, H], "flicker_frames": FLICKER_FRAMES,
        "model_only_fps": model_fps,
        "pipeline_null_sink_fps": null_stats.fps, "overhead_null_sink": 1 - null_stats.fps / model_fps,
        "pipeline_video_sink_fps": video_stats.fps, "overhead_video_sink": 1 - video_stats.fps / model_fps,
        "inference_null_sink": null_inf, "inference_p99_over_p50": null_inf["p99_ms"] / null_inf["p50_ms"],
        "inference_video_sink": video_inf,
        "latency_null_sink": null_stats.latency, "p99_over_p50": null_stats.latency["p99_ms"] / null_stats.latency["p50_ms"],
        "latency_video_sink": video_stats.latency,
        "flicker_std_without_stabilizer": f_off, "flicker_std_blend_only": f_blend, "flicker_std_with_stabilizer": f_on,
    }
    print(f"{n} frames of 1920x1080, model {a.model}")
    print(host_line(host))
    print(f"model only                 {model_fps:6.2f} fps")
    for name, st, inf, key in (("null sink       ", null_stats, null_inf, "null_sink"),
                               ("video-file sink ", video_stats, video_inf, "video_sink")):
        print(f"pipeline, {name} {st.fps:6.2f} fps  overhead {100 * res[f'overhead_{key}']:5.1f}%  "
              f"inference p50 {inf['p50_ms']:.1f} ms p99 {inf['p99_ms']:.1f} ms (p99/p50 "
              f"{inf['p99_ms'] / inf['p50_ms']:.2f});  capture-to-sink p50 {st.latency['p50_ms']:.1f} ms "
              f"p99 {st.latency['p99_ms']:.1f} ms (queue wait included: the clip is read ahead)")
    if n < 100:
        print(f"(p99 of {n} frames is close to their maximum)")
    print(f"flicker (temporal std in the hole, static noisy scene, grey levels): {f_off:.2f} without stabilisation, "
          f"{f_blend:.2f} blending only, {f_on:.2f} with reuse + blending")
    if a.json:
        atomic_write_bytes(a.json, json.dumps(res, indent=2).encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
