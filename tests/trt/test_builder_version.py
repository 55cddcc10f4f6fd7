"""A build on TensorRT 11 or later (which removes the FP16/INT8 and precision-constraint builder
flags edgefill's engines are built with) is one ConfigError before anything is parsed, where it
was an AttributeError traceback on BuilderFlag.FP16."""

from __future__ import annotations

import pytest

from edgefill.errors import ConfigError

from .test_backend_fake import fake_gpu  # noqa: F401 (fixture)
from .test_build_fake import make_bundle


def test_tensorrt_11_is_refused_before_the_build(fake_gpu, tmp_path, monkeypatch):  # noqa: F811
    import tensorrt

    from edgefill.trt.build import build_for_bundle

    monkeypatch.setattr(tensorrt, "__version__", "11.0.0")
    monkeypatch.delattr(tensorrt.BuilderFlag, "FP16")  # as TensorRT 11 removed it
    with pytest.raises(ConfigError, match=r"TensorRT 11\.0\.0 builds strongly typed networks only"):
        build_for_bundle(make_bundle(tmp_path / "b"))
    assert tensorrt.STATE["built"] == []


def test_tensorrt_10_still_builds(fake_gpu, tmp_path):  # noqa: F811
    from edgefill.trt.build import build_for_bundle

    assert build_for_bundle(make_bundle(tmp_path / "b")).is_file()
