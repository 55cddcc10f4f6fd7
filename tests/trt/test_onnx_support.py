"""The exported graphs fit the ONNX parser of every TensorRT version our profiles target."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from onnx import TensorProto, helper  # noqa: E402

from edgefill.profiles import DeviceProfile, list_profiles  # noqa: E402
from edgefill.trt import onnx_support  # noqa: E402
from edgefill_export.bundle import trt_onnx_flavour  # noqa: E402
from edgefill_export.model import build_model  # noqa: E402
from edgefill_export.onnx_export import OnnxFromTorch  # noqa: E402
from edgefill_export.quantize import QuantizeOnnx  # noqa: E402

from ..conftest import natural_image  # noqa: E402

TRT_VERSIONS = sorted({DeviceProfile.load(n).board.tensorrt for n in list_profiles() if DeviceProfile.load(n).board.tensorrt})


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    torch.manual_seed(0)
    net = build_model("nano", fill_passes=2)  # the shipped graphs end with the fill smoothing
    d = tmp_path_factory.mktemp("trt")
    out = {}
    for io, opset, cast_at_io in {trt_onnx_flavour(v) for v in TRT_VERSIONS + ["10.3"]} | {("uint8", 17, False)}:
        stem = f"{io}{opset}{'c' if cast_at_io else ''}"
        fp32 = OnnxFromTorch(net, d / f"{stem}.onnx", io=io, opset=opset, cast_at_io=cast_at_io)()
        rng = np.random.default_rng(0)
        pairs = [(natural_image(128, 128, seed=i), (rng.random((128, 128)) > 0.7).astype(np.uint8) * 255) for i in range(4)]
        int8 = QuantizeOnnx("int8", pairs)(fp32, d / f"{stem}.int8.onnx")
        out[(io, opset, cast_at_io)] = (onnx.load(str(fp32)), onnx.load(str(int8)))
    return out


def test_profiles_target_known_versions():
    assert {"8.2", "8.5", "8.6"} <= set(TRT_VERSIONS)


@pytest.mark.parametrize("version", TRT_VERSIONS + ["10.3"])
def test_bundle_graphs_parse_in_target_version(graphs, version):
    for model in graphs[trt_onnx_flavour(version)]:
        assert onnx_support.check(model, version) == []


def test_default_graph_is_not_for_tensorrt(graphs):
    """The ONNX Runtime graph transposes its uint8 tensors; no TensorRT takes that."""
    fp32, int8 = graphs[("uint8", 17, False)]
    problems = " ".join(onnx_support.check(fp32, "8.2"))
    assert "opset 17 > 13" in problems and "network I/O" in problems
    for model in (fp32, int8):
        problems = " ".join(onnx_support.check(model, "10.3"))
        assert "uint8 input 'image' feeds Transpose" in problems and "uint8 input 'mask' feeds Transpose" in problems
        assert "uint8 output 'output' comes from Transpose" in problems


def test_cast_at_io_graph_computes_the_same(graphs, tmp_path):
    """The TensorRT form (casts first and last) gives the ONNX Runtime form's output exactly."""
    import onnxruntime as ort

    rng = np.random.default_rng(1)
    image = natural_image(128, 192, seed=5)[None]
    mask = ((rng.random((1, 128, 192, 1)) > 0.6) * 255).astype(np.uint8)
    outs = []
    for key in (("uint8", 17, False), ("uint8", 17, True)):
        sess = ort.InferenceSession(graphs[key][0].SerializeToString(), providers=["CPUExecutionProvider"])
        outs.append(sess.run(None, {"image": image, "mask": mask})[0])
    assert outs[0].dtype == outs[1].dtype == np.uint8 and np.array_equal(outs[0], outs[1])


def _tiny(op, attrs=None, opset=13, zero_point=None):
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    inits = []
    if op == "QuantizeLinear":
        inits = [helper.make_tensor("s", TensorProto.FLOAT, [], [0.1]),
                 helper.make_tensor("z", TensorProto.UINT8, [], [zero_point])]
        node = helper.make_node(op, ["x", "s", "z"], ["y"], name="q")
    else:
        node = helper.make_node(op, ["x"], ["y"], name="n", **(attrs or {}))
    g = helper.make_graph([node], "g", [inp], [out], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def test_checker_catches_problems():
    assert "needs TensorRT >= 8.5" in " ".join(onnx_support.check(_tiny("Reciprocal"), "8.2"))
    assert onnx_support.check(_tiny("Reciprocal"), "8.6") == []
    assert "not in edgefill's TensorRT support table" in " ".join(onnx_support.check(_tiny("NonZero"), "10.3"))
    assert "to ONNX type 7" in " ".join(onnx_support.check(_tiny("Cast", {"to": 7}), "8.6"))
    assert "zero point" in " ".join(onnx_support.check(_tiny("QuantizeLinear", zero_point=128), "8.6"))
    assert "INT8 (signed)" in " ".join(onnx_support.check(_tiny("QuantizeLinear", zero_point=0), "8.6"))
    pool = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 0}
    assert onnx_support.check(_tiny("AveragePool", pool), "8.2") == []
    assert "ceil_mode" in " ".join(onnx_support.check(_tiny("AveragePool", {**pool, "ceil_mode": 1}), "8.6"))
