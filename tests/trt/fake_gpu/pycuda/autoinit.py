"""Fake pycuda.autoinit (same as autoprimaryctx here)."""

from .autoprimaryctx import context  # noqa: F401
