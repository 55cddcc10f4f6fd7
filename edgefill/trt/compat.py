"""Every TensorRT version difference, in one place (TensorRT 8.2 through 10.x).

Nothing here runs without TensorRT; the module itself imports nothing heavy. Each
function takes the ``tensorrt`` module (``trt``) or TensorRT objects and picks the API
of the running version:

| concern | TensorRT < 8.5 (8.2 = JetPack 4.6.1) | 8.5 - 10.x |
| --- | --- | --- |
| I/O tensors | bindings: ``num_bindings``, ``get_binding_name`` ... | ``num_io_tensors``, ``get_tensor_name``, ``get_tensor_mode`` |
| shapes | ``context.set_binding_shape(index, shape)`` | ``context.set_input_shape(name, shape)`` |
| execution | ``execute_async_v2(bindings, stream_handle)`` | ``set_tensor_address`` + ``execute_async_v3(stream_handle)`` |
| workspace | ``config.max_workspace_size`` (< 8.4) | ``config.set_memory_pool_limit(WORKSPACE, n)`` (>= 8.4) |
| explicit batch | creation flag ``EXPLICIT_BATCH`` (< 10) | default (10.x; the flag is deprecated) |
| optimisation level | n/a | ``config.builder_optimization_level`` (>= 8.6) |

:data:`TRT_API` lists every TensorRT attribute that edgefill touches, by the version range
that uses it. ``tests/trt/test_api_surface.py`` checks each name against the real
``tensorrt.so`` of the bindings wheels (8.6.1 and 10.3), and checks by parsing our source
that no TensorRT attribute is used without being listed here.
"""

from __future__ import annotations

import re

from ..errors import BackendUnavailableError, EngineBuildError, InferenceError

#: Attributes used on the tensorrt module and its objects, by version range.
TRT_API: dict[str, tuple[str, ...]] = {
    "all": (
        "Logger", "WARNING", "ERROR", "Runtime", "Builder", "OnnxParser", "BuilderFlag", "FP16", "INT8",
        "OBEY_PRECISION_CONSTRAINTS", "GPU_FALLBACK", "DeviceType", "DLA", "float32", "float16", "int8",
        "uint8", "int32", "bool", "LayerType", "CONSTANT", "create_network", "create_builder_config",
        "create_optimization_profile", "add_optimization_profile", "set_shape", "parse", "num_errors", "get_error",
        "num_layers", "get_layer", "num_inputs", "get_input", "num_outputs", "get_output", "name", "dtype", "type",
        "precision", "set_output_type", "set_flag", "default_device_type", "DLA_core", "num_DLA_cores",
        "platform_has_fast_fp16", "platform_has_fast_int8", "build_serialized_network", "create_timing_cache",
        "set_timing_cache", "get_timing_cache", "serialize", "deserialize_cuda_engine", "create_execution_context",
        "set_optimization_profile_async", "num_optimization_profiles", "NetworkDefinitionCreationFlag",
    ),
    "<8.4": ("max_workspace_size",),
    ">=8.4": ("set_memory_pool_limit", "MemoryPoolType", "WORKSPACE"),
    "<8.5": ("num_bindings", "get_binding_name", "binding_is_input", "get_binding_dtype", "get_binding_index",
             "set_binding_shape", "execute_async_v2", "get_profile_shape"),
    ">=8.5": ("num_io_tensors", "get_tensor_name", "get_tensor_mode", "get_tensor_dtype", "TensorIOMode", "INPUT",
              "set_input_shape", "set_tensor_address", "execute_async_v3", "get_tensor_profile_shape"),
    "<10": ("EXPLICIT_BATCH",),
    ">=8.6": ("builder_optimization_level",),
}


