"""Fake pycuda (tests only; see ../README.md)."""
