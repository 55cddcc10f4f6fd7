"""Pipeline lifecycle from user code: stop() from the pipeline's own threads, a second start, a
user's exception from a callback, and a detector that returns None."""

from __future__ import annotations

import numpy as np
import pytest

from edgefill.errors import ConfigError, EdgeFillInternalError
from edgefill.mask_sources import CallableMask
from edgefill.pipeline import Pipeline
from edgefill.sinks import CallbackSink

from .fakes import write_video


def test_stop_from_a_sink_callback_ends_the_run_without_waiting_for_itself(tmp_path):
    """stop() inside a CallbackSink joined its own thread: it blocked for the whole timeout, then
    raised in the sink thread."""
    clip = write_video(tmp_path / "c.avi", 40)
    seen = []

    def sink(result):
        seen.append(result.index)
        if result.index == 3:
            pipe.stop(timeout=5)

    pipe = Pipeline(str(clip), "rect:10,10,20,20", [CallbackSink(sink)], backend="opencv-telea", stabilize=False,
                    queue_size=1)
    stats = pipe.run()
    assert 4 <= stats.frames_out < 40 and seen == list(range(len(seen)))


def test_a_pipeline_runs_once(tmp_path):
    """start() after stop() ran no frame and left the source open; a second run() was an
    EdgeFillInternalError, which says edgefill has a bug."""
    clip = write_video(tmp_path / "c.avi", 3)
    pipe = Pipeline(str(clip), "rect:10,10,20,20", [CallbackSink(lambda r: None)], backend="opencv-telea")
    pipe.stop()
    with pytest.raises(ConfigError, match="a Pipeline runs once"):
        pipe.start()
    again = Pipeline(str(clip), "rect:10,10,20,20", [CallbackSink(lambda r: None)], backend="opencv-telea")
    again.run()
    with pytest.raises(ConfigError, match="make a new Pipeline"):
        again.run()


def test_a_users_exception_in_a_callback_is_the_cause(tmp_path):
    """It reached the caller as an internal error without its traceback."""
    clip = write_video(tmp_path / "c.avi", 3)

    def sink(result):
        raise KeyError("my-bug")

    pipe = Pipeline(str(clip), "rect:10,10,20,20", [CallbackSink(sink)], backend="opencv-telea")
    with pytest.raises(EdgeFillInternalError, match="mask callable or sink of yours") as info:
        pipe.run()
    assert isinstance(info.value.__cause__, KeyError) and info.value.__cause__.__traceback__ is not None


def test_a_detector_returning_none_finds_nothing():
    """None is a common "nothing found"; it stopped the run with an InputError."""
    frame = np.zeros((24, 32, 3), np.uint8)
    m = CallableMask(lambda f, i: None)(frame, 0)
    assert m.shape == (24, 32) and m.dtype == np.uint8 and not m.any()


def test_an_inference_failure_before_the_sink_thread_exists_still_ends_the_run(tmp_path, monkeypatch):
    """The inference thread sends the sink thread its end marker when it fails; a failure on the
    first frame before the sink thread had been created found no sink thread to send it to, and
    wait() blocked forever (seen with a source of grey frames and the stabiliser). Here start()
    goes on only once the inference thread has failed."""
    import threading

    clip = write_video(tmp_path / "c.avi", 3)

    def mask(frame, index):
        raise ValueError("bad mask")

    pipe = Pipeline(str(clip), mask, [CallbackSink(lambda r: None)], backend="opencv-telea")
    start = threading.Thread.start

    def held_start(thread):
        start(thread)
        if thread.name == "edgefill-infer":
            thread.join(10)

    monkeypatch.setattr(threading.Thread, "start", held_start)
    pipe.start()
    monkeypatch.setattr(threading.Thread, "start", start)
    with pytest.raises(EdgeFillInternalError, match="mask callable or sink of yours"):
        assert pipe.wait(timeout=10), "the run did not end"