def import_trt():
    """The tensorrt module, or a BackendUnavailableError that says where TensorRT comes from."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise BackendUnavailableError(
            "tensorrt", f"tensorrt cannot be imported ({exc}); on a Jetson it comes with JetPack "
            "(python3-libnvinfer), it is not installed from PyPI", "trt") from exc
    return trt


#: the newest TensorRT major version whose builder API edgefill's engines use: TensorRT 11 removes
#: BuilderFlag.FP16, INT8 and OBEY_PRECISION_CONSTRAINTS (strongly typed networks only), which
#: set the precision and keep the mask path in FP32
MAX_BUILDER_MAJOR = 10


_LOGGERS: dict = {}  # id(tensorrt module) -> (module, its one Logger)


def logger(trt):
    """The process's one ``trt.Logger`` (WARNING): TensorRT before 8.4.1 keeps a single global
    logger pointer ("TensorRT maintains only a single logger pointer at any given time"), so a
    Logger made per Runtime or Builder (a second camera's backend, a rebuild) could be freed
    while TensorRT still logs through it."""
    held = _LOGGERS.get(id(trt))
    if held is None or held[0] is not trt:
        held = _LOGGERS[id(trt)] = (trt, trt.Logger(trt.Logger.WARNING))
    return held[1]


def check_builder_version(trt) -> None:
    """An :class:`~edgefill.errors.EngineBuildError` (a ConfigError) before a build on a TensorRT newer than :data:`MAX_BUILDER_MAJOR`,
    where the first missing flag was an ``AttributeError`` traceback after the ONNX parse."""
    if version(trt)[0] > MAX_BUILDER_MAJOR:
        raise EngineBuildError(f"TensorRT {trt.__version__} builds strongly typed networks only (no FP16/INT8 builder "
                          f"flags); edgefill builds engines with TensorRT 8.2 to {MAX_BUILDER_MAJOR}.x. Run the "
                          "bundle's ONNX on the onnxruntime backend instead")


def parse_version(text: str) -> tuple[int, int, int]:
    nums = [int(x) for x in re.findall(r"\d+", text)[:3]]
    return tuple(nums + [0] * (3 - len(nums)))  # type: ignore[return-value]


def version(trt) -> tuple[int, int, int]:
    return parse_version(trt.__version__)


def network_flags(trt) -> int:
    if version(trt) >= (10, 0, 0):
        return 0  # explicit batch is the only mode
    return 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)


def set_workspace(trt, config, nbytes: int) -> None:
    if version(trt) >= (8, 4, 0):
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, nbytes)
    else:
        config.max_workspace_size = nbytes


def set_optimization_level(trt, config, level: int) -> bool:
    """Builder optimisation level 0-5 where the version has it (8.6+); False when it doesn't."""
    if version(trt) >= (8, 6, 0):
        config.builder_optimization_level = level
        return True
    return False


def io_tensors(trt, engine) -> list[tuple[str, bool, object]]:
    """(name, is_input, dtype) of every network input/output (profile 0's bindings before 8.5)."""
    if version(trt) >= (8, 5, 0):
        out = []
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            out.append((name, engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT, engine.get_tensor_dtype(name)))
        return out
    per_profile = engine.num_bindings // max(1, engine.num_optimization_profiles)
    return [(engine.get_binding_name(i), engine.binding_is_input(i), engine.get_binding_dtype(i))
            for i in range(per_profile)]


def profile_shapes(trt, engine, name: str, profile: int) -> tuple[tuple[int, ...], ...]:
    """(min, opt, max) shapes of input ``name`` in optimisation profile ``profile``."""
    if version(trt) >= (8, 5, 0):
        shapes = engine.get_tensor_profile_shape(name, profile)
    else:
        per_profile = engine.num_bindings // engine.num_optimization_profiles
        shapes = engine.get_profile_shape(profile, engine.get_binding_index(name) + profile * per_profile)
    return tuple(tuple(int(x) for x in s) for s in shapes)


def set_input_shape(trt, engine, context, name: str, shape: tuple[int, ...], profile: int) -> bool:
    """Set an input's shape on ``context``; False when TensorRT refuses it (outside the profile)."""
    if version(trt) >= (8, 5, 0):
        return bool(context.set_input_shape(name, shape))
    per_profile = engine.num_bindings // engine.num_optimization_profiles
    return bool(context.set_binding_shape(engine.get_binding_index(name) + profile * per_profile, shape))


def execute(trt, engine, context, addresses: dict[str, int], profile: int, stream_handle: int) -> None:
    """Enqueue one inference with device buffers ``addresses`` (name -> device pointer)."""
    if version(trt) >= (8, 5, 0):
        for name, ptr in addresses.items():
            context.set_tensor_address(name, ptr)
        if not context.execute_async_v3(stream_handle):
            raise InferenceError("TensorRT execute_async_v3 failed (see TensorRT's log above)")
        return
    n = engine.num_bindings
    per_profile = n // engine.num_optimization_profiles
    bindings = [0] * n
    for name, ptr in addresses.items():
        bindings[engine.get_binding_index(name) + profile * per_profile] = ptr
    if not context.execute_async_v2(bindings=bindings, stream_handle=stream_handle):
        raise InferenceError("TensorRT execute_async_v2 failed (see TensorRT's log above)")


def numpy_dtype(trt, dtype):
    import numpy as np

    table = {trt.float32: np.float32, trt.float16: np.float16, trt.int8: np.int8, trt.int32: np.int32,
             trt.bool: np.bool_}
    if hasattr(trt, "uint8"):
        table[trt.uint8] = np.uint8
    if dtype not in table:
        raise TypeError(f"unsupported TensorRT dtype {dtype}")
    return table[dtype]
