import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.model import MODEL_CONFIGS, PartialConv2d, build_model, count_parameters  # noqa: E402


@pytest.mark.parametrize("name,target", [("nano", 0.4e6), ("lite", 1.6e6)])
def test_parameter_budget(name, target):
    n = count_parameters(build_model(name))
    assert 0.85 * target <= n <= 1.15 * target, n


def _randomize_bn(model):
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.2)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def test_fuse_is_exact():
    torch.manual_seed(0)
    model = build_model("nano").eval()
    _randomize_bn(model)
    x = torch.rand(2, 3, 128, 192) * 2 - 1
    valid = (torch.rand(2, 1, 128, 192) > 0.4).float()
    with torch.no_grad():
        before = model(x, valid)
        model.fuse()
        after = model(x, valid)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_all_hole_input_gives_no_nan_in_low_precision(dtype):
    model = build_model("nano").eval().fuse().to(dtype)
    x = torch.zeros(1, 3, 128, 128, dtype=dtype)
    valid = torch.zeros(1, 1, 128, 128, dtype=dtype)
    with torch.no_grad():
        y = model(x, valid)
    assert torch.isfinite(y).all()


def test_renormalisation_uses_clamp_not_epsilon():
    layer = PartialConv2d(1, 1, 3)
    valid = torch.zeros(1, 1, 8, 8)
    valid[0, 0, 4, 4] = 1
    ratio, new_valid = layer.mask_update(valid)
    assert ratio.max().item() == 9.0  # window 9 / one valid pixel
    assert ratio[0, 0, 0, 0].item() == 0.0 and new_valid.sum().item() == 9


def test_mask_branch_stays_float32_under_autocast():
    layer = PartialConv2d(3, 4, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ratio, new_valid = layer.mask_update(torch.ones(1, 1, 8, 8))
    assert ratio.dtype == torch.float32 and new_valid.dtype == torch.float32


@pytest.mark.parametrize("name", list(MODEL_CONFIGS))
def test_output_shape(name):
    m = build_model(name).eval()
    with torch.no_grad():
        y = m(torch.zeros(1, 3, 128, 192), torch.ones(1, 1, 128, 192))
    assert y.shape == (1, 3, 128, 192)


def _layer_outputs(model, x, valid):
    """(output, mask) of every encoder layer."""
    outs, m = [], valid
    x = x * valid
    for layer in model.encoders:
        x, m = layer(x, m)
        outs.append((x, m))
    return outs


def test_every_layer_output_is_zero_outside_its_mask():
    """The invariant that lets a layer skip the input multiply X*M of the paper."""
    torch.manual_seed(1)
    model = build_model("nano").eval()
    for p in model.parameters():
        p.data.normal_(0, 0.2)
    valid = torch.ones(1, 1, 128, 128)
    valid[..., 20:110, 10:100] = 0
    with torch.no_grad():
        outs = _layer_outputs(model, torch.rand(1, 3, 128, 128) * 2 - 1, valid)
    assert any((m == 0).any() for _, m in outs)  # the hole reaches several levels
    for y, m in outs:
        assert torch.all(y[(m == 0).expand_as(y)] == 0)


def test_partial_convolution_matches_the_explicit_formula():
    """act(W^T (X*M) + b) * sum(1)/sum(M), zero where the window sees no valid pixel."""
    torch.manual_seed(2)
    layer = PartialConv2d(4, 6, 3, stride=1, bn=False, act="leaky")
    layer.bias.data.normal_()
    valid = (torch.rand(1, 1, 16, 16) > 0.5).float()
    valid[..., 4:12, 4:12] = 0
    x = torch.randn(1, 4, 16, 16) * valid
    with torch.no_grad():
        y, new_valid = layer(x, valid)
        msum = torch.nn.functional.conv2d(valid, torch.ones(1, 1, 3, 3), padding=1)
        z = torch.nn.functional.conv2d(x * valid, layer.conv.weight, layer.bias, padding=1)
        ref = torch.where(msum > 0, torch.nn.functional.leaky_relu(z, 0.2) * 9 / msum.clamp(min=1), 0.0)
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(new_valid, (msum > 0).float())


@pytest.mark.parametrize("image,valid,match", [
    ((1, 3, 130, 128), (1, 1, 130, 128), "130x128; height and width must be non-zero multiples of 64"),
    ((1, 3, 96, 128), (1, 1, 96, 128), "multiples of 64"),
    ((1, 3, 128, 128), (1, 1, 128, 64), "valid must be"),
    ((1, 4, 128, 128), (1, 1, 128, 128), "image must be"),
])
def test_bad_input_sizes_are_one_clear_error(image, valid, match):
    """A size that is not a multiple of 2**depth failed inside torch.cat ("The size of tensor a (4)
    must match the size of tensor b (3)"), naming neither the input nor the multiple."""
    model = build_model("nano").eval()
    with torch.no_grad(), pytest.raises(ValueError, match=match):
        model(torch.zeros(image), torch.ones(valid))


def test_one_mask_may_serve_a_batch():
    model = build_model("nano").eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 64, 64), torch.ones(1, 1, 64, 64)).shape == (2, 3, 64, 64)
