"""Fake tensorrt 10.3 (tests only; see ../README.md): an "engine" is the bytes b"FAKE" + JSON
{"profiles": [[min_h, min_w, max_h, max_w], ...]}; running it fills the hole with grey 128
and copies every other pixel, reading and writing the fake pycuda memory."""

import json

import numpy as np

from pycuda import driver as _cuda

__version__ = "10.3.0"
float32, float16, int8, int32, bool, uint8 = "f32", "f16", "i8", "i32", "b", "u8"  # noqa: A001


class TensorIOMode:
    INPUT, OUTPUT = "in", "out"


class Logger:
    WARNING, ERROR = 2, 1

    def __init__(self, severity=2):
        self.severity = severity


class Runtime:
    def __init__(self, logger):
        self.logger = logger

    def deserialize_cuda_engine(self, data):
        if not data.startswith(b"FAKE"):
            return None
        return _Engine(json.loads(data[4:].decode())["profiles"])


class _Engine:
    num_io_tensors = 3
    _names = ("image", "mask", "output")

    def __init__(self, profiles):
        self.profiles = profiles
        self.num_optimization_profiles = len(profiles)
        self.contexts = []

    def get_tensor_name(self, i):
        return self._names[i]

    def get_tensor_mode(self, name):
        return TensorIOMode.OUTPUT if name == "output" else TensorIOMode.INPUT

    def get_tensor_dtype(self, name):
        return uint8

    def get_tensor_profile_shape(self, name, k):
        lo_h, lo_w, hi_h, hi_w = self.profiles[k]
        ch = 1 if name == "mask" else 3
        return [(1, lo_h, lo_w, ch), (1, hi_h, hi_w, ch), (1, hi_h, hi_w, ch)]

    def create_execution_context(self):
        ctx = _Context(self)
        self.contexts.append(ctx)
        return ctx


class _Context:
    def __init__(self, engine):
        self.engine, self.profile, self.shapes, self.addresses, self.runs = engine, None, {}, {}, 0

    def set_optimization_profile_async(self, k, stream_handle):
        self.profile = k
        return True

    def set_input_shape(self, name, shape):
        lo_h, lo_w, hi_h, hi_w = self.engine.profiles[self.profile]
        if not (lo_h <= shape[1] <= hi_h and lo_w <= shape[2] <= hi_w):
            return False  # TensorRT logs the error and refuses
        self.shapes[name] = tuple(shape)
        return True

    def set_tensor_address(self, name, ptr):
        self.addresses[name] = ptr
        return True

    def execute_async_v3(self, stream_handle):
        if self.shapes.get("image") is None or self.shapes["image"][1:3] != self.shapes.get("mask", (0, 0, 0))[1:3]:
            return False
        _, h, w, _ = self.shapes["image"]
        mem = _cuda.MEMORY
        image = mem[self.addresses["image"]][: h * w * 3].reshape(h, w, 3)
        hole = mem[self.addresses["mask"]][: h * w].reshape(h, w) > 0
        out = np.where(hole[..., None], np.uint8(128), image)
        mem[self.addresses["output"]][: h * w * 3] = out.ravel()
        self.runs += 1
        return True
