"""Fake pycuda.driver: device memory is numpy bytes keyed by a fake address; every call that
needs a CUDA context checks the calling thread's context stack, as the real driver does."""

import itertools
import threading

import numpy as np


class Error(Exception):
    pass


class LogicError(Error):
    pass


class RuntimeError(Error):  # noqa: A001 (pycuda's name: pycuda._driver.RuntimeError)
    pass


_local = threading.local()
_addresses = itertools.count(0x1000, 0x1000)
MEMORY = {}  # address -> np.uint8 buffer
STATE = {"initialised": False, "fail_copies": False, "retained": 0, "released": 0, "multiprocessors": 8,
         "no_device": False}


def _stack():
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def _require_context():
    if not STATE["initialised"]:
        raise LogicError("cuInit has not been called")
    if not _stack():
        raise LogicError("explicit_context_dependent failed: invalid device context - no currently active context?")


def init():
    if STATE["no_device"]:  # e.g. a container started without the NVIDIA runtime
        raise RuntimeError("cuInit failed: no CUDA-capable device is detected")
    STATE["initialised"] = True


class device_attribute:  # noqa: N801 (pycuda's name)
    MULTIPROCESSOR_COUNT = "MULTIPROCESSOR_COUNT"


class Context:
    def push(self):
        _stack().append(self)

    @staticmethod
    def pop():
        if not _stack():
            raise LogicError("cannot pop: the context stack is empty")
        _stack().pop()

    def detach(self):
        STATE["released"] += 1


class Device:
    def __init__(self, ordinal):
        if not STATE["initialised"]:
            raise LogicError("cuInit has not been called")
        self.ordinal = ordinal

    def compute_capability(self):
        return (8, 7)

    def name(self):
        return "Fake Orin"

    def get_attribute(self, attr):
        return {device_attribute.MULTIPROCESSOR_COUNT: STATE["multiprocessors"]}[attr]

    def retain_primary_context(self):
        STATE["retained"] += 1
        return Context()


class Stream:
    def __init__(self):
        _require_context()
        self.handle = 7

    def synchronize(self):
        _require_context()


class DeviceAllocation:
    def __init__(self, nbytes):
        self.address = next(_addresses)
        MEMORY[self.address] = np.zeros(nbytes, np.uint8)

    def __int__(self):
        return self.address

    def free(self):
        _require_context()
        del MEMORY[self.address]


def mem_alloc(nbytes):
    _require_context()
    return DeviceAllocation(nbytes)


def pagelocked_empty(shape, dtype):
    _require_context()
    return np.empty(shape, dtype)


def _copy_check(stream):
    _require_context()
    if STATE["fail_copies"]:
        raise LogicError("cuMemcpyHtoDAsync failed: an illegal memory access was encountered")


def memcpy_htod_async(dest, src, stream=None):
    _copy_check(stream)
    raw = np.ascontiguousarray(src).view(np.uint8).ravel()
    MEMORY[int(dest)][: raw.size] = raw


def memcpy_dtoh_async(dest, src, stream=None):
    _copy_check(stream)
    raw = dest.view(np.uint8).reshape(-1)
    raw[:] = MEMORY[int(src)][: raw.size]
