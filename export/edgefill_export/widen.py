"""Function-preserving widening of a trained generator (Net2WiderNet, Chen et al. 2016): start a
wider model (e.g. ``base``) from a trained narrower one (``lite``) instead of from scratch, so that
training begins from the narrow model's fill and only has to put the new channels to use.

    python -m edgefill_export.widen edgefill/models/lite.safetensors --to base --out runs/base/init.safetensors

Every feature space of the network (each encoder level's output, each decoder layer's output, the
context block's hidden layer) keeps its old channels in their place, and gets new ones by one of
two methods:

* ``duplicate`` (the default, Net2WiderNet): each new channel is a copy of a random old channel
  (its incoming weights, bias and BatchNorm), and every layer that reads a channel and its copies
  splits the old outgoing weight among them in random positive shares that sum to 1. The copies
  compute the same features, so the sum is unchanged; the unequal shares give them different
  gradients, which breaks the symmetry.
* ``zero``: each new channel is freshly initialised, and every weight that reads a new channel
  into an old one is zero. The new channels start as noise that the network must learn to use.

Either way the wider model computes exactly what the narrow one did, in training and in eval
mode (BatchNorm's batch statistics of a copy are those of its original). Where the decoder
concatenates the upsampled features with a skip connection, the skip's channels sit behind the
*new* width of the upsampled part.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from .model import MODEL_CONFIGS, PConvUNet, build_model
from .weights import CheckpointError, load_weights, save_weights

METHODS = ("duplicate", "zero")


@dataclass(frozen=True)
class Space:
    """Where each channel of a widened feature space comes from: ``source[j]`` is the old channel
    that new channel j copies (-1: a fresh channel), ``share[j]`` the part of the old outgoing
    weight of ``source[j]`` that readers of channel j get (0 for a fresh channel); ``old``: the
    old width."""

    source: torch.Tensor
    share: torch.Tensor
    old: int

    @staticmethod
    def identity(width: int) -> "Space":
        return Space(torch.arange(width), torch.ones(width), width)

    @staticmethod
    def widened(old: int, new: int, method: str, gen: torch.Generator) -> "Space":
        if method == "zero":
            return Space(torch.cat([torch.arange(old), torch.full((new - old,), -1)]),
                         torch.cat([torch.ones(old), torch.zeros(new - old)]), old)
        source = torch.cat([torch.arange(old), torch.randint(0, old, (new - old,), generator=gen)])
        weight = 0.5 + torch.rand(new, generator=gen, dtype=torch.float64)
        total = torch.zeros(old, dtype=torch.float64).index_add_(0, source, weight)
        return Space(source, (weight / total[source]).float(), old)

    def __add__(self, other: "Space") -> "Space":
        """The space of ``cat([self, other])``."""
        shifted = torch.where(other.source >= 0, other.source + self.old, other.source)
        return Space(torch.cat([self.source, shifted]), torch.cat([self.share, other.share]), self.old + other.old)


def _layer_spaces(old: PConvUNet, new: PConvUNet, method: str, seed: int) -> dict[str, tuple[Space, Space]]:
    """Module prefix -> (its output space, its input space)."""
    gen = torch.Generator().manual_seed(seed)
    co, cn = old.config.channels, new.config.channels
    depth = old.config.depth

    def space(level: int) -> Space:
        return Space.widened(co[level], cn[level], method, gen)

    enc = [Space.identity(3)] + [space(i) for i in range(depth)]  # the image, then each level's output
    maps = {f"encoders.{i}": (enc[i + 1], enc[i]) for i in range(depth)}
    if old.context is not None:
        hidden = space(depth - 1)
        maps["context.fc1"], maps["context.fc2"] = (hidden, enc[depth]), (enc[depth], hidden)
    up = enc[depth]
    for j in range(depth):  # decoder j reads cat(upsampled, skip of level depth - 1 - j)
        out = space(depth - 2 - j) if j < depth - 1 else Space.identity(3)
        maps[f"decoders.{j}"] = (out, up + enc[depth - 1 - j])
        up = out
    return maps


@torch.no_grad()
def widen(old: PConvUNet, name: str, method: str = "duplicate", seed: int = 0) -> PConvUNet:
    """A ``name`` model (wider than or as wide as ``old`` at every level, same depth and blocks)
    that computes exactly what ``old`` computes (module docstring: the two methods)."""
    if name not in MODEL_CONFIGS:
        raise CheckpointError(f"unknown model {name!r}; known: {', '.join(MODEL_CONFIGS)}")
    if method not in METHODS:
        raise CheckpointError(f"unknown widening method {method!r}; known: {', '.join(METHODS)}")
    if old.refine is not None:
        raise CheckpointError("widening a model with a refinement head is not supported")
    if not 0 <= seed < 2**64:  # the seeds torch takes (a negative one would only wrap into this range)
        raise CheckpointError(f"the seed must be a whole number from 0 to 2**64 - 1, got {seed}")
    with torch.random.fork_rng(devices=[]):  # the fresh init is seeded without touching the caller's RNG
        torch.manual_seed(seed)
        # the inference options (fill smoothing, the runtime's refinement settings) are not weights: kept
        new = build_model(name, context=old.context is not None, refine=0, fill_passes=old.config.fill_passes,
                          refill=old.config.refill)
    if new.config.depth != old.config.depth or new.config.first_kernel != old.config.first_kernel:
        raise CheckpointError(f"{old.config.name} and {name} differ in depth or kernel: cannot widen")
    if any(n < o for o, n in zip(old.config.channels, new.config.channels, strict=True)):
        raise CheckpointError(f"{name} is narrower than {old.config.name} at some level: cannot widen")
    dst = new.state_dict()  # float32 on the CPU, as loaded from a file; ``old`` may live elsewhere
    src = {k: v.to(dst[k].device, dst[k].dtype) for k, v in old.state_dict().items()}
    for prefix, (out, inp) in _layer_spaces(old, new, method, seed).items():
        weight = f"{prefix}.conv.weight" if f"{prefix}.conv.weight" in dst else f"{prefix}.weight"
        copied = out.source >= 0  # rows that copy an old channel; the others keep their fresh init
        rows = src[weight][out.source[copied]]
        dst[weight][copied] = rows[:, inp.source.clamp(min=0)] * inp.share.view(1, -1, 1, 1)
        dst[f"{prefix}.bias"][copied] = src[f"{prefix}.bias"][out.source[copied]]
        for stat in ("weight", "bias", "running_mean", "running_var"):
            if f"{prefix}.bn.{stat}" in dst:
                dst[f"{prefix}.bn.{stat}"][copied] = src[f"{prefix}.bn.{stat}"][out.source[copied]]
    for key in dst:  # BatchNorm's batch counters
        if key.endswith("num_batches_tracked"):
            dst[key].copy_(src[key])
    new.load_state_dict(dst)
    return new


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Widen trained weights to a wider model, preserving the function.")
    ap.add_argument("weights", type=Path, help="the trained narrower model (.safetensors)")
    ap.add_argument("--to", required=True, choices=sorted(MODEL_CONFIGS), help="the wider model")
    ap.add_argument("--out", type=Path, required=True, help="where to write the widened .safetensors")
    ap.add_argument("--method", choices=METHODS, default="duplicate",
                    help="new channels as weighted copies of old ones (Net2WiderNet) or fresh ones read through zeros")
    ap.add_argument("--seed", type=int, default=0, help="seed of the new channels' initialisation")
    a = ap.parse_args(argv)
    if a.out.suffix != ".safetensors":  # load_weights reads .safetensors files only
        ap.error(f"--out {a.out}: the weights file must end in .safetensors")
    if a.out.resolve() == a.weights.resolve():
        ap.error(f"--out {a.out} is the input weights file: write the widened model elsewhere")
    try:
        model = widen(load_weights(a.weights), a.to, a.method, a.seed)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        save_weights(model, a.out, {"widened_from": a.weights.name, "widening": a.method})
    except OSError as exc:
        print(f"error: cannot write {a.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
