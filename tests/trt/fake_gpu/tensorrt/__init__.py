"""Fake tensorrt 10.3 (tests only; see ../README.md): an "engine" is the bytes b"FAKE" + JSON
{"profiles": [[min_h, min_w, max_h, max_w], ...]}; running it fills the hole with grey 128
and copies every other pixel, reading and writing the fake pycuda memory.

The builder (Builder, OnnxParser, IBuilderConfig, timing caches) builds such engines from the
optimisation profiles it is given. Modelled from NVIDIA's API documentation:
- ``IBuilderConfig.set_timing_cache(cache, ignore_mismatch)`` refuses (returns False) a cache
  whose CUDA device properties differ from the current device unless ``ignore_mismatch``, and
  ``get_timing_cache()`` returns None when no cache is set (python/docstrings pyCoreDoc.h);
- ``Runtime.DLA_core`` defaults to -1 and is the DLA core a deserialized engine runs on
  (IRuntime::setDLACore);
- ``ICudaEngine.create_execution_context()`` returns None when TensorRT cannot allocate the
  context's device memory (it logs "OutOfMemory"), see STATE["contexts_left"].
"""

import json

import numpy as np

from pycuda import driver as _cuda

__version__ = "10.3.0"
#: test knobs: how many more execution contexts fit in device memory (None: unlimited),
#: the DLA cores of the device, and every engine built / config used, for inspection
STATE = {"contexts_left": None, "dla_cores": 2, "built": [], "configs": []}
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
        self.DLA_core = -1  # IRuntime::setDLACore: "Defaults to -1"
        self.num_DLA_cores = STATE["dla_cores"]

    def deserialize_cuda_engine(self, data):
        if not data.startswith(b"FAKE"):
            return None
        engine = _Engine(json.loads(data[4:].decode())["profiles"])
        engine.dla_core = self.DLA_core  # the core it executes on is the runtime's
        return engine


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
        if STATE["contexts_left"] is not None:
            if STATE["contexts_left"] <= 0:
                return None  # "Error Code 2: OutOfMemory"; the binding returns None
            STATE["contexts_left"] -= 1
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


# ---- the builder -------------------------------------------------------------------------


class _Enum:
    def __init__(self, *names):
        for n in names:
            setattr(self, n, n)


BuilderFlag = _Enum("FP16", "INT8", "OBEY_PRECISION_CONSTRAINTS", "GPU_FALLBACK")
DeviceType = _Enum("GPU", "DLA")
LayerType = _Enum("CONSTANT", "CONVOLUTION")
MemoryPoolType = _Enum("WORKSPACE")


class NetworkDefinitionCreationFlag:
    EXPLICIT_BATCH = 0


def _device_properties():
    """What a timing cache's verification header records of the device."""
    return {"cc": "8.7", "multiprocessors": _cuda.STATE["multiprocessors"]}


class _TimingCache:
    def __init__(self, device, entries=0):
        self.device, self.entries = device, entries

    def serialize(self):
        return b"TCACHE" + json.dumps({"device": self.device, "entries": self.entries}).encode()


class _Network:
    num_layers = 0
    num_inputs = 2


class OnnxParser:
    def __init__(self, network, logger):
        self.network, self.num_errors = network, 0

    def parse(self, data):
        return True

    def get_error(self, i):
        return "no error"


class _Profile:
    def __init__(self):
        self.shapes = {}

    def set_shape(self, name, min, opt, max):  # noqa: A002 (TensorRT's names)
        self.shapes[name] = (tuple(min), tuple(opt), tuple(max))


class _BuilderConfig:
    def __init__(self):
        self.flags, self.profiles, self.pool, self.cache = set(), [], {}, None
        self.builder_optimization_level = 3
        self.default_device_type, self.DLA_core = DeviceType.GPU, -1

    def set_flag(self, flag):
        self.flags.add(flag)

    def set_memory_pool_limit(self, pool, nbytes):
        self.pool[pool] = nbytes

    def add_optimization_profile(self, profile):
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def create_timing_cache(self, blob):
        blob = bytes(blob)
        if not blob:
            return _TimingCache(_device_properties())
        header = json.loads(blob[len(b"TCACHE"):].decode())
        return _TimingCache(header["device"], header["entries"])

    def set_timing_cache(self, cache, ignore_mismatch):
        if cache.device != _device_properties() and not ignore_mismatch:
            return False  # "A failure will be reported if the CUDA device property ... is different"
        self.cache = cache
        return True

    def get_timing_cache(self):
        return self.cache  # None if no timing cache is set


class Builder:
    platform_has_fast_fp16 = True
    platform_has_fast_int8 = True

    def __init__(self, logger):
        self.logger = logger
        self.num_DLA_cores = STATE["dla_cores"]

    def create_network(self, flags=0):
        return _Network()

    def create_builder_config(self):
        return _BuilderConfig()

    def create_optimization_profile(self):
        return _Profile()

    def build_serialized_network(self, network, config):
        profiles = []
        for p in config.profiles:
            lo, _, hi = p.shapes["image"]
            profiles.append([lo[1], lo[2], hi[1], hi[2]])
        if config.cache is not None:
            config.cache.entries += 1
        STATE["configs"].append(config)
        data = b"FAKE" + json.dumps({"profiles": profiles}).encode()
        STATE["built"].append(data)
        return data
