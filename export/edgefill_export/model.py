"""The PConv U-Net generator (Liu et al. 2018, "Image Inpainting for Irregular Holes
Using Partial Convolutions"), in an export-safe form.

Differences from the paper, each chosen for edge inference:

* **One mask channel.** The paper carries a mask with as many channels as the
  features. Here every level carries a single-channel validity mask, so the
  mask path costs one tiny convolution (a box sum) per layer instead of a full
  one. Where the decoder concatenates the upsampled features with the skip
  features, the combined mask is the union (element-wise max) of both masks:
  pixels a layer may read from.
* **Renormalisation** is ``window / clamp(mask_sum, min=1)``, never
  ``window / (mask_sum + 1e-8)``, which underflows in FP16 and yields NaN.
* **One multiply per layer** (the fast formulation, docs/performance.md). The paper computes
  ``W^T (X*M) * ratio + b`` and zeroes the output where the window saw no valid pixel.
  Here a layer computes ``act(BN(W^T X + b)) * ratio`` with ``ratio = window / clamp(sum(M), 1)``
  where the window sees a valid pixel and 0 elsewhere: the input multiply ``X*M`` is dropped
  because every layer's input is already zero outside its mask, and the bias and activation
  go inside, so the graph is Conv(+bias+activation, fused by every runtime) followed by a
  single broadcast Mul. The only difference from the paper is that the bias is renormalised
  too at hole borders (where ratio > 1); the network is trained in this form.
* **BatchNorm is folded** into the convolution by :meth:`PConvUNet.fuse`
  before export. The block normalises before it renormalises and masks, so the
  folded and unfolded networks are exactly the same function.
* The mask branch always runs in float32, outside any autocast region.
* **Global context** (``ModelConfig.context``, the fourth-generation models): six stride-2
  levels give a 4x4 bottleneck at 256 px and 8x8 at 512, so a hole more than ~60-90 px from
  its border gets no information from outside it, and the network filled such centres with a
  grey guess (docs/training.md: a flat-colour disk of 35% of a 256 px image came back 24
  levels off, 44 at 512 px). :class:`GlobalContext` averages the valid bottleneck features
  over the whole image, passes them through two 1x1 convolutions and adds the result at every
  bottleneck position, which then counts as valid: every hole pixel sees the whole image at
  any resolution, for ~33k parameters and a negligible number of MACs.
* **Full-resolution refinement** (``ModelConfig.refine``, the fifth-generation lite-surface): the
  U-Net's only full-resolution layer is its last, a linear 3x3 partial convolution of the
  nearest-upsampled half-resolution features and the input, so fine detail and the seam with
  the known pixels came out of half-resolution features (measured: Gaussian-blurring the
  fourth-generation lite's fill by sigma 0.8 raised its hole PSNR on thin scratches by 0.4 dB).
  :class:`RefineHead` adds three 3x3 convolutions at full resolution on (fill, masked input,
  mask) and adds their output to the fill.

Convention inside the network: ``valid`` is 1 where the pixel is known and 0
in the hole (the complement of the public edgefill mask, where 255 = hole).
Images are BGR, scaled to [-1, 1].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from edgefill.refill_settings import RefillSettings


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a generator: ``channels[i]`` is the width of encoder level i."""

    name: str
    channels: tuple[int, ...]
    first_kernel: int = 5
    context: bool = False  # the global-context bottleneck (:class:`GlobalContext`)
    refine: int = 0  # width of the full-resolution refinement (:class:`RefineHead`); 0: none
    # 3x3 mean-filter passes over the fill (0: none): not a layer of the trained network but a
    # fixed step of the inference graph (onnx_export.FillSmoothing), chosen on validation images
    # when a model is shipped (docs/training.md, "Eleventh session").
    fill_passes: int = 0
    # The runtime's refinement settings for this model (edgefill.refill_settings: the thin-hole
    # refill's NS radius, the wide NS mix; unset: the runtime's defaults). Not part of the network
    # or its graph: weights metadata, ONNX metadata and sidecar only.
    refill: RefillSettings = RefillSettings()

    @property
    def depth(self) -> int:
        return len(self.channels)

    @property
    def multiple(self) -> int:
        """Input height and width must be multiples of this."""
        return 2**self.depth


