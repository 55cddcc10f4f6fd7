"""Every TensorRT name edgefill uses exists in the real bindings of the versions that use it.

The name lists in tests/data come from the ``tensorrt.so`` of the bindings wheels
(``python -m edgefill_export.trt_names``). A name counts as present when it is a string
of the library or the tail of one (the linker merges a string into a longer one that ends
with it, e.g. "Builder" into "IExprBuilder").
"""

import ast
from pathlib import Path

import pytest

from edgefill.trt.compat import TRT_API, parse_version

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
WHEELS = {parse_version(p.stem.split("-", 1)[1]): p for p in DATA.glob("tensorrt-*.names")}
TRT_MODULES = [ROOT / "edgefill" / "trt" / "compat.py", ROOT / "edgefill" / "trt" / "build.py",
               ROOT / "edgefill" / "backends" / "tensorrt.py"]
# Attributes in those modules that are not TensorRT's: Python, numpy, pycuda, pathlib and our own.
NOT_TRT = {
    "Path", "append", "copy", "decode", "dtype", "encode", "get", "handle", "hexdigest", "info", "is_dir",
    "is_file", "is_symlink", "items", "join", "keys", "mkdir", "name", "nbytes", "parent", "read_bytes",
    "read_text", "reshape", "runtime", "shape", "sort", "suffix", "values", "warning", "with_suffix", "stat", "st_size",
    "exists", "strerror", "glob", "unlink",
    # numpy / pycuda
    "Device", "Stream", "astype", "bool_", "clip", "compute_capability", "copyto", "float16", "float32", "free",
    "init", "int32", "int8", "mem_alloc", "memcpy_dtoh_async", "memcpy_htod_async", "pagelocked_empty",
    "synchronize", "uint8", "util", "find_spec", "driver", "ndarray", "Context", "Error", "MULTIPROCESSOR_COUNT",
    "detach", "device_attribute", "get_attribute", "pop", "push", "retain_primary_context", "contextmanager",
    "suppress", "base", "_infer_lock",
    "__version__",  # set by the tensorrt package's __init__.py, not by the bindings library
    "JSONDecodeError", "__init__", "add", "close", "dumps", "findall", "getLogger", "index", "loads", "replace",
    # edgefill's own
    "board", "buckets", "cuda", "dla_core", "engine", "engine_path", "gpu_fallback", "import_trt", "io_tensors",
    "check_builder_version", "logger", "Lock",
    "multiple", "numpy_dtype", "onnx_path", "optimization_level", "precision", "profiles",
    "sidecar", "slots", "stream", "tensors", "timing_cache", "trt", "use_dla", "workspace_mb", "config",
    "dtypes", "execute", "network_flags", "set_input_shape", "set_optimization_level", "set_workspace",
    "version", "path", "sha256", "model", "refill", "_current", "_load", "_run", "context", "cuda_context", "device",
    "host", "max_hw", "min_hw", "profile_shapes", "takes", "accepts_model", "reason",
}


def names_of(version):
    text = WHEELS[version].read_text().split()
    return set(text)


def present(name, names):
    return name in names or any(s.endswith(name) for s in names)


def test_name_lists_are_there():
    assert (8, 6, 1) in WHEELS and (10, 3, 0) in WHEELS


def _versions_for(range_key):
    """The wheel versions a range applies to. Ranges below 8.6 (8.2-8.5 APIs, deprecated but still
    present in 8.6) are checked against 8.6.1, the oldest bindings published as a wheel."""
    if range_key == "all":
        return list(WHEELS)
    op, v = range_key[:2] if range_key[1] == "=" else range_key[:1], range_key.lstrip("<>=")
    bound = parse_version(v)
    inside = [w for w in WHEELS if (w < bound if op == "<" else w >= bound)]
    return inside or [min(WHEELS)]


@pytest.mark.parametrize("range_key", list(TRT_API))
def test_declared_names_exist_in_real_bindings(range_key):
    missing = {}
    for version in _versions_for(range_key):
        names = names_of(version)
        gone = [n for n in TRT_API[range_key] if not present(n, names)]
        if gone:
            missing[".".join(map(str, version))] = gone
    assert not missing, f"TensorRT names used for {range_key} are missing from the bindings: {missing}"


def test_version_specific_names_really_differ():
    """The checker can fail: APIs removed in 10 are absent from the 10.3 list."""
    names10 = names_of((10, 3, 0))
    for n in ("execute_async_v2", "set_binding_shape", "get_binding_index", "max_workspace_size"):
        assert not present(n, names10), n
    assert present("execute_async_v3", names10)


def _attributes(path):
    tree = ast.parse(path.read_text())
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}


def test_every_tensorrt_attribute_in_our_code_is_declared():
    declared = {n for names in TRT_API.values() for n in names}
    used = set().union(*(_attributes(p) for p in TRT_MODULES))
    undeclared = sorted(used - declared - NOT_TRT)
    assert not undeclared, f"declare these TensorRT names in edgefill/trt/compat.py TRT_API (or in NOT_TRT): {undeclared}"
