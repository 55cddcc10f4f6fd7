"""Training losses that need no pretrained network (no VGG is available to this project).

- :func:`total_variation` smooths the seam of the composite (Liu et al. 2018).
- :func:`gradient_l1` compares image gradients (finite differences) of the composite and the
  target inside the dilated hole: it penalises blur at edges that plain L1 tolerates.
- :func:`ssim_loss` is 1 - SSIM on the composite, computed over windows that touch the hole.
- :class:`PatchDiscriminator` is a PatchGAN (Isola et al. 2017) with spectral norm (Miyato
  et al. 2018) on image + hole mask, trained with the hinge loss (:func:`hinge_d`, :func:`hinge_g`).
- :func:`hole_error_db` is each image's hole squared error in dB: its batch mean is the
  benchmark's mean hole PSNR, negated, up to a constant.

Which of them help is measured in docs/training.md; the defaults of
:class:`edgefill_export.train.TrainConfig` follow that measurement.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def _dilate(hole: torch.Tensor, radius: int) -> torch.Tensor:
    return F.max_pool2d(hole, 2 * radius + 1, stride=1, padding=radius)


def gradient_l1(pred: torch.Tensor, target: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Mean |d pred - d target| over x and y differences, inside the hole dilated by 1 px."""
    region = _dilate(hole, 1)
    loss = pred.new_zeros(())
    for dim in (-1, -2):
        dp, dt = torch.diff(pred, dim=dim), torch.diff(target, dim=dim)
        r = region.narrow(dim, 0, region.shape[dim] - 1)
        loss = loss + ((dp - dt).abs() * r).sum() / (r.sum() * pred.shape[1]).clamp(min=1)
    return loss


def ssim_map(a: torch.Tensor, b: torch.Tensor, window: int = 7) -> torch.Tensor:
    """Per-pixel SSIM of images in [-1, 1] (dynamic range 2), box window, per channel. Computed in
    at least float32: the variances are differences of nearly equal means of squares, which in
    bfloat16 (8-bit mantissa, a model's output under autocast) lose more than the constant c2 and
    gave values from -12 to 14 on a smooth patch."""
    dtype = torch.promote_types(a.dtype, torch.float32)
    a, b = a.to(dtype), b.to(dtype)
    c1, c2 = (0.01 * 2) ** 2, (0.03 * 2) ** 2
    pad = window // 2

    def mean(t: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(F.pad(t, (pad, pad, pad, pad), mode="reflect"), window, stride=1)

    mu_a, mu_b = mean(a), mean(b)
    var_a = mean(a * a) - mu_a**2
    var_b = mean(b * b) - mu_b**2
    cov = mean(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))


def ssim_loss(comp: torch.Tensor, target: torch.Tensor, hole: torch.Tensor, window: int = 7) -> torch.Tensor:
    """1 - mean SSIM over the pixels whose window overlaps the hole (0 for a batch without holes,
    as the other hole losses)."""
    s = ssim_map(comp, target, window)
    region = _dilate(hole.to(s.dtype), window // 2).expand_as(s)
    return ((1.0 - s) * region).sum() / region.sum().clamp(min=1)


class PatchDiscriminator(nn.Module):
    """70x70-style PatchGAN on (image, hole) with spectral norm; returns a map of logits."""

    def __init__(self, width: int = 32, layers: int = 4):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        mods: list[nn.Module] = []
        cin, c = 4, width
        for i in range(layers):
            stride = 2 if i < layers - 1 else 1
            mods += [sn(nn.Conv2d(cin, c, 4, stride, 1)), nn.LeakyReLU(0.2)]
            cin, c = c, min(c * 2, width * 8)
        mods.append(sn(nn.Conv2d(cin, 1, 4, 1, 1)))
        self.net = nn.Sequential(*mods)

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([image, hole], dim=1))


def hinge_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def hinge_g(fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean()


#: Floor of an image's hole mean squared error in :func:`hole_error_db` ((-1, 1) units: ~46 dB PSNR),
#: so that an almost perfect fill of a tiny hole does not get an unbounded weight.
DB_FLOOR = 1e-4


def hole_error_db(err: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Each image's mean squared error over its hole pixels, in dB (``10 log10``; minus its hole PSNR
    up to a constant). Its mean over a batch is what the quality benchmark averages, so the gradient
    weights each image by 1 / its own error: the already-good fills count as much as the hard ones,
    which a pooled squared error leaves to the large, uncertain holes."""
    sq = (err * err * hole).sum(dim=(1, 2, 3))
    n = (hole.sum(dim=(1, 2, 3)) * err.shape[1]).clamp(min=1)
    return 10 * torch.log10(sq / n + DB_FLOOR)
