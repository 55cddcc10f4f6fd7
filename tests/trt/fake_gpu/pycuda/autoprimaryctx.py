"""Fake pycuda.autoprimaryctx: like the real one, current only in the importing thread."""

from . import driver

driver.init()
context = driver.Device(0).retain_primary_context()
context.push()
