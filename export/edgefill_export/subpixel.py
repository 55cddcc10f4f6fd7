"""An exact rewrite of the decoder for inference: nearest-upsample + concat + conv becomes two
convolutions and a DepthToSpace, with no full-resolution upsampled tensor at all.

A decoder layer computes ``conv3x3(concat(up2(x), skip))``. The convolution is linear in its
input channels, so it splits into ``conv_up(up2(x)) + conv_skip(skip)``. A 3x3 convolution of
a nearest-upsampled image is a convolution at the *low* resolution with 4x the output
channels, one per output phase (dy, dx), followed by a pixel shuffle: output row ``2i + a``
reads low-resolution rows ``{i-1, i}`` (a = 0) or ``{i, i+1}`` (a = 1), with the taps that
land on the same low-resolution row summed. Zero padding maps to zero padding exactly.

For the last layer of the generator (32 upsampled channels + the 3-channel image -> 3 at full
resolution) this replaces a badly shaped full-resolution convolution (3 output channels),
a 35-channel Concat and a 32-channel Resize with a 32 -> 12 convolution at half resolution,
a 3 -> 3 convolution at full resolution and a DepthToSpace. The multiply-accumulates are the
same; the memory traffic is far smaller (measured in docs/performance.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .model import PartialConv2d, PConvUNet, activate

# For output phase a (0 or 1), the low-resolution offset (0, 1, 2 = -1, 0, +1) each of the
# three full-resolution taps (dy = -1, 0, +1) reads.
_PHASE_TAPS = {0: (0, 1, 1), 1: (1, 1, 2)}


def _check_3x3(weight: torch.Tensor) -> tuple[int, int]:
    """(Cout, Cin) of a 3x3 kernel, the only size the rewrites are derived for."""
    cout, cin, kh, kw = weight.shape
    if (kh, kw) != (3, 3):
        raise ValueError("the sub-pixel rewrite is derived for 3x3 kernels")
    return cout, cin


def _phase_channels(out: torch.Tensor, order: str) -> torch.Tensor:
    """(Cout, 2, 2, Cin, k, k) per-phase kernels -> (4 Cout, Cin, k, k) in ``order``."""
    if order == "dcr":
        out = out.permute(1, 2, 0, 3, 4, 5)
    elif order != "crd":
        raise ValueError(f"order must be crd or dcr, not {order!r}")
    return out.reshape(-1, *out.shape[3:])


def subpixel_weight(weight: torch.Tensor, order: str = "crd") -> torch.Tensor:
    """(Cout, Cin, 3, 3) kernel applied after 2x nearest upsampling -> (4 Cout, Cin, 3, 3)
    kernel at the low resolution whose pixel shuffle gives the same result. ``order``: output
    channel ``c * 4 + a * 2 + b`` (``"crd"``, PyTorch's pixel_shuffle) or ``(a * 2 + b) * Cout + c``
    (``"dcr"``, what :func:`shuffle_nhwc` reads)."""
    cout, cin = _check_3x3(weight)
    out = weight.new_zeros(cout, 2, 2, cin, 3, 3)
    for a, rows in _PHASE_TAPS.items():
        for b, cols in _PHASE_TAPS.items():
            for dy in range(3):
                for dx in range(3):
                    out[:, a, b, :, rows[dy], cols[dx]] += weight[:, :, dy, dx]
    return _phase_channels(out, order)


# Phase form: output row 2i + a reads low-resolution rows {i-1, i} (a = 0) or {i, i+1} (a = 1), so
# a 2x2 kernel per phase suffices. Kernel row k of phase a collects these 3x3 taps dy.
_PHASE2_TAPS = {0: ((0,), (1, 2)), 1: ((0, 1), (2,))}


def phase_weight(weight: torch.Tensor, order: str = "crd") -> torch.Tensor:
    """(Cout, Cin, 3, 3) kernel applied after 2x nearest upsampling -> (4 Cout, Cin, 2, 2) kernel of
    a padding-1 convolution at the low resolution (4/9 of the MACs of :func:`subpixel_weight`).
    Its output z is (H+1) x (W+1); with the phase groups in the order (1 - a, 1 - b), the pixel
    shuffle of z is the upsampled convolution shifted by one pixel: crop one pixel off each side.
    ``order`` as for :func:`subpixel_weight`."""
    cout, cin = _check_3x3(weight)
    out = weight.new_zeros(cout, 2, 2, cin, 2, 2)
    for a, rows in _PHASE2_TAPS.items():
        for b, cols in _PHASE2_TAPS.items():
            for ky in range(2):
                for kx in range(2):
                    for dy in rows[ky]:
                        for dx in cols[kx]:
                            out[:, 1 - a, 1 - b, :, ky, kx] += weight[:, :, dy, dx]
    return _phase_channels(out, order)


def shuffle_nhwc(y: torch.Tensor, channels: int, like: torch.Tensor, extra: int = 0) -> torch.Tensor:
    """Pixel shuffle of a DCR-ordered (N, 4C, H, W) tensor -> (N, C, 2H, 2W) (C = ``channels``), as the
    channels-last permutation it is: ONNX Runtime runs its uint8 convolutions in NHWC, so the
    exported Transpose pair around the shuffle cancels against the layout transposes it inserts,
    and what is left moves blocks of 2C bytes (a DepthToSpace node would be wrapped in two
    extra layout transposes and run element by element). The output's height and width are
    read from ``like`` (the float mask at the output resolution), so that the exported graph
    reads no shape from a uint8 tensor (a DequantizeLinear per Shape node in ONNX Runtime)."""
    c = channels
    h2, w2 = like.shape[-2] + extra, like.shape[-1] + extra
    t = y.permute(0, 2, 3, 1).reshape(-1, h2 // 2, w2 // 2, 2, 2 * c).permute(0, 1, 3, 2, 4)
    return t.reshape(-1, h2, w2, c).permute(0, 3, 1, 2)


# ConvTranspose(kernel 4, stride 2, padding 1) form of the same thing: kernel index k of an
# axis collects the full-resolution taps dy listed here (k odd: output phase 0, k even: phase 1).
_TRANSPOSED_TAPS = {0: (2,), 1: (1, 2), 2: (0, 1), 3: (0,)}


def transposed_weight(weight: torch.Tensor) -> torch.Tensor:
    """(Cout, Cin, 3, 3) kernel applied after 2x nearest upsampling -> (Cin, Cout, 4, 4) kernel
    of a stride-2 ConvTranspose (padding 1) at the low resolution with the same result."""
    cout, cin = _check_3x3(weight)
    out = weight.new_zeros(cin, cout, 4, 4)
    for ky, dys in _TRANSPOSED_TAPS.items():
        for kx, dxs in _TRANSPOSED_TAPS.items():
            for dy in dys:
                for dx in dxs:
                    out[:, :, ky, kx] += weight[:, :, dy, dx].t()
    return out


class SubpixelDecoder(nn.Module):
    """One fused decoder :class:`PartialConv2d` over ``concat(up2(x), skip)``, rewritten."""

    def __init__(self, layer: PartialConv2d, up_channels: int, up: str = "subpixel"):
        super().__init__()
        if layer.bn is not None:
            raise ValueError("fuse the model (fold BatchNorm) before the sub-pixel rewrite")
        w = layer.conv.weight.detach()
        self.transposed = up == "transposed"
        self.nhwc = up.endswith("-nhwc")  # shuffle as an NHWC permutation (DCR channel order)
        self.crop = up.startswith("phase")  # the phase conv's output is one pixel larger all round
        order = "dcr" if self.nhwc else "crd"
        if self.transposed:
            self.up = nn.ConvTranspose2d(up_channels, w.shape[0], 4, 2, 1, bias=False)
            self.up.weight.data = transposed_weight(w[:, :up_channels])
        elif self.crop:
            self.up = nn.Conv2d(up_channels, 4 * w.shape[0], 2, 1, 1, bias=False)
            self.up.weight.data = phase_weight(w[:, :up_channels], order)
        else:
            self.up = nn.Conv2d(up_channels, 4 * w.shape[0], 3, 1, 1, bias=False)
            self.up.weight.data = subpixel_weight(w[:, :up_channels], order)
        self.skip = nn.Conv2d(w.shape[1] - up_channels, w.shape[0], 3, 1, 1, bias=True)
        self.skip.weight.data = w[:, up_channels:].clone()
        self.skip.bias.data = layer.bias.detach().clone()
        self.mask_update = layer.mask_update
        self.act = layer.act

    def forward(self, x: torch.Tensor, skip: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ratio, new_valid = self.mask_update(valid)
        up = self.up(x)
        if not self.transposed:
            extra = 2 if self.crop else 0
            up = shuffle_nhwc(up, self.up.out_channels // 4, valid, extra) if self.nhwc else F.pixel_shuffle(up, 2)
            if self.crop:
                up = up[:, :, 1:-1, 1:-1]
        y = activate(up + self.skip(skip), self.act)
        return y * ratio.to(y.dtype), new_valid


#: Decoder forms of the exported graph, all the same function (docs/performance.md):
#: ``resize``: nearest Resize + Concat + 3x3 conv (the training form);
#: ``subpixel-last``: only the last layer as conv + DepthToSpace;
#: ``subpixel``: every layer as conv + DepthToSpace (fastest INT8 graph in ONNX Runtime);
#: ``transposed``: every layer as a stride-2 ConvTranspose (4/9 of the up-path MACs; fastest FP32);
#: ``subpixel-nhwc``: ``subpixel`` with the shuffle as a channels-last permutation, and the last
#: layer as a ConvTranspose (for the CPU INT8 graph, where that layer stays float);
#: ``phase``: every layer as a padding-1 2x2 conv (4/9 of the MACs) + DepthToSpace + a one-pixel crop;
#: ``phase-nhwc``: ``phase`` with the NHWC shuffle, last layer a ConvTranspose (fastest CPU INT8).
DECODER_FORMS = ("resize", "subpixel-last", "subpixel", "transposed", "subpixel-nhwc", "phase", "phase-nhwc")


class InferenceUNet(nn.Module):
    """The fused generator with its decoders in one of :data:`DECODER_FORMS`; the same
    function as ``net`` up to float rounding. ``forward(image, valid) -> prediction``."""

    def __init__(self, net: PConvUNet, form: str = "transposed"):
        super().__init__()
        if form not in DECODER_FORMS:
            raise ValueError(f"unknown decoder form {form!r}; known: {', '.join(DECODER_FORMS)}")
        self.net, self.form = net, form
        self.config = net.config
        ch = net.config.channels
        n = len(net.decoders)
        first = {"resize": n, "subpixel-last": n - 1}.get(form, 0)
        # decoder j upsamples a tensor of ch[-1 - j] channels (the last one: ch[0])
        self.rewritten = nn.ModuleDict({
            str(j): SubpixelDecoder(net.decoders[j], ch[len(ch) - 1 - j], self._layer_form(j == n - 1)) for j in range(first, n)
        })

    def _layer_form(self, last: bool) -> str:
        if self.form == "subpixel-last":
            return "subpixel"
        if self.form in ("subpixel-nhwc", "phase-nhwc") and last:
            # the last layer stays float in the CPU INT8 graph, where the ConvTranspose is fastest
            return "transposed"
        return self.form

    @property
    def multiple(self) -> int:
        return self.net.multiple

    def forward(self, image: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return self.net.run(image, valid, self.rewritten)


def executed_macs(unet: InferenceUNet, height: int, width: int) -> int:
    """Multiply-accumulates the feature convolutions of ``unet`` execute for one HxW image,
    as exported (zero taps of the sub-pixel kernels included, the ConvTranspose's saving
    counted); the mask path's box sums are not counted."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.ConvTranspose2d):
            total += module.weight.numel() * inputs[0].shape[-2] * inputs[0].shape[-1]
        elif isinstance(module, nn.Conv2d):
            total += module.weight.numel() * output.shape[-2] * output.shape[-1]
        else:  # PartialConv2d: (y, new_valid)
            total += module.conv.weight.numel() * output[0].shape[-2] * output[0].shape[-1]

    # a PartialConv2d counts its own conv (which it calls functionally), so skip those modules
    inner = {p.conv for p in unet.modules() if isinstance(p, PartialConv2d)}
    hooks = [m.register_forward_hook(count) for m in unet.modules()
             if isinstance(m, (PartialConv2d, nn.ConvTranspose2d)) or (isinstance(m, nn.Conv2d) and m not in inner)]
    try:
        with torch.no_grad():
            unet(torch.zeros(1, 3, height, width), torch.ones(1, 1, height, width))
    finally:
        for h in hooks:
            h.remove()
    return total