def test_the_rate_is_the_runs_not_until_wait_is_called(tmp_path):
    """elapsed_s (and fps) end when the last frame has left the sinks: they ran on until wait()
    or stop() was called, so a caller who waited later (doing other work first) read a lower fps
    than the run had, in the stats and in --stats-json."""
    import json
    import time

    clip = write_video(tmp_path / "c.avi", 4)
    pipe = Pipeline(str(clip), "rect:2,2,6,6", [CallbackSink(lambda r: None)], backend="opencv-telea",
                    stats_json=tmp_path / "stats.json").start()
    sink_thread = next(t for t in pipe._threads if t.name == "edgefill-sink")
    sink_thread.join(20)
    assert not sink_thread.is_alive()
    ended = pipe.stats.elapsed_s
    time.sleep(0.3)
    assert pipe.stats.elapsed_s == ended  # it kept growing with the clock
    assert pipe.wait(timeout=10)
    stats = pipe.stats
    assert stats.elapsed_s == ended and stats.fps == pytest.approx(4 / ended)
    assert json.loads((tmp_path / "stats.json").read_text())["elapsed_s"] == ended


class _ClosingSource:
    """A finite source of a few frames whose close() runs ``on_close`` (on the thread finishing
    the run: the main thread, for run() and wait())."""

    def __new__(cls, on_close, frames=3):
        from edgefill.capture import CaptureOptions, FrameSource

        class Source(FrameSource):
            def __init__(self):
                super().__init__("synthetic://closing", CaptureOptions())
                self.i = 0

            def open(self):
                pass

            def read(self):
                self.i += 1
                return np.full((48, 64, 3), 100, np.uint8) if self.i <= frames else None

            def close(self):
                on_close()

        return Source()


def test_stop_called_while_the_run_is_finishing_on_the_same_thread_returns(tmp_path):
    """A signal handler runs on the main thread, which may be inside the run's finishing (here the
    source's close() stands in for the handler): stop() waited for a lock its own thread held,
    and the process hung for good."""
    import threading

    calls = []
    pipe = Pipeline(_ClosingSource(lambda: calls.append(pipe.stop(timeout=3))), "rect:2,2,6,6",
                    [CallbackSink(lambda r: None)], backend="opencv-telea", stabilize=False)
    runner = threading.Thread(target=pipe.run, daemon=True)
    runner.start()
    runner.join(20)
    assert not runner.is_alive(), "stop() inside the finishing hung"
    assert len(calls) == 1


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_a_failure_while_finishing_still_writes_the_stats_and_releases_everything(tmp_path, failure):
    """A Ctrl-C while the run was finishing, or a source whose close() raised, skipped the rest:
    no statistics, the pipeline's own Inpainters left open, and every later stop() a no-op."""
    def fail():
        raise failure("close failed")

    stats = tmp_path / "s.json"
    pipe = Pipeline(_ClosingSource(fail), "rect:2,2,6,6", [CallbackSink(lambda r: None)], backend="opencv-telea",
                    stabilize=False, stats_json=stats)
    expected = KeyboardInterrupt if failure is KeyboardInterrupt else EdgeFillInternalError
    with pytest.raises(expected):
        pipe.run()
    assert stats.is_file() and pipe.inpainter.backend._closed and pipe.fallback.backend._closed


def test_stop_before_start_closes_the_sinks():
    """The sinks of a pipeline stopped before it started stayed open: a preview kept its port."""
    import socket

    from edgefill.sinks import MjpegPreviewSink

    preview = MjpegPreviewSink(port=0)
    pipe = Pipeline(_ClosingSource(lambda: None), "rect:2,2,6,6", [preview], backend="opencv-telea")
    pipe.stop()
    with socket.socket() as s:
        s.bind(("127.0.0.1", preview.port))  # free again


def test_two_pipelines_may_share_a_mask_video():
    """Two runs reading one MaskSequence called FFmpeg's decoder from two threads at once: the
    process aborted (libavcodec's async_lock assertion). Run in a process of its own."""
    import subprocess
    import sys
    from pathlib import Path

    samples = Path(__file__).resolve().parents[1] / "samples"
    script = f"""
import threading
import edgefill
from edgefill.mask_sources import MaskSequence
from edgefill.sinks import CallbackSink
masks = MaskSequence({str(samples / 'clip_mask.mp4')!r})
got = {{0: 0, 1: 0}}
def run(k):
    def count(r):
        got[k] += 1
    edgefill.Pipeline({str(samples / 'clip.mp4')!r}, masks, [CallbackSink(count)], backend="opencv-telea",
                      stabilize=False).run()
threads = [threading.Thread(target=run, args=(k,)) for k in (0, 1)]
for t in threads: t.start()
for t in threads: t.join()
print(got[0], got[1])
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["48", "48"]
