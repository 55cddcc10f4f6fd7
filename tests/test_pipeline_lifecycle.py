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
