"""An exponential moving average of a network's weights during training (``train --ema DECAY``).

The average is the network that is validated, checkpointed beside the trained one and written
as the run's weights: the mean of the last ~1/(1-DECAY) steps' weights, which smooths out the
step-to-step noise of small batches (the GPU-trained lite's noisy validation). BatchNorm
running statistics are buffers, not weights: the average takes the trained network's as they
are. The trained network keeps training on its own weights; the average never feeds back.
"""

from __future__ import annotations

import copy

import torch

from .model import PConvUNet


def decay_at(step: int, decay: float) -> float:
    """The averaging decay at ``step`` (steps trained so far): ``decay``, but no more than
    (1 + step) / (10 + step), so that an average started at random weights forgets them within
    the first few hundred steps instead of the first few thousand."""
    return min(decay, (1.0 + step) / (10.0 + step))


class WeightAverage:
    """The averaged copy of ``model``: ``update(model, step)`` after every optimiser step."""

    def __init__(self, model: PConvUNet, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"an averaging decay is above 0 and below 1, got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: PConvUNet, step: int) -> None:
        d = decay_at(step, self.decay)
        mine, theirs = list(self.module.parameters()), [p.detach() for p in model.parameters()]
        torch._foreach_lerp_(mine, theirs, 1.0 - d)
        for mine_b, theirs_b in zip(self.module.buffers(), model.buffers(), strict=True):
            mine_b.copy_(theirs_b)

    @torch.no_grad()
    def restart(self, model: PConvUNet) -> None:
        """Start the average again at ``model``'s weights (a run resumed with ``--ema`` whose
        checkpoint has no average)."""
        self.module.load_state_dict(model.state_dict())
