import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from edgefill.models import MODELS_DIR  # noqa: E402
from edgefill_export.model import build_model  # noqa: E402
from edgefill_export.onnx_export import ExportError, OnnxFromTorch, sample_inputs  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("onnx") / "nano.onnx"
    return OnnxFromTorch(build_model("nano"), out)()


def _run(path, image, mask):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"image": image, "mask": mask})[0]


def test_graph_is_valid_opset17_with_metadata(exported):
    model = onnx.load(str(exported))
    onnx.checker.check_model(model)
    assert {o.domain or "ai.onnx": o.version for o in model.opset_import}["ai.onnx"] == 17
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["edgefill.multiple"] == "64" and meta["edgefill.model"] == "nano"
    types = {i.name: i.type.tensor_type.elem_type for i in model.graph.input}
    assert types == {"image": onnx.TensorProto.UINT8, "mask": onnx.TensorProto.UINT8}
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8


def test_sidecar(exported):
    side = json.loads(exported.with_suffix(".json").read_text())
    import hashlib

    assert side["sha256"] == hashlib.sha256(exported.read_bytes()).hexdigest()
    assert side["opset"] == 17 and side["multiple"] == 64 and side["model"] == "nano"
    assert side["parity"]["max_abs_diff_uint8"] <= 2
    assert {"torch", "onnx"} <= set(side["versions"])
    # the graph's decoders are ConvTransposes: fewer executed MACs than the training form
    assert side["decoder_form"] == "transposed"
    assert 0.5 < side["conv_macs_per_input_pixel"] / side["model_conv_macs_per_input_pixel"] < 0.9
    ops = {n.op_type for n in onnx.load(str(exported)).graph.node}
    assert "ConvTranspose" in ops and "Resize" in ops and "Concat" not in ops  # Resize: the 1-channel masks only


@pytest.mark.parametrize("hw", [(128, 192), (384, 256), (64, 64)])
def test_dynamic_shapes_and_exact_known_pixels(exported, hw):
    image, mask = sample_inputs(*hw, seed=5)
    out = _run(exported, image, mask)
    assert out.shape == image.shape and out.dtype == np.uint8
    keep = np.repeat(mask == 0, 3, axis=-1)
    assert np.array_equal(out[keep], image[keep])


def test_nan_weights_fail_the_export(tmp_path):
    model = build_model("nano")
    with torch.no_grad():
        model.decoders[-1].conv.weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(ExportError, match="NaN"):
        OnnxFromTorch(model, tmp_path / "bad.onnx")()
    assert not (tmp_path / "bad.onnx").exists()


@pytest.mark.parametrize("name", ["nano", "lite", "lite-surface"])
def test_shipped_onnx_matches_fresh_export_of_shipped_weights(tmp_path, name):
    from edgefill_export.ship import SHIPPED_DECODER_FORM

    fresh = OnnxFromTorch(MODELS_DIR / f"{name}.safetensors", tmp_path / f"{name}.onnx", decoder_form=SHIPPED_DECODER_FORM)()
    assert json.loads((MODELS_DIR / f"{name}.json").read_text())["decoder_form"] == SHIPPED_DECODER_FORM
    shipped = onnx.load(str(MODELS_DIR / f"{name}.onnx"))
    new = onnx.load(str(fresh))
    a = {t.name: onnx.numpy_helper.to_array(t) for t in shipped.graph.initializer}
    b = {t.name: onnx.numpy_helper.to_array(t) for t in new.graph.initializer}
    assert sorted(a) == sorted(b)
    # The BatchNorm folding rounds differently by a float32 ulp on some CPUs (the shipped files
    # were exported on another VM of this kind): equal to rounding, which a graph exported from
    # other weights (a retrained model) is far from.
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6, err_msg=k)
    assert [n.op_type for n in shipped.graph.node] == [n.op_type for n in new.graph.node]
    image, mask = sample_inputs(256, 256, seed=9)
    old_out, new_out = _run(MODELS_DIR / f"{name}.onnx", image, mask), _run(fresh, image, mask)
    diff = np.abs(old_out.astype(np.int16) - new_out.astype(np.int16))
    assert diff.max() <= 1 and np.count_nonzero(diff) <= 1e-3 * diff.size  # uint8 rounding of those ulps only


