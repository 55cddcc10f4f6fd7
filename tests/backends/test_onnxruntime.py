import pytest

pytest.importorskip("onnxruntime")

from edgefill import create_backend  # noqa: E402


def _spinning(backend) -> str:
    return backend.session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")


def test_worker_threads_do_not_spin_by_default_and_can():
    assert _spinning(create_backend("onnxruntime", model="nano")) == "0"
    assert _spinning(create_backend("onnxruntime", model="nano", spin=True)) == "1"
