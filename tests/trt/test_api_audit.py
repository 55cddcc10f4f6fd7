"""Findings of the TensorRT / pycuda API audit, against the fakes in fake_gpu/ (which model
pycuda's clean-up rules from its source, src/cpp/cuda.hpp, and TensorRT's documented returns).

- ``close()`` must free the page-locked host buffers and destroy the CUDA stream while the
  primary context is still held: pycuda cleans either up only in a live context, so after
  ``detach()`` they are skipped silently and stay allocated for the life of the process (the
  primary context is kept by the CUDA runtime that TensorRT uses).
- A CUDA error while *loading* (out of device memory for the buffers, say) is a
  BackendUnavailableError, like an execution context that does not fit, so that ``auto`` goes
  on to the next backend; it was an InferenceError, which ``auto`` does not catch.
- ``build-engine`` on a bundle whose TensorRT ONNX is missing, or on a full disk, gives one
  ModelError line, not an OSError traceback; a timing cache that cannot be written does not
  lose the engine just built.
"""

import errno
import gc
import hashlib
import json

import pytest

import edgefill
from edgefill.errors import BackendUnavailableError, ModelError

from .test_backend_fake import backend, check_fill, fake_gpu, frame, make_engine  # noqa: F401 (fixture)
from .test_build_fake import PROFILES, make_bundle


def test_close_frees_pagelocked_buffers_and_the_stream(fake_gpu, tmp_path):  # noqa: F811
    b = backend(make_engine(tmp_path, [[256, 256, 256, 256], [256, 256, 512, 512]]))
    check_fill(*frame(256, 256), b.infer(*frame(256, 256)))
    assert len(fake_gpu.HOST) == 6 and len(fake_gpu.STREAMS) == 1
    b.close()
    del b
    gc.collect()
    assert fake_gpu.HOST == {}, "page-locked host buffers leaked"
    assert fake_gpu.STREAMS == {}, "CUDA stream leaked"
    assert fake_gpu.MEMORY == {} and fake_gpu._stack() == []


def test_repeated_loads_do_not_accumulate_pinned_memory(fake_gpu, tmp_path):  # noqa: F811
    """A service that reloads its model (a new bundle, a profile change) creates and closes
    backends in one process."""
    path = make_engine(tmp_path, [[256, 256, 256, 256]])
    for _ in range(3):
        with backend(path) as b:
            b.infer(*frame(256, 256))
    gc.collect()
    assert fake_gpu.HOST == {} and fake_gpu.STREAMS == {}


def test_a_failed_load_frees_its_pinned_buffers_too(fake_gpu, tmp_path):  # noqa: F811
    import tensorrt

    tensorrt.STATE["contexts_left"] = 1  # the second profile's context does not fit
    with pytest.raises(BackendUnavailableError):
        backend(make_engine(tmp_path, [[256, 256, 256, 256], [256, 256, 512, 512]]))
    gc.collect()
    assert fake_gpu.HOST == {} and fake_gpu.STREAMS == {} and fake_gpu.MEMORY == {}


def test_out_of_device_memory_while_loading_is_a_backend_error(fake_gpu, tmp_path):  # noqa: F811
    fake_gpu.STATE["fail_alloc"] = True  # cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (pycuda.driver.MemoryError)
    with pytest.raises(BackendUnavailableError, match="out of memory"):
        backend(make_engine(tmp_path, [[256, 256, 256, 256]]))
    assert fake_gpu.MEMORY == {} and fake_gpu._stack() == []
    assert (fake_gpu.STATE["retained"], fake_gpu.STATE["released"]) == (1, 0)


def test_auto_goes_on_when_the_engine_does_not_fit(fake_gpu, tmp_path, caplog):  # noqa: F811
    """``auto`` catches BackendUnavailableError only; the next backend (ONNX Runtime, which cannot
    read a .engine file) is tried, where the InferenceError used to end the walk."""
    fake_gpu.STATE["fail_alloc"] = True
    try:
        edgefill.create_backend("auto", model=str(make_engine(tmp_path, [[256, 256, 256, 256]]))).close()
    except edgefill.errors.EdgeFillError as exc:
        assert not isinstance(exc, edgefill.errors.InferenceError), exc
    assert "backend 'tensorrt' could not start: CUDA error while loading the engine" in caplog.text


