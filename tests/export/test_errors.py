"""The export toolchain's errors belong to the package's one exception hierarchy."""

from __future__ import annotations

import importlib

import pytest

from edgefill.errors import EdgeFillError

pytest.importorskip("torch", reason="the export toolchain needs torch (pip install edgefill[export])")


@pytest.mark.parametrize("module,name", [("calibration", "CalibrationError"), ("fetch", "FetchError"),
                                         ("onnx_export", "ExportError"), ("pack", "PackError"),
                                         ("quantize", "AccuracyGateError"), ("weights", "CheckpointError")])
def test_each_export_error_is_an_edgefill_error(module, name):
    """`except edgefill.EdgeFillError` let these through (they derived from Exception), so a caller
    of the Python API had to know six more classes to report a bad input as one line."""
    cls = getattr(importlib.import_module(f"edgefill_export.{module}"), name)
    assert issubclass(cls, EdgeFillError)