def _widths(base: int, depth: int, cap_factor: int, width: float) -> tuple[int, ...]:
    return tuple(max(8, int(round(min(base * 2**i, base * cap_factor) * width))) for i in range(depth))


# The width multiplier scales every level; nano is lite at half width (~1/4 of the parameters).
MODEL_CONFIGS: dict[str, ModelConfig] = {
    "nano": ModelConfig("nano", _widths(32, 6, 4, 0.5)),
    "lite": ModelConfig("lite", _widths(32, 6, 4, 1.0)),
    "base": ModelConfig("base", _widths(32, 6, 4, 1.5)),
}


def activate(y: torch.Tensor, act: str | None) -> torch.Tensor:
    """The layer activations: ``"relu"``, ``"leaky"`` (slope 0.2) or None. All are positively
    homogeneous, so they commute with the renormalising multiply."""
    if act == "relu":
        return F.relu(y)
    if act == "leaky":
        return F.leaky_relu(y, 0.2)
    return y


class PartialConv2d(nn.Module):
    """Partial convolution with a single-channel mask, optional BN and activation.

    ``forward(x, valid) -> (y, new_valid)``. ``x`` is (N, C, H, W), ``valid`` is
    (N, 1, H, W) holding exactly 0 or 1.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, bn: bool = True, act: str | None = "relu"):
        super().__init__()
        self.kernel, self.stride, self.pad = kernel, stride, kernel // 2
        self.conv = nn.Conv2d(cin, cout, kernel, stride, self.pad, bias=False)
        self.bias = nn.Parameter(torch.zeros(cout))
        self.bn: nn.Module | None = nn.BatchNorm2d(cout) if bn else None
        self.act = act
        self.register_buffer("ones", torch.ones(1, 1, kernel, kernel), persistent=False)
        # a tensor, so that the export is Div(window, clamp) and not Reciprocal (TensorRT <= 8.4 lacks it)
        self.register_buffer("window", torch.full((1, 1, 1, 1), float(kernel * kernel)), persistent=False)

    def mask_update(self, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (ratio, new_valid): ratio = window / clamp(sum, 1) where the window sees a
        valid pixel, and 0 elsewhere. Always float32."""
        with torch.autocast(device_type=valid.device.type, enabled=False):
            valid = valid.float()
            msum = F.conv2d(valid, self.ones.float(), stride=self.stride, padding=self.pad)
            new_valid = torch.clamp(msum, 0.0, 1.0)
            ratio = self.window.float() / torch.clamp(msum, min=1.0) * new_valid
        return ratio, new_valid

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` must already be zero wherever ``valid`` is 0 (the network guarantees it: it masks
        its input image, and every layer's output is zero outside the layer's new mask)."""
        ratio, new_valid = self.mask_update(valid)
        # the bias goes into the Conv node itself (no separate Add for a quantiser to wrap)
        y = F.conv2d(x, self.conv.weight, self.bias, self.stride, self.pad)
        if self.bn is not None:
            y = self.bn(y)
        y = activate(y, self.act)
        # act(z) * r == act(z * r) for r >= 0, and ratio is 0 outside new_valid: one multiply
        # renormalises and masks, after the convolution's fused bias and activation.
        return y * ratio.to(y.dtype), new_valid

    @torch.no_grad()
    def fuse(self) -> None:
        """Fold BatchNorm (in eval statistics) into the convolution weight and bias."""
        if self.bn is None:
            return
        bn = self.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        self.conv.weight.mul_(scale.view(-1, 1, 1, 1))
        self.bias.copy_((self.bias - bn.running_mean) * scale + bn.bias)
        self.bn = None


class GlobalContext(nn.Module):
    """Masked global average of the bottleneck features -> 1x1 conv -> ReLU -> 1x1 conv, added
    at every position; returns the new features and an all-valid mask. The second convolution
    starts at zero, so a network initialised from weights without this block starts from
    their features (its masks change: the bottleneck becomes valid everywhere)."""

    def __init__(self, channels: int):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels, 1)
        self.fc2 = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.autocast(device_type=valid.device.type, enabled=False):
            count = torch.clamp(valid.float().sum(dim=(2, 3), keepdim=True), min=1.0)
            everywhere = valid.float() * 0.0 + 1.0  # the shape of valid, without a Shape node
        # x is zero outside valid (every layer masks its output), so a plain sum is the masked sum
        mean = x.sum(dim=(2, 3), keepdim=True) / count.to(x.dtype)
        return x + self.fc2(F.relu(self.fc1(mean))), everywhere


class RefineHead(nn.Module):
    """Full-resolution residual refinement: three 3x3 convolutions (LeakyReLU 0.2 between) on
    (fill, masked input, mask) whose output is added to the fill. The last convolution starts
    at zero, so a network initialised from weights without this block starts from their fill."""

    def __init__(self, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(7, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.conv3 = nn.Conv2d(width, 3, 3, padding=1)
        nn.init.zeros_(self.conv3.weight)
        nn.init.zeros_(self.conv3.bias)

    def forward(self, fill: torch.Tensor, masked: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        x = torch.cat([fill, masked.to(fill.dtype), valid.to(fill.dtype)], dim=1)
        x = F.leaky_relu(self.conv1(x), 0.2)
        x = F.leaky_relu(self.conv2(x), 0.2)
        return fill + self.conv3(x)


def check_input(image: torch.Tensor, valid: torch.Tensor, multiple: int) -> None:
    """A ValueError naming the sizes unless ``image`` is (N, 3, H, W) and ``valid`` (N, 1, H, W) with H
    and W multiples of ``multiple`` (otherwise a decoder's upsampled features and its skip differ
    by a pixel, and torch.cat fails with a message about tensor sizes)."""
    if image.dim() != 4 or image.shape[1] != 3:
        raise ValueError(f"image must be (N, 3, H, W), got {tuple(image.shape)}")
    n, _, h, w = image.shape
    if valid.dim() != 4 or tuple(valid.shape[1:]) != (1, h, w) or valid.shape[0] not in (n, 1):
        raise ValueError(f"valid must be (N, 1, H, W) = {(n, 1, h, w)} like the image (or N = 1), got {tuple(valid.shape)}")
    if h == 0 or w == 0 or h % multiple or w % multiple:
        up = (max(1, -(-h // multiple)) * multiple, max(1, -(-w // multiple)) * multiple)
        raise ValueError(f"the input is {h}x{w}; height and width must be non-zero multiples of {multiple} "
                         f"(pad or crop it, e.g. to {up[0]}x{up[1]})")


class PConvUNet(nn.Module):
    """PConv U-Net generator. ``forward(image, valid) -> prediction`` in [-1, 1] space
    (not clamped; the export wrapper clamps and composites)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        ch = config.channels
        enc = [PartialConv2d(3, ch[0], config.first_kernel, 2, bn=False, act="relu")]
        enc += [PartialConv2d(ch[i - 1], ch[i], 3, 2, bn=True, act="relu") for i in range(1, len(ch))]
        self.encoders = nn.ModuleList(enc)
        # Decoder level i upsamples level i's features and merges the skip of level i-1.
        dec = []
        for i in range(len(ch) - 1, 0, -1):
            dec.append(PartialConv2d(ch[i] + ch[i - 1], ch[i - 1], 3, 1, bn=True, act="leaky"))
        dec.append(PartialConv2d(ch[0] + 3, 3, 3, 1, bn=False, act=None))
        self.decoders = nn.ModuleList(dec)
        self.context = GlobalContext(ch[-1]) if config.context else None
        self.refine = RefineHead(config.refine) if config.refine else None

    @property
    def multiple(self) -> int:
        return self.config.multiple

    def forward(self, image: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return self.run(image, valid)

    def run(self, image: torch.Tensor, valid: torch.Tensor, rewritten: Mapping[str, nn.Module] | None = None) -> torch.Tensor:
        """The forward pass. ``rewritten`` maps a decoder index (as a string) to a module called
        as ``module(x, skip, mask)`` in place of upsample + concat + that decoder layer (the
        exact inference rewrites of :mod:`.subpixel`)."""
        if not torch.jit.is_tracing():  # the exported graph's inputs are checked by the runtime
            check_input(image, valid, self.multiple)
        feats = [image * valid.to(image.dtype)]
        masks = [valid]
        x, m = feats[0], valid
        for layer in self.encoders:
            x, m = layer(x, m)
            feats.append(x)
            masks.append(m)
        if self.context is not None:
            x, m = self.context(x, m)
        for j, layer in enumerate(self.decoders):
            skip, skip_m = feats[-2 - j], masks[-2 - j]
            m = torch.maximum(F.interpolate(m, scale_factor=2.0, mode="nearest"), skip_m)
            if rewritten is not None and str(j) in rewritten:
                x, m = rewritten[str(j)](x, skip.to(x.dtype), m)
            else:
                x = F.interpolate(x, scale_factor=2.0, mode="nearest")
                x, m = layer(torch.cat([x, skip.to(x.dtype)], dim=1), m)
        if self.refine is not None:
            x = self.refine(x, feats[0], valid)
        return x

    def fuse(self) -> "PConvUNet":
        """Fold every BatchNorm. Call in eval mode, before export."""
        for mod in self.modules():
            if isinstance(mod, PartialConv2d):
                mod.fuse()
        return self


#: the most fill-smoothing passes a graph may have (``ModelConfig.fill_passes``)
MAX_FILL_PASSES = 8


def check_fill_passes(passes: int) -> int:
    """``passes`` if it is a valid ``ModelConfig.fill_passes`` (a whole number 0..MAX_FILL_PASSES)."""
    if passes not in range(MAX_FILL_PASSES + 1):
        raise ValueError(f"fill_passes must be a whole number from 0 (none) to {MAX_FILL_PASSES}, got {passes}")
    return int(passes)


def build_model(name: str, context: bool | None = None, refine: int | None = None,
                fill_passes: int | None = None, refill: RefillSettings | None = None) -> PConvUNet:
    """The generator ``name`` (nano, lite, base); ``context`` overrides its global-context flag,
    ``refine`` its refinement width, ``fill_passes`` its inference graph's fill smoothing and
    ``refill`` the runtime refinement settings its metadata records."""
    if name not in MODEL_CONFIGS:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(MODEL_CONFIGS)}")
    cfg = MODEL_CONFIGS[name]
    if context is not None:
        cfg = replace(cfg, context=context)
    if refine is not None:
        cfg = replace(cfg, refine=refine)
    if fill_passes is not None:
        cfg = replace(cfg, fill_passes=check_fill_passes(fill_passes))
    if refill is not None:
        cfg = replace(cfg, refill=refill)
    return PConvUNet(cfg)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def conv_macs(model: PConvUNet, height: int, width: int) -> int:
    """Multiply-accumulates of the feature convolutions for one HxW image (mask path excluded)."""
    total = 0
    h, w = height, width
    for layer in model.encoders:
        h, w = h // layer.stride, w // layer.stride
        total += layer.conv.weight.numel() * h * w
    if model.context is not None:
        total += model.context.fc1.weight.numel() + model.context.fc2.weight.numel()
    for layer in model.decoders:
        h, w = h * 2, w * 2
        total += layer.conv.weight.numel() * h * w
    if model.refine is not None:
        total += sum(c.weight.numel() for c in model.refine.modules() if isinstance(c, nn.Conv2d)) * h * w
    return total
