import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.model import build_model  # noqa: E402
from edgefill_export.subpixel import InferenceUNet, subpixel_weight  # noqa: E402


def test_subpixel_kernel_equals_upsample_then_conv():
    torch.manual_seed(0)
    w = torch.randn(5, 4, 3, 3)
    x = torch.randn(2, 4, 7, 9)
    ref = torch.nn.functional.conv2d(torch.nn.functional.interpolate(x, scale_factor=2.0, mode="nearest"), w, padding=1)
    got = torch.nn.functional.pixel_shuffle(torch.nn.functional.conv2d(x, subpixel_weight(w), padding=1), 2)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


def test_subpixel_kernel_rejects_other_sizes():
    with pytest.raises(ValueError, match="3x3"):
        subpixel_weight(torch.zeros(2, 2, 5, 5))


@pytest.mark.parametrize("layers", [0, 1, 3, 6])
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


def test_rewrite_needs_folded_batchnorm():
    with pytest.raises(ValueError, match="fuse"):
        InferenceUNet(build_model("nano").eval(), 2)