def test_cuda_errors_while_running_are_still_inference_errors(fake_gpu, tmp_path):  # noqa: F811
    b = backend(make_engine(tmp_path, [[256, 256, 256, 256]]))
    fake_gpu.STATE["fail_copies"] = True
    with pytest.raises(edgefill.errors.InferenceError, match="illegal memory access"):
        b.infer(*frame(256, 256))
    b.close()


def test_a_bundle_without_its_tensorrt_onnx_is_one_model_error(fake_gpu, tmp_path):  # noqa: F811
    from edgefill.trt.build import build_for_bundle

    bundle = make_bundle(tmp_path / "b")
    (bundle / "model.trt.fp32.onnx").unlink()  # e.g. copied to the board without it
    with pytest.raises(ModelError, match="model.trt.fp32.onnx"):
        build_for_bundle(bundle)


def _disk_full(monkeypatch, which):
    from edgefill.trt import build

    real = build.atomic_write_bytes

    def write(path, data, mode=None):
        if which(path):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data, mode)

    monkeypatch.setattr(build, "atomic_write_bytes", write)


def test_a_full_disk_when_saving_the_engine_is_one_model_error(fake_gpu, tmp_path, monkeypatch):  # noqa: F811
    from edgefill.trt.build import build_for_bundle

    bundle = make_bundle(tmp_path / "b")
    _disk_full(monkeypatch, lambda path: True)
    with pytest.raises(ModelError, match="No space left on device"):
        build_for_bundle(bundle)
    assert not list((bundle / "engines").glob("*.engine"))  # nothing half-written


def test_a_timing_cache_that_cannot_be_written_keeps_the_engine(fake_gpu, tmp_path, monkeypatch):  # noqa: F811
    """The timing cache only speeds up the next build; failing to write it must not throw away
    the engine that took minutes to build."""
    from edgefill.trt.build import EngineConfig, EngineFromOnnx

    onnx = make_bundle(tmp_path / "b") / "model.trt.fp32.onnx"
    _disk_full(monkeypatch, lambda path: path.suffix == ".cache")
    engine = EngineFromOnnx(onnx, EngineConfig(profiles=tuple(PROFILES)), timing_cache=tmp_path / "t.cache")()
    assert engine.startswith(b"FAKE")
    assert hashlib.sha256(engine).hexdigest() and not (tmp_path / "t.cache").exists()
    json.loads(engine[4:])  # the whole engine came back


def test_close_waits_for_an_inference_in_flight(fake_gpu, tmp_path):  # noqa: F811
    """Backends are shared between threads (one per camera); ``close`` from another thread used
    to free the device buffers (and now the page-locked ones) under a running inference: a CUDA
    error or a write into freed pinned memory. It waits for the inference to finish instead."""
    import threading

    b = backend(make_engine(tmp_path, [[256, 256, 256, 256]]))
    running, go, result = threading.Event(), threading.Event(), {}
    original = type(b)._run

    def slow_run(self, slot, image, mask):
        running.set()
        go.wait(10)
        return original(self, slot, image, mask)

    def work():
        try:
            result["out"] = b.infer(*frame(256, 256))
        except Exception as exc:  # reported below
            result["error"] = exc

    type(b)._run = slow_run
    try:
        worker = threading.Thread(target=work)
        worker.start()
        assert running.wait(10)
        closer = threading.Thread(target=b.close)
        closer.start()
        closer.join(0.2)
        go.set()
        worker.join(10)
        closer.join(10)
    finally:
        type(b)._run = original
    assert "error" not in result, result.get("error")
    check_fill(*frame(256, 256), result["out"])
    gc.collect()
    assert fake_gpu.MEMORY == {} and fake_gpu.HOST == {} and fake_gpu.STREAMS == {}
    with pytest.raises(edgefill.errors.InputError, match="closed"):
        b.infer(*frame(256, 256))


