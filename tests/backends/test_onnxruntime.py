import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from edgefill import create_backend  # noqa: E402


def _spinning(backend) -> str:
    return backend.session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")


def test_worker_threads_do_not_spin_by_default_and_can():
    assert _spinning(create_backend("onnxruntime", model="nano")) == "0"
    assert _spinning(create_backend("onnxruntime", model="nano", spin=True)) == "1"


def test_onnxruntime_failures_become_inference_errors():
    from onnxruntime.capi.onnxruntime_pybind11_state import Fail

    from edgefill.errors import InferenceError

    b = create_backend("onnxruntime", model="nano")

    class Failing:
        def run(self, *a, **k):
            raise Fail("CUDA failure 2: out of memory")

    b.session = Failing()
    image, mask = np.zeros((64, 64, 3), np.uint8), np.full((64, 64), 255, np.uint8)
    with pytest.raises(InferenceError, match="out of memory"):
        b.infer(image, mask)


@pytest.mark.parametrize("threads", [100000, -1, 2.5, "4", True])
def test_a_thread_count_no_machine_has_is_refused(threads):
    """--threads 100000 made ONNX Runtime try to start that many threads: the machine ran out
    (even a shell could not fork) before the run failed."""
    from edgefill.errors import ConfigError

    with pytest.raises(ConfigError, match="threads must be a whole number"):
        create_backend("onnxruntime", model="nano", threads=threads)
    assert create_backend("onnxruntime", model="nano", threads=2) is not None


def test_a_quantised_graph_out_of_its_folder_keeps_its_precision(tmp_path):
    """An INT8 graph copied without its sidecar (out of a bundle, say) was labelled fp32: edgefill
    bench then divided its GFLOP/s by the FP32 GEMM. Its own metadata says int8."""
    import shutil

    from edgefill.models import MODELS_DIR

    shutil.copy(MODELS_DIR / "nano.int8.onnx", tmp_path / "solo.onnx")
    shutil.copy(MODELS_DIR / "nano.onnx", tmp_path / "plain.onnx")
    with create_backend("onnxruntime", model=str(tmp_path / "solo.onnx")) as b:
        assert b.input_info.precision == "int8"
    with create_backend("onnxruntime", model=str(tmp_path / "plain.onnx")) as b:
        assert b.input_info.precision == "fp32"
    with create_backend("onnxruntime", model="nano.int8") as b:  # its sidecar says so too
        assert b.input_info.precision == "int8"
