"""Review of the Python API as an integrator uses it: a capture error in the first frames keeps
the frames read before it, fallback frames that miss the deadline are counted, plug-in backends
without a model argument work by name and through auto, a backend's output is checked, wait() is
refused where it cannot work, parts of the wrong kind are ConfigErrors, and a backend's priority
must be a number."""

from __future__ import annotations

import time

import numpy as np
import pytest

import edgefill
from edgefill.backends import Backend, InputInfo, register_backend
from edgefill.backends.registry import _REGISTRY
from edgefill.capture import CaptureOptions, FrameSource
from edgefill.errors import CaptureError, ConfigError, InferenceError
from edgefill.sinks import CallbackSink


class _Frames(FrameSource):
    """``n`` frames, then a CaptureError at frame ``fail_at`` (if given)."""

    live = False

    def __init__(self, n=6, fail_at=None):
        super().__init__("frames://test", CaptureOptions())
        self.n, self.fail_at, self.i = n, fail_at, 0

    def open(self):
        self.i = 0

    def read(self):
        if self.fail_at is not None and self.i == self.fail_at:
            raise CaptureError("the camera went away")
        if self.i >= self.n:
            return None
        self.i += 1
        frame = np.full((48, 64, 3), 60 + self.i, np.uint8)
        return frame

    def close(self):
        pass


def test_a_capture_error_in_the_first_frames_keeps_the_frames_read_before_it():
    """The capture thread could fail before the infer thread had started: its end marker went
    straight to the sink, and the frames read were lost (7 runs in 20)."""
    for _ in range(20):
        got: list[int] = []
        pipe = edgefill.Pipeline(_Frames(n=10, fail_at=3), "rect:10,10,20,20", [CallbackSink(got.append)],
                                 backend="opencv-telea", stabilize=False)
        with pytest.raises(CaptureError):
            pipe.run()
        assert [r.index for r in got] == [0, 1, 2]


class _Slow(Backend):
    name, uses_model = "test-slow-fallback", False
    input_info = InputInfo(multiple=1)

    def __init__(self, seconds=0.03, **unused):
        super().__init__()
        self.seconds = seconds

    @classmethod
    def is_available(cls):
        return True

    def _infer(self, image, mask):
        time.sleep(self.seconds)
        return image.copy()


def test_fallback_frames_that_miss_the_deadline_are_counted():
    """Only the model's misses were counted: 20 of 20 frames late, deadline_misses 2."""
    fallback = edgefill.Inpainter(backend=_Slow(0.03))
    slow_model = edgefill.Inpainter(backend=_Slow(0.06))
    pipe = edgefill.Pipeline(_Frames(n=8), "rect:10,10,20,20", [CallbackSink(lambda r: None)], inpainter=slow_model,
                             fallback=fallback, deadline_ms=10, stabilize=False)
    stats = pipe.run()
    assert stats.fallbacks >= 1 and stats.deadline_misses == stats.frames_out


def test_a_plug_in_backend_without_a_model_argument_runs_by_name_and_through_auto():
    class Npu(Backend):
        name, uses_model = "test-npu", False
        input_info = InputInfo(multiple=1)

        def __init__(self):
            super().__init__()

        @classmethod
        def is_available(cls):
            return True

        def _infer(self, image, mask):
            return image.copy()

    register_backend("test-npu", priority=1000)(Npu)
    try:
        for backend in ("test-npu", "auto"):
            with edgefill.Inpainter(backend=backend) as inp:  # a TypeError for model= before
                assert inp.backend.name == "test-npu"
    finally:
        _REGISTRY.pop("test-npu", None)


@pytest.mark.parametrize("returned", [
    lambda img: (img.astype(np.uint16) * 256),
    lambda img: img.astype(np.float32) / 255,
    lambda img: img[:, :, 0],
    lambda img: None,
])
def test_a_backends_output_is_checked(returned):
    """A uint16 or 0..1 float fill was pasted as black; another shape was a numpy error."""
    class Odd(Backend):
        name, uses_model = "test-odd", False
        input_info = InputInfo(multiple=1)

        @classmethod
        def is_available(cls):
            return True

        def _infer(self, image, mask):
            return returned(image)

    image = np.full((32, 48, 3), 100, np.uint8)
    mask = np.zeros((32, 48), np.uint8)
    mask[8:16, 8:16] = 255
    with pytest.raises(InferenceError, match="returned .*a backend returns a uint8 image of its input's shape"):
        Odd().infer(image, mask)


def test_wait_is_refused_before_start_and_from_the_pipelines_own_thread(tmp_path):
    pipe = edgefill.Pipeline(_Frames(n=3), "rect:10,10,20,20", [CallbackSink(lambda r: None)], backend="opencv-telea",
                             stats_json=tmp_path / "s.json")
    with pytest.raises(ConfigError, match="has not started: call start"):
        pipe.wait()
    assert not (tmp_path / "s.json").exists()  # an empty statistics file was written
    pipe.run()
    errors = []

    def waits(result):
        try:
            own.wait(1)
        except ConfigError as exc:
            errors.append(str(exc))

    own = edgefill.Pipeline(_Frames(n=3), "rect:10,10,20,20", [CallbackSink(waits)], backend="opencv-telea")
    own.run()  # it hung for good before
    assert errors and "waits for itself" in errors[0]


@pytest.mark.parametrize("kwargs, says", [
    (dict(sinks=CallbackSink(lambda r: None)), "sinks must be a list of sinks"),
    (dict(sinks=[print]), "each sink needs a write"),
    (dict(inpainter="nano"), "inpainter must be an edgefill.Inpainter"),
    (dict(fallback=edgefill.Inpainter), "fallback must be a backend name"),
    (dict(capture={"loop": True}), "capture must be an edgefill.capture.CaptureOptions"),
])
def test_parts_of_the_wrong_kind_are_config_errors(kwargs, says):
    args = {"sinks": [CallbackSink(lambda r: None)], "backend": "opencv-telea", **kwargs}
    sinks = args.pop("sinks")
    with pytest.raises(ConfigError, match=says):
        edgefill.Pipeline(_Frames(), "rect:10,10,20,20", sinks, **args)


@pytest.mark.parametrize("priority", ["5", None, float("nan")])
def test_a_backend_priority_must_be_a_number(priority):
    with pytest.raises(ConfigError, match="priority must be a finite number"):
        register_backend("test-bad", priority=priority)
    assert "test-bad" not in _REGISTRY
    edgefill.list_backends()  # still works
