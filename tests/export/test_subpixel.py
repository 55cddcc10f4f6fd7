import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.model import build_model  # noqa: E402
from edgefill_export.model import conv_macs  # noqa: E402
from edgefill_export.subpixel import DECODER_FORMS, InferenceUNet, executed_macs, subpixel_weight, transposed_weight  # noqa: E402


def test_subpixel_kernel_equals_upsample_then_conv():
    torch.manual_seed(0)
    w = torch.randn(5, 4, 3, 3)
    x = torch.randn(2, 4, 7, 9)
    ref = torch.nn.functional.conv2d(torch.nn.functional.interpolate(x, scale_factor=2.0, mode="nearest"), w, padding=1)
    got = torch.nn.functional.pixel_shuffle(torch.nn.functional.conv2d(x, subpixel_weight(w), padding=1), 2)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


def test_transposed_kernel_equals_upsample_then_conv():
    torch.manual_seed(1)
    w = torch.randn(5, 4, 3, 3)
    x = torch.randn(2, 4, 7, 9)
    ref = torch.nn.functional.conv2d(torch.nn.functional.interpolate(x, scale_factor=2.0, mode="nearest"), w, padding=1)
    got = torch.nn.functional.conv_transpose2d(x, transposed_weight(w), stride=2, padding=1)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


def test_subpixel_kernel_rejects_other_sizes():
    with pytest.raises(ValueError, match="3x3"):
        subpixel_weight(torch.zeros(2, 2, 5, 5))
    with pytest.raises(ValueError, match="3x3"):
        transposed_weight(torch.zeros(2, 2, 5, 5))


@pytest.mark.parametrize("layers", DECODER_FORMS)
def test_inference_unet_is_the_same_function(layers):
    torch.manual_seed(3)
    net = build_model("nano").eval()
    for p in net.parameters():
        p.data.normal_(0, 0.15)
    net.fuse()
    x = torch.rand(2, 3, 128, 192) * 2 - 1
    valid = (torch.rand(2, 1, 128, 192) > 0.3).float()
    valid[..., 20:100, 30:170] = 0
    with torch.no_grad():
        torch.testing.assert_close(InferenceUNet(net, layers)(x, valid), net(x, valid), atol=1e-5, rtol=1e-4)


def test_rewrite_needs_folded_batchnorm_and_a_known_form():
    with pytest.raises(ValueError, match="fuse"):
        InferenceUNet(build_model("nano").eval(), "subpixel")
    with pytest.raises(ValueError, match="unknown decoder form"):
        InferenceUNet(build_model("nano").eval().fuse(), "nope")


def test_executed_macs_count_what_each_form_runs():
    net = build_model("nano").eval().fuse()
    nominal = conv_macs(net, 128, 128)
    assert executed_macs(InferenceUNet(net, "resize"), 128, 128) == nominal
    assert executed_macs(InferenceUNet(net, "subpixel"), 128, 128) == nominal  # zero taps are executed
    ch = net.config.channels
    up_path = sum(ch[len(ch) - 1 - j] * (ch[len(ch) - 2 - j] if j < len(ch) - 1 else 3) * 9 * (128 // 2 ** (len(ch) - 1 - j)) ** 2
                  for j in range(len(ch)))
    assert executed_macs(InferenceUNet(net, "transposed"), 128, 128) == nominal - up_path * 5 // 9
