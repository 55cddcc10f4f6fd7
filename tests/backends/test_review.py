"""Review of the backends: each test failed on the code before it."""

import logging
import threading

import numpy as np
import pytest

from edgefill import create_backend
from edgefill.backends import base
from edgefill.backends.onnxruntime import OnnxRuntimeBackend
from edgefill.errors import ConfigError, ModelError

ORT = pytest.mark.skipif(not OnnxRuntimeBackend.is_available(), reason="onnxruntime not installed")


@ORT
def test_closing_onnxruntime_from_another_thread_waits_for_the_inference_in_flight(monkeypatch):
    """A pipeline closing a shared backend while a camera thread was between infer()'s checks
    and the run took the session away under it: AttributeError: 'NoneType' object has no
    attribute 'run'. close() now waits for the inference (as tensorrt's does)."""
    b = create_backend("onnxruntime", model="nano")
    real = base.check_pair
    closer = threading.Thread(target=b.close)

    def check_then_close(*args):
        real(*args)
        closer.start()
        closer.join(0.5)  # close() waits for this inference; before, it finished at once

    monkeypatch.setattr(base, "check_pair", check_then_close)
    image, mask = np.zeros((64, 64, 3), np.uint8), np.full((64, 64), 255, np.uint8)
    assert b.infer(image, mask).shape == (64, 64, 3)
    closer.join()
    assert b.session is None and b._closed


@ORT
@pytest.mark.parametrize("providers", [None, 5, [3], ["CPUExecutionProvider", None]])
def test_providers_that_are_no_names_are_one_config_error(providers):
    """None or a number was a TypeError traceback ('NoneType' object is not iterable)."""
    with pytest.raises(ConfigError, match="providers must be"):
        create_backend("onnxruntime", model="nano", providers=providers)


@ORT
def test_a_provider_with_its_options_is_taken_as_onnx_runtime_takes_it():
    """ONNX Runtime takes (name, options) pairs, e.g. ("CUDAExecutionProvider", {"device_id": 1}) on
    a two-GPU box; the pair was refused as a provider 'not available here'."""
    b = create_backend("onnxruntime", model="nano", providers=[("CPUExecutionProvider", {})])
    assert b.provider == "CPUExecutionProvider"
    with pytest.raises(ConfigError, match=r"providers \['NoSuchExecutionProvider'\] are not available"):
        create_backend("onnxruntime", model="nano", providers=[("NoSuchExecutionProvider", {"device_id": 1})])


def test_auto_reports_an_option_no_backend_takes(caplog):
    """With ``auto`` (Inpainter's default) a misspelled option (thread= for threads=) was swallowed
    silently by whichever backend loaded; a named backend warned. An option another backend takes
    (radius, for the OpenCV fallback) is not reported."""
    with caplog.at_level(logging.WARNING):
        create_backend("auto", model="nano", thread=2, radius=3).close()
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warned) == 1 and "no backend takes option(s) thread (" in warned[0], warned
    assert "threads" in warned[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        create_backend("auto", model="nano", threads=1, radius=3).close()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("name", [["onnxruntime"], {"onnxruntime": 1}])
def test_a_backend_given_as_a_list_is_an_unknown_backend(name):
    """Inpainter(backend=["onnxruntime"]) was a TypeError traceback (unhashable type: 'list')."""
    import edgefill
    from edgefill.errors import UnknownBackendError

    with pytest.raises(UnknownBackendError, match="choose one of: auto"):
        edgefill.Inpainter(backend=name)
    with pytest.raises(UnknownBackendError):
        create_backend(name)


def test_a_provider_that_could_not_start_is_warned_of(monkeypatch, caplog):
    """ONNX Runtime drops a requested provider that fails to start (a CUDA build on a machine
    without a usable GPU or cuDNN) and runs on the next one, saying so only in its own log, which
    the backend turns down to errors: a Jetson user asking for CUDA got CPU latency silently."""
    import onnxruntime as ort

    real = ort.InferenceSession

    class CpuOnly:
        def __init__(self, path, so, providers):
            self._s = real(path, so, providers=["CPUExecutionProvider"])

        def get_providers(self):
            return ["CPUExecutionProvider"]

        def __getattr__(self, name):
            return getattr(self._s, name)

    monkeypatch.setattr(ort, "InferenceSession", CpuOnly)
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    with caplog.at_level(logging.WARNING):
        b = create_backend("onnxruntime", model="nano", providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    b.close()
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warned) == 1 and "CUDAExecutionProvider could not start; running on CPUExecutionProvider" in warned[0]
    assert b.input_info.device == "cpu"


def test_spin_that_is_no_bool_is_refused():
    """spin="false" (a string from a config file) turned spinning on: any non-empty string is true."""
    with pytest.raises(ConfigError, match="spin must be True or False, got 'false'"):
        create_backend("onnxruntime", model="nano", spin="false")


def test_a_graph_whose_output_is_not_an_image_of_the_inputs_type_is_refused(tmp_path):
    """Only the inputs were checked: a foreign graph with a float output (or another rank) was cast
    quietly to uint8 or failed in numpy with a traceback at the first frame."""
    onnx = pytest.importorskip("onnx", reason="onnx builds the foreign graph (edgefill[export])")
    from onnx import TensorProto, helper

    def graph(out_type, out_shape):
        nodes = [helper.make_node("Cast", ["image"], ["out"], to=out_type)]
        g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("image", TensorProto.UINT8, [1, "h", "w", 3]),
                                           helper.make_tensor_value_info("mask", TensorProto.UINT8, [1, "h", "w", 1])],
                              [helper.make_tensor_value_info("out", out_type, out_shape)])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        m.metadata_props.add(key="edgefill.multiple", value="64")
        path = tmp_path / f"g{out_type}_{len(out_shape)}.onnx"
        onnx.save(m, str(path))
        return path

    with pytest.raises(ModelError, match=r"output 'out' is tensor\(float\) .*expected a rank-4 tensor of the inputs' "
                                          r"type \(tensor\(uint8\)\)"):
        create_backend("onnxruntime", model=str(graph(TensorProto.FLOAT, [1, "h", "w", 3])))
    create_backend("onnxruntime", model=str(graph(TensorProto.UINT8, [1, "h", "w", 3]))).close()  # the same, in uint8