def test_fill_smoothing_blurs_the_hole_only_and_exports(tmp_path):
    """fill_passes > 0: the graph's hole pixels are that many 3x3 means (over the window's
    pixels inside the image) of the composited image; known pixels stay exact; the ONNX graph
    agrees with PyTorch and records the passes; weights carry them through save and load."""
    import cv2

    from edgefill_export.onnx_export import prepare, torch_reference
    from edgefill_export.weights import load_weights, save_weights

    torch.manual_seed(0)
    net = build_model("nano", fill_passes=2)
    save_weights(net, tmp_path / "n.safetensors")
    assert load_weights(tmp_path / "n.safetensors").config.fill_passes == 2
    image, mask = sample_inputs(128, 192, seed=3)
    sharp = build_model("nano")
    sharp.load_state_dict(net.state_dict())
    plain = torch_reference(prepare(sharp), image, mask)[0]
    smooth = torch_reference(prepare(load_weights(tmp_path / "n.safetensors")), image, mask)[0]
    hole = mask[0, ..., 0] > 0
    assert np.array_equal(smooth[~hole], image[0][~hole])
    # OpenCV's normalised box filter twice; at the border it averages the inside pixels only
    ref = plain.astype(np.float64)
    ones = np.ones(ref.shape[:2])
    for _ in range(2):
        ref = cv2.boxFilter(ref, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
        ref /= cv2.boxFilter(ones, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)[..., None]
    assert np.abs(smooth[hole].astype(float) - ref[hole]).max() <= 0.51
    assert np.abs(smooth[hole].astype(int) - plain[hole].astype(int)).mean() > 1  # it did change the fill
    path = OnnxFromTorch(tmp_path / "n.safetensors", tmp_path / "n.onnx")()
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["edgefill.fill_passes"] == "2"
    assert json.loads(path.with_suffix(".json").read_text())["fill_passes"] == 2
    assert np.abs(_run(path, image, mask).astype(int) - smooth[None].astype(int)).max() <= 2


def test_fill_passes_out_of_range_is_refused(tmp_path):
    from edgefill_export.weights import CheckpointError, load_weights, save_weights

    with pytest.raises(ValueError, match="fill_passes"):
        build_model("nano", fill_passes=-1)
    save_weights(build_model("nano"), tmp_path / "n.safetensors", {"fill_passes": "lots"})
    with pytest.raises(CheckpointError, match="fill_passes"):
        load_weights(tmp_path / "n.safetensors")


def test_export_leaves_the_callers_model_unfused(tmp_path):
    """Exporting an in-memory model must not fold its BatchNorm or switch it to eval mode: the
    caller may train on or save it afterwards (a fused model's weights no longer load)."""
    from edgefill_export.weights import load_weights, save_weights

    torch.manual_seed(0)
    net = build_model("nano")
    bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    OnnxFromTorch(net, tmp_path / "n.onnx", check_size=(128, 128))()
    assert net.training and sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == bn > 0
    save_weights(net, tmp_path / "n.safetensors")
    load_weights(tmp_path / "n.safetensors")
    # a second export of the same model describes the same model
    again = OnnxFromTorch(net, tmp_path / "m.onnx", check_size=(128, 128))()
    sides = [json.loads(p.with_suffix(".json").read_text()) for p in (tmp_path / "n.onnx", again)]
    assert sides[0]["parameters"] == sides[1]["parameters"] and sides[0]["sha256"] == sides[1]["sha256"]


def test_parity_check_refuses_nan_in_the_onnx_output():
    """A float32-I/O graph whose output is NaN in the hole must fail the export (NaN compares
    false with every threshold, so it passed the parity checks and reached the sidecar)."""
    import io

    from edgefill_export.onnx_export import check_parity, prepare

    torch.manual_seed(0)
    graph = prepare(build_model("nano"), io="float32")
    image, mask = (a.astype(np.float32) for a in sample_inputs(128, 128))

    class NanInHoles(torch.nn.Module):
        def forward(self, image, mask):
            return torch.where(mask > 0.5, torch.full_like(image, float("nan")), image)

    buf = io.BytesIO()
    torch.onnx.export(NanInHoles(), (torch.from_numpy(image), torch.from_numpy(mask)), buf, input_names=["image", "mask"],
                      output_names=["output"], opset_version=17, dynamo=False)
    with pytest.raises(ExportError, match="NaN"):
        check_parity(buf.getvalue(), graph, image, mask)


def test_float32_io_sidecar_states_the_graphs_mask_threshold(tmp_path):
    """The float32-I/O graph's hole is mask > 0.5; its sidecar said > 0."""
    torch.manual_seed(0)
    path = OnnxFromTorch(build_model("nano"), tmp_path / "f.onnx", check_size=(128, 128), io="float32")()
    assert json.loads(path.with_suffix(".json").read_text())["inputs"]["mask"][-1] == "float32, > 0.5 = hole"
    image = sample_inputs(128, 128)[0].astype(np.float32)
    out = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"image": image, "mask": np.full((1, 128, 128, 1), 0.4, np.float32)})[0]
    assert np.array_equal(out, image)  # 0.4 is not a hole
