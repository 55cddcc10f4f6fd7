"""A pipeline whose sink never returns ends ``stop()`` with a StopTimeoutError (an edgefill
error: one line in the CLI) naming what still runs; it was an internal error, a traceback."""

from __future__ import annotations

import threading

import pytest

from edgefill.errors import EdgeFillError, StopTimeoutError
from edgefill.pipeline import Pipeline
from edgefill.sinks import CallbackSink

from .fakes import write_video


def test_a_sink_that_hangs_ends_stop_with_one_clear_error(tmp_path):
    clip = write_video(tmp_path / "c.avi", 4)
    writing, release = threading.Event(), threading.Event()

    def hang(result):
        writing.set()
        release.wait(30)

    pipe = Pipeline(str(clip), "rect:10,10,20,20", [CallbackSink(hang)], backend="opencv-telea", stabilize=False)
    pipe.start()
    try:
        assert writing.wait(20)
        with pytest.raises(StopTimeoutError, match=r"did not stop within 1 s; still running: edgefill-sink") as info:
            pipe.stop(timeout=1.0)
        assert isinstance(info.value, EdgeFillError)
    finally:
        release.set()
        pipe.wait(20)
