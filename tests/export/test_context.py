"""The global-context bottleneck (model.GlobalContext): what it computes, how weights with and
without it load, fine-tune and export."""

import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.model import GlobalContext, build_model  # noqa: E402
from edgefill_export.train import TrainConfig, init_from, param_groups  # noqa: E402
from edgefill_export.weights import CheckpointError, load_checkpoint, load_weights, save_checkpoint, save_weights  # noqa: E402


def test_context_adds_a_function_of_the_masked_mean_and_validates_everything():
    torch.manual_seed(0)
    block = GlobalContext(4)
    torch.nn.init.normal_(block.fc2.weight)
    valid = torch.zeros(1, 1, 4, 4)
    valid[..., :2, :] = 1
    x = torch.randn(1, 4, 4, 4) * valid  # zero outside valid, as every layer leaves it
    y, m = block(x, valid)
    mean = x[..., :2, :].mean(dim=(2, 3), keepdim=True)  # over the 8 valid positions only
    torch.testing.assert_close(y - x, block.fc2(torch.relu(block.fc1(mean))).expand_as(x))
    assert torch.equal(m, torch.ones_like(valid))


def test_a_fresh_context_block_changes_nothing_until_trained():
    block = GlobalContext(4)
    x, valid = torch.randn(2, 4, 3, 3), torch.ones(2, 1, 3, 3)
    assert torch.equal(block(x, valid)[0], x)


def test_hole_centres_see_pixels_beyond_the_receptive_field():
    """Far from its border, a large hole's fill depends on the whole image only with the block."""
    torch.manual_seed(0)
    outs = {}
    for context in (False, True):
        net = build_model("nano", context=context).eval()
        if context:
            torch.nn.init.normal_(net.context.fc2.weight, std=1.0)
        valid = torch.ones(1, 1, 512, 512)
        valid[..., 64:448, 64:448] = 0  # centre (256, 256) is 192 px from the nearest known pixel
        x = torch.zeros(1, 3, 512, 512)
        x2 = x.clone()
        x2[..., :48, :48] = 1.0  # change only a far corner
        with torch.no_grad():
            a, b = net(x * valid, valid), net(x2 * valid, valid)
        outs[context] = (a - b)[..., 250:262, 250:262].abs().max().item()
    # exactly nothing reaches the centre without the block (random weights: a small effect with it)
    assert outs[False] == 0.0 and outs[True] > 0.0, outs


def test_weights_record_whether_they_have_the_block(tmp_path):
    for context in (False, True):
        save_weights(build_model("nano", context=context), tmp_path / "w.safetensors")
        assert (load_weights(tmp_path / "w.safetensors").context is not None) == context


def test_fine_tuning_adds_the_block_to_weights_without_it_but_not_the_reverse(tmp_path):
    plain = build_model("nano")
    save_weights(plain, tmp_path / "plain.safetensors")
    net = build_model("nano", context=True)
    init_from(net, tmp_path / "plain.safetensors")
    torch.testing.assert_close(net.encoders[1].conv.weight, plain.encoders[1].conv.weight)
    save_weights(net, tmp_path / "ctx.safetensors")
    with pytest.raises(SystemExit, match="--context"):
        init_from(build_model("nano"), tmp_path / "ctx.safetensors")


def test_resuming_with_the_other_architecture_is_a_clear_error(tmp_path):
    net = build_model("nano", context=True)
    opt = torch.optim.Adam(net.parameters())
    save_checkpoint(tmp_path / "c.safetensors", net, opt, {"step": 1})
    plain = build_model("nano")
    with pytest.raises(CheckpointError, match="--context"):
        load_checkpoint(tmp_path / "c.safetensors", plain, torch.optim.Adam(plain.parameters()))


def test_the_block_learns_faster_than_the_rest():
    groups = param_groups(build_model("nano", context=True), TrainConfig(context_lr_mult=10.0))
    assert len(groups) == 2 and groups[1]["lr_mult"] == 10.0 and len(groups[1]["params"]) == 4
    assert len(param_groups(build_model("nano"), TrainConfig())) == 1


def test_exported_context_graph_parses_everywhere_and_stays_float_in_int8(tmp_path):
    import onnx

    from edgefill.trt.onnx_support import check
    from edgefill_export.onnx_export import OnnxFromTorch
    from edgefill_export.quantize import _cpu_float_nodes, feature_conv_nodes

    net = build_model("nano", context=True)
    torch.nn.init.normal_(net.context.fc2.weight, std=0.05)
    path = OnnxFromTorch(net, tmp_path / "ctx.onnx", check_size=(128, 192), decoder_form="transposed",
                         cast_at_io=True)()  # parity-checked; the TensorRT form
    model = onnx.load(str(path))
    ctx = [n.name for n in model.graph.node if n.name.startswith("/net/context/")]
    assert any(n.op_type == "ReduceSum" for n in model.graph.node if n.name in ctx)
    assert check(model, "10.3") == []
    problems = check(model, "8.6")
    assert all(p.startswith("network I/O") or "to ONNX type 2 " in p for p in problems), problems  # uint8 I/O (see io="float32")
    assert not set(ctx) & set(feature_conv_nodes(model))
    assert set(ctx) <= set(_cpu_float_nodes(model))