def _bundle_with_an_onnx(folder):
    """A bundle that ONNX Runtime can run (its FP32 graph: a copy of the shipped nano) and
    TensorRT builds from its model.trt.fp32.onnx (the fake parser takes anything)."""
    import shutil

    from edgefill.models import MODELS_DIR

    bundle = make_bundle(folder)
    shutil.copy(MODELS_DIR / "nano.onnx", bundle / "model.fp32.onnx")
    shutil.copy(MODELS_DIR / "nano.json", bundle / "model.fp32.json")
    data = json.loads((bundle / "bundle.json").read_text())
    data["precision"] = "fp32"
    data["artifacts"] = {"fp32": {"file": "model.fp32.onnx",
                                  "sha256": hashlib.sha256((bundle / "model.fp32.onnx").read_bytes()).hexdigest()}}
    (bundle / "bundle.json").write_text(json.dumps(data))
    return bundle


@pytest.mark.parametrize("failure", ["tensorrt 11", "no fast int8", "build fails"])
def test_auto_runs_the_bundle_on_onnx_runtime_when_no_engine_can_be_built(fake_gpu, tmp_path, monkeypatch,  # noqa: F811
                                                                          caplog, failure):
    """A build that fails inside the backend (a TensorRT edgefill does not build with, an INT8
    bundle on a GPU without fast INT8, a parse or out-of-memory failure) raised its ConfigError
    or ModelError out of ``auto``, which catches BackendUnavailableError only: the run ended
    where ONNX Runtime could run the bundle's ONNX."""
    pytest.importorskip("onnxruntime", reason="the fallback is ONNX Runtime (edgefill[ort])")
    import tensorrt

    from edgefill.trt import build

    bundle = _bundle_with_an_onnx(tmp_path / "b")
    if failure == "tensorrt 11":
        monkeypatch.setattr(tensorrt, "__version__", "11.0.0")
    elif failure == "no fast int8":
        monkeypatch.setattr(build, "build_for_bundle",
                            lambda *a, **k: (_ for _ in ()).throw(edgefill.errors.EngineBuildError("this GPU has no fast INT8")))
    else:
        monkeypatch.setattr(build, "build_for_bundle",
                            lambda *a, **k: (_ for _ in ()).throw(edgefill.errors.EngineBuildError("TensorRT failed to build")))
    with edgefill.create_backend("auto", model=str(bundle)) as b:
        assert b.name == "onnxruntime"
    assert "backend 'tensorrt' could not start: no engine could be built from" in caplog.text
    with pytest.raises(BackendUnavailableError, match="no engine could be built"):
        edgefill.create_backend("tensorrt", model=str(bundle))
    assert fake_gpu._stack() == []


def test_a_damaged_bundle_is_its_own_error_not_a_fallback(fake_gpu, tmp_path):  # noqa: F811
    """Only a build that fails on the device sends auto on to ONNX Runtime: a bundle whose TensorRT
    graph does not match its sha256 is a ModelError, not a quiet fallback."""
    bundle = _bundle_with_an_onnx(tmp_path / "b")
    (bundle / "model.trt.fp32.onnx").write_bytes(b"tampered")
    with pytest.raises(ModelError, match="does not match its sha256"):
        edgefill.create_backend("auto", model=str(bundle))


def test_the_primary_context_is_retained_once_and_left_current_nowhere(fake_gpu, tmp_path):  # noqa: F811
    """Each load retained the primary context and close() detached it: pycuda's detach of a
    primary context released it without popping it, so it stayed current on the closing thread
    (under an application's own context), and from another thread (a Pipeline's) it released
    nothing. It is retained once per process now, and never detached."""
    import threading

    path = make_engine(tmp_path, [[256, 256, 256, 256]])
    for _ in range(3):
        with backend(path) as b:
            b.infer(*frame(256, 256))
    other = backend(path)
    closer = threading.Thread(target=other.close)
    closer.start()
    closer.join(10)
    assert (fake_gpu.STATE["retained"], fake_gpu.STATE["released"]) == (1, 0)
    assert fake_gpu._stack() == []
