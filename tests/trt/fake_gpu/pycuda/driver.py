"""Fake pycuda.driver: device memory is numpy bytes keyed by a fake address; every call that
needs a CUDA context checks the calling thread's context stack, as the real driver does.

Page-locked host buffers and streams are modelled as pycuda's C++ classes are (src/cpp/cuda.hpp):
each holds the context current at its creation, and its clean-up (``free()``, or the destructor
when the last reference goes) runs in that context; once the context has been ``detach()``-ed it
is "dead", the clean-up is skipped silently and the memory / stream stays allocated (HOST,
STREAMS), since the primary context outlives this process's hold on it."""

import itertools
import threading

import numpy as np


class Error(Exception):
    pass


class LogicError(Error):
    pass


class RuntimeError(Error):  # noqa: A001 (pycuda's name: pycuda._driver.RuntimeError)
    pass


class MemoryError(Error):  # noqa: A001 (pycuda's name: pycuda._driver.MemoryError, CUDA_ERROR_OUT_OF_MEMORY)
    pass


_local = threading.local()
_addresses = itertools.count(0x1000, 0x1000)
MEMORY = {}  # address -> np.uint8 buffer
HOST = {}  # key -> page-locked host allocation not freed (yet)
STREAMS = {}  # key -> stream not destroyed (yet)
STATE = {"initialised": False, "fail_copies": False, "retained": 0, "released": 0, "multiprocessors": 8,
         "no_device": False, "fail_alloc": False}


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
    valid = True  # False once detached: pycuda's "dead context"

    def __init__(self):
        self.thread = threading.current_thread()  # pycuda's m_thread: where it was retained

    def push(self):
        _stack().append(self)

    @staticmethod
    def pop():
        if not _stack():
            raise LogicError("cannot pop: the context stack is empty")
        _stack().pop()

    def detach(self):
        """pycuda's context::detach of a primary context (src/cpp/cuda.hpp): not current, on the
        thread that retained it, it pushes the context and releases it (cuDevicePrimaryCtxRelease,
        which pops nothing: the context stays on this thread's stack); on another thread it
        releases nothing; either way the object is dead afterwards."""
        if not self.valid:
            raise LogicError("context::detach failed: cannot detach from invalid context")
        current = bool(_stack()) and _stack()[-1] is self
        if current or threading.current_thread() is self.thread:
            if not current:
                _stack().append(self)
            STATE["released"] += 1
        self.valid = False


class _ContextDependent:
    """pycuda's context_dependent: remembers the current context; cleans up only while it lives."""

    registry: dict = {}

    def __init__(self):
        _require_context()
        self._context, self._alive, self._key = _stack()[-1], True, next(_addresses)
        self.registry[self._key] = type(self).__name__  # not the object: that would keep it alive

    def _release(self):
        if self._alive and self._context.valid:  # scoped_context_activation; a dead context: skipped
            del self.registry[self._key]
        self._alive = False

    def __del__(self):
        self._release()


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


class Stream(_ContextDependent):
    registry = STREAMS

    def __init__(self):
        super().__init__()
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
    if STATE["fail_alloc"]:
        raise MemoryError("cuMemAlloc failed: out of memory")
    return DeviceAllocation(nbytes)


class PagelockedHostAllocation(_ContextDependent):
    """The ``base`` of an array from :func:`pagelocked_empty`, as in pycuda."""

    registry = HOST

    def __init__(self, shape, dtype):
        super().__init__()
        self._buffer = np.empty(shape, dtype)
        self.__array_interface__ = self._buffer.__array_interface__

    def free(self):
        if not self._alive:
            raise LogicError("pagelocked_host_allocation::free failed: invalid resource handle")
        self._release()


def pagelocked_empty(shape, dtype):
    return np.asarray(PagelockedHostAllocation(shape, dtype))


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
