"""An .engine file given where the runtime loads ONNX (ONNX Runtime, the quality benchmark, or
`auto` on a machine without TensorRT) is one ModelError that says what the file is and what to
give instead; it was ONNX Runtime's "INVALID_PROTOBUF : Protobuf parsing failed", or for a path
that does not exist "unknown model ... give a shipped name"."""

from __future__ import annotations

import pytest

from edgefill.errors import ModelError
from edgefill.models import resolve_model


@pytest.mark.parametrize("exists", [True, False])
def test_an_engine_path_is_named_a_tensorrt_engine(tmp_path, exists):
    engine = tmp_path / "lite.fp16.engine"
    if exists:
        engine.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="is a TensorRT engine, which only the tensorrt backend runs"):
        resolve_model(engine)


def test_auto_without_tensorrt_says_so_for_an_engine(tmp_path):
    import edgefill
    from edgefill.backends.tensorrt import TensorRTBackend

    if TensorRTBackend.is_available():
        pytest.skip("TensorRT is installed here: auto would load the engine with it")
    engine = tmp_path / "lite.engine"
    engine.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="TensorRT engine"):
        edgefill.Inpainter(model=str(engine))


def test_an_onnx_file_is_still_loaded(tmp_path):
    from edgefill.models import MODELS_DIR

    assert resolve_model(MODELS_DIR / "nano.onnx").path.name == "nano.onnx"
