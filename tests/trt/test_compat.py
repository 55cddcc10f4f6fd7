"""The version dispatch of edgefill.trt.compat, against fake TensorRT objects of each API generation."""

import types

import numpy as np
import pytest

from edgefill.errors import BackendUnavailableError
from edgefill.trt import compat


def fake_trt(version):
    t = types.SimpleNamespace(__version__=version)
    t.TensorIOMode = types.SimpleNamespace(INPUT="in", OUTPUT="out")
    t.MemoryPoolType = types.SimpleNamespace(WORKSPACE="ws")
    t.NetworkDefinitionCreationFlag = types.SimpleNamespace(EXPLICIT_BATCH=0)
    t.float32, t.float16, t.int8, t.int32, t.bool, t.uint8 = "f32", "f16", "i8", "i32", "b", "u8"
    return t


class Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def f(*a, **k):
            self.calls.append((name, a, k))
            return True
        return f


class LegacyEngine:
    """TensorRT 8.2-style engine: 3 bindings per profile, 2 profiles."""

    num_bindings = 6
    num_optimization_profiles = 2
    names = ["image", "mask", "output"]

    def get_binding_index(self, name):
        return self.names.index(name)

    def get_binding_name(self, i):
        return self.names[i % 3]

    def binding_is_input(self, i):
        return i % 3 < 2

    def get_binding_dtype(self, i):
        return "u8"

    def get_profile_shape(self, profile, index):
        return [(1, 64, 64, 3), (1, 256, 256, 3), (1, 256 * (profile + 1), 256 * (profile + 1), 3)]


class ModernEngine:
    num_io_tensors = 3
    num_optimization_profiles = 2
    names = ["image", "mask", "output"]

    def get_tensor_name(self, i):
        return self.names[i]

    def get_tensor_mode(self, name):
        return "in" if name != "output" else "out"

    def get_tensor_dtype(self, name):
        return "f32"

    def get_tensor_profile_shape(self, name, profile):
        return [(1, 64, 64, 3), (1, 256, 256, 3), (1, 512, 512, 3)]


@pytest.mark.parametrize("v,expected", [("8.2.1.8", (8, 2, 1)), ("10.3.0", (10, 3, 0)), ("8.6.1.post1", (8, 6, 1))])
def test_version(v, expected):
    assert compat.version(fake_trt(v)) == expected


def test_legacy_bindings_api_uses_profile_offsets():
    trt, engine, ctx = fake_trt("8.2.1"), LegacyEngine(), Recorder()
    assert compat.io_tensors(trt, engine) == [("image", True, "u8"), ("mask", True, "u8"), ("output", False, "u8")]
    assert compat.profile_shapes(trt, engine, "image", 1)[2] == (1, 512, 512, 3)
    compat.set_input_shape(trt, engine, ctx, "mask", (1, 128, 128, 1), profile=1)
    assert ctx.calls[-1] == ("set_binding_shape", (4, (1, 128, 128, 1)), {})  # index 1 + 3 * profile 1
    compat.execute(trt, engine, ctx, {"image": 10, "mask": 11, "output": 12}, profile=1, stream_handle=7)
    name, _, kw = ctx.calls[-1]
    assert name == "execute_async_v2" and kw == {"bindings": [0, 0, 0, 10, 11, 12], "stream_handle": 7}


def test_modern_tensor_api():
    trt, engine, ctx = fake_trt("10.3.0"), ModernEngine(), Recorder()
    assert [n for n, _, _ in compat.io_tensors(trt, engine)] == ["image", "mask", "output"]
    compat.set_input_shape(trt, engine, ctx, "image", (1, 256, 384, 3), profile=1)
    assert ctx.calls[-1] == ("set_input_shape", ("image", (1, 256, 384, 3)), {})
    compat.execute(trt, engine, ctx, {"image": 1, "mask": 2, "output": 3}, profile=0, stream_handle=9)
    assert [c[0] for c in ctx.calls[-4:]] == ["set_tensor_address"] * 3 + ["execute_async_v3"]
    assert ctx.calls[-1][1] == (9,)


def test_workspace_and_optimization_level_by_version():
    cfg = Recorder()
    compat.set_workspace(fake_trt("8.6.1"), cfg, 1 << 20)
    assert cfg.calls[-1] == ("set_memory_pool_limit", ("ws", 1 << 20), {})
    old = types.SimpleNamespace()
    compat.set_workspace(fake_trt("8.2.1"), old, 1 << 20)
    assert old.max_workspace_size == 1 << 20
    lvl = types.SimpleNamespace()
    assert compat.set_optimization_level(fake_trt("8.6.1"), lvl, 4) and lvl.builder_optimization_level == 4
    assert not compat.set_optimization_level(fake_trt("8.5.2"), types.SimpleNamespace(), 4)


def test_network_flags():
    assert compat.network_flags(fake_trt("8.5.2")) == 1
    assert compat.network_flags(fake_trt("10.3.0")) == 0


def test_numpy_dtypes():
    trt = fake_trt("10.3.0")
    assert compat.numpy_dtype(trt, "u8") is np.uint8 and compat.numpy_dtype(trt, "f32") is np.float32
    with pytest.raises(TypeError):
        compat.numpy_dtype(trt, "bf16")


def test_missing_tensorrt_says_where_it_comes_from(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(BackendUnavailableError, match="JetPack"):
        compat.import_trt()
