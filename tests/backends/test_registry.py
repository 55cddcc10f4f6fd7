import logging

import pytest

from edgefill import create_backend, list_backends
from edgefill.backends import Availability, backend_class
from edgefill.backends.onnxruntime import OnnxRuntimeBackend
from edgefill.errors import BackendUnavailableError, UnknownBackendError


def test_known_backends_in_priority_order():
    names = list_backends()
    assert names[:2] == ["tensorrt", "onnxruntime"] and {"opencv-telea", "opencv-ns"} <= set(names)


def test_unknown_backend():
    with pytest.raises(UnknownBackendError, match="choose one of"):
        create_backend("tflite")


def test_auto_prefers_onnxruntime_when_present(caplog):
    if not OnnxRuntimeBackend.is_available():
        pytest.skip("onnxruntime not installed")
    with caplog.at_level(logging.INFO):
        b = create_backend("auto", model="nano")
    assert b.name == "onnxruntime"
    assert "using backend 'onnxruntime'" in caplog.text


def test_auto_falls_back_and_logs_why(monkeypatch, caplog):
    monkeypatch.setattr(OnnxRuntimeBackend, "is_available", classmethod(lambda cls: Availability(False, "test says no")))
    with caplog.at_level(logging.INFO):
        b = create_backend("auto", model="nano")
    assert b.name == "opencv-telea"
    assert "skipping backend 'onnxruntime': test says no" in caplog.text


def test_explicit_unavailable_backend_names_the_extra(monkeypatch):
    monkeypatch.setattr(OnnxRuntimeBackend, "is_available", classmethod(lambda cls: Availability(False, "not installed")))
    with pytest.raises(BackendUnavailableError, match=r"edgefill\[ort\]"):
        create_backend("onnxruntime")


def test_missing_onnxruntime_module_gives_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake(name, *a, **k):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(BackendUnavailableError, match=r"edgefill\[ort\]"):
        backend_class("onnxruntime")(model="nano")


def test_auto_skips_tensorrt_for_a_plain_model_quietly(monkeypatch, caplog):
    """On a Jetson, auto with a shipped model name (not a bundle) skipping TensorRT is expected:
    an INFO line, not a WARNING on every start."""
    from edgefill.backends.tensorrt import TensorRTBackend

    if not OnnxRuntimeBackend.is_available():
        pytest.skip("onnxruntime not installed")
    monkeypatch.setattr(TensorRTBackend, "is_available", classmethod(lambda cls: Availability(True)))
    with caplog.at_level(logging.INFO):
        b = create_backend("auto", model="nano")
    assert b.name == "onnxruntime"
    assert "skipping backend 'tensorrt': needs an export bundle" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_misspelled_option_is_reported(caplog):
    if not OnnxRuntimeBackend.is_available():
        pytest.skip("onnxruntime not installed")
    with caplog.at_level(logging.WARNING):
        create_backend("onnxruntime", model="nano", thread=2).close()
        create_backend("opencv-telea", model="lite").close()  # what Inpainter passes every backend: fine
    assert "'onnxruntime' ignores option(s) thread (it takes: model, providers, threads, spin)" in caplog.text
    assert "opencv-telea" not in caplog.text


def test_the_install_hint_is_given_once_and_only_where_installing_helps():
    """A reason that already names the extra (or JetPack, where TensorRT comes from) gets no second
    hint; a TensorRT failure that no install fixes (no CUDA device, a stale engine) gets none."""
    from edgefill.backends.tensorrt import TensorRTBackend

    twice = BackendUnavailableError("onnxruntime", "onnxruntime is not installed (pip install edgefill[ort])", "ort")
    assert str(twice).count("edgefill[ort]") == 1
    jetpack = BackendUnavailableError("tensorrt", "tensorrt cannot be imported; on a Jetson it comes with JetPack", "trt")
    assert "edgefill[trt]" not in str(jetpack)
    assert "(install edgefill[ort])" in str(BackendUnavailableError("onnxruntime", "not installed", "ort"))
    with pytest.raises(BackendUnavailableError) as err:
        TensorRTBackend(model="nano")  # not a bundle: installing nothing helps
    assert "edgefill[trt]" not in str(err.value) and "edgefill export" in str(err.value)
