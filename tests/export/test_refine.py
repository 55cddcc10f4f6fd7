"""The full-resolution refinement head (model.RefineHead): what it computes, how weights with and
without it load, fine-tune and export."""

import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.model import RefineHead, build_model, conv_macs  # noqa: E402
from edgefill_export.train import TrainConfig, init_from, param_groups  # noqa: E402
from edgefill_export.weights import CheckpointError, load_checkpoint, load_weights, save_checkpoint, save_weights  # noqa: E402


def test_a_fresh_head_changes_nothing_until_trained():
    head = RefineHead(8)
    fill, masked, valid = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16), torch.ones(2, 1, 16, 16)
    assert torch.equal(head(fill, masked, valid), fill)


def test_the_head_sees_a_7x7_full_resolution_neighbourhood():
    """A trained head corrects a fill pixel from the known pixels up to 3 px away (three 3x3
    layers), not from farther."""
    torch.manual_seed(0)
    head = RefineHead(8)
    torch.nn.init.normal_(head.conv3.weight, std=0.1)
    valid = torch.ones(1, 1, 32, 32)
    valid[..., 14:18, 14:18] = 0
    fill, masked = torch.randn(1, 3, 32, 32), torch.randn(1, 3, 32, 32) * valid
    with torch.no_grad():
        base = head(fill, masked, valid)
        changed = {}
        for dist in (3, 4):
            m2 = masked.clone()
            m2[..., 15, 17 + dist] += 1.0  # a known pixel `dist` px right of hole pixel (15, 17)
            changed[dist] = (head(fill, m2, valid) - base)[..., 15, 17].abs().max().item()
    assert changed[3] > 1e-4 and changed[4] == 0.0, changed


def test_weights_record_the_head_width(tmp_path):
    for width in (0, 8):
        save_weights(build_model("nano", refine=width), tmp_path / "w.safetensors")
        net = load_weights(tmp_path / "w.safetensors")
        assert net.config.refine == width and (net.refine is not None) == bool(width)


def test_fine_tuning_adds_the_head_to_weights_without_it_but_not_the_reverse(tmp_path):
    plain = build_model("nano", context=True)
    save_weights(plain, tmp_path / "plain.safetensors")
    net = build_model("nano", context=True, refine=8)
    init_from(net, tmp_path / "plain.safetensors")
    x, valid = torch.rand(1, 3, 64, 64), (torch.rand(1, 1, 64, 64) > 0.3).float()
    with torch.no_grad():
        torch.testing.assert_close(net.eval()(x, valid), plain.eval()(x, valid))  # starts as the old network
    save_weights(net, tmp_path / "ref.safetensors")
    with pytest.raises(SystemExit, match="--refine 8"):
        init_from(build_model("nano", context=True), tmp_path / "ref.safetensors")
    with pytest.raises(SystemExit, match="--refine 8"):
        init_from(build_model("nano", context=True, refine=16), tmp_path / "ref.safetensors")


def test_resuming_with_another_head_is_a_clear_error(tmp_path):
    net = build_model("nano", refine=8)
    save_checkpoint(tmp_path / "c.safetensors", net, torch.optim.Adam(net.parameters()), {"step": 1})
    plain = build_model("nano")
    with pytest.raises(CheckpointError, match="--refine"):
        load_checkpoint(tmp_path / "c.safetensors", plain, torch.optim.Adam(plain.parameters()))


def test_the_head_learns_at_the_new_block_rate_and_counts_in_the_macs():
    groups = param_groups(build_model("nano", refine=8), TrainConfig(context_lr_mult=10.0))
    assert len(groups) == 2 and groups[1]["lr_mult"] == 10.0 and len(groups[1]["params"]) == 6
    extra = conv_macs(build_model("nano", refine=8), 64, 64) - conv_macs(build_model("nano"), 64, 64)
    assert extra == (7 * 8 + 8 * 8 + 8 * 3) * 9 * 64 * 64


def test_exported_head_parses_everywhere_and_stays_float_in_int8(tmp_path):
    import onnx

    from edgefill.trt.onnx_support import check
    from edgefill_export.onnx_export import OnnxFromTorch
    from edgefill_export.quantize import _cpu_float_nodes, feature_conv_nodes

    net = build_model("nano", context=True, refine=8)
    torch.nn.init.normal_(net.refine.conv3.weight, std=0.05)
    for form in ("transposed", "phase-nhwc"):  # the GPU/TensorRT form and the CPU default, parity-checked
        path = OnnxFromTorch(net, tmp_path / f"{form}.onnx", check_size=(128, 192), decoder_form=form,
                             cast_at_io=form == "transposed")()
        model = onnx.load(str(path))
        head = [n.name for n in model.graph.node if n.name.startswith("/net/refine/")]
        assert sum(n.op_type == "Conv" for n in model.graph.node if n.name in head) == 3
        assert not set(head) & set(feature_conv_nodes(model))
        assert set(head) <= set(_cpu_float_nodes(model))
        if form == "transposed":
            assert check(model, "10.3") == []
            problems = check(model, "8.6")
            assert all(p.startswith("network I/O") or "to ONNX type 2 " in p for p in problems), problems
