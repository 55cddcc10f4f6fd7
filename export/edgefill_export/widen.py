"""Function-preserving widening of a trained generator (in the spirit of Net2WiderNet, Chen et
al. 2016): start a wider model (e.g. ``base``) from a trained narrower one (``lite``) instead of
from scratch, so that training begins from the narrow model's fill and only has to teach the
new channels.

    python -m edgefill_export.widen edgefill/models/lite.safetensors --to base --out runs/base/init.safetensors

Every level's old channels keep their place (the first ``c`` channels of the level) and their
weights. The new channels are freshly initialised, and every weight that *reads* a new channel
into an old one is zero, so at the start each old channel (and so the output) computes exactly
what the narrow model computed, in training and in eval mode, while the new channels' outputs
are non-trivial and get gradients through those zero weights (which therefore start to move):
the symmetry is broken by the random rows, not by noise. Where the decoder concatenates the
upsampled features with a skip connection, the skip's channels sit behind the *new* width of
the upsampled part, which is what the index maps below take care of.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from .model import MODEL_CONFIGS, PConvUNet, build_model
from .weights import CheckpointError, load_weights, save_weights

Index = list[int]


def _level_maps(old: PConvUNet, new: PConvUNet) -> list[tuple[Index, int]]:
    """For the image and each encoder level: (the new positions of the old channels, new width)."""
    co, cn = (3, *old.config.channels), (3, *new.config.channels)
    return [(list(range(o)), n) for o, n in zip(co, cn, strict=True)]


def _concat(first: tuple[Index, int], second: tuple[Index, int]) -> tuple[Index, int]:
    """The map of ``cat([a, b])``: b's channels come after a's full (new) width."""
    (ia, na), (ib, nb) = first, second
    return ia + [na + k for k in ib], na + nb


def _layer_maps(old: PConvUNet, new: PConvUNet) -> dict[str, tuple[Index, Index]]:
    """Module prefix -> (new positions of the old output channels, of the old input channels)."""
    lv = _level_maps(old, new)
    depth = old.config.depth
    maps = {f"encoders.{i}": (lv[i + 1][0], lv[i][0]) for i in range(depth)}
    for j in range(depth):
        level = depth - j  # decoder j upsamples level `level` (index into lv) and merges level - 1
        maps[f"decoders.{j}"] = (lv[level - 1][0], _concat(lv[level], lv[level - 1])[0])
    if old.context is not None:
        maps["context.fc1"] = maps["context.fc2"] = (lv[depth][0], lv[depth][0])
    return maps


@torch.no_grad()
def widen(old: PConvUNet, name: str, seed: int = 0) -> PConvUNet:
    """A ``name`` model (wider than or as wide as ``old`` at every level, same depth and blocks)
    that computes exactly what ``old`` computes; its new channels are freshly initialised."""
    if name not in MODEL_CONFIGS:
        raise CheckpointError(f"unknown model {name!r}; known: {', '.join(MODEL_CONFIGS)}")
    if old.refine is not None:
        raise CheckpointError("widening a model with a refinement head is not supported")
    torch.manual_seed(seed)
    new = build_model(name, context=old.context is not None, refine=0)
    if new.config.depth != old.config.depth or new.config.first_kernel != old.config.first_kernel:
        raise CheckpointError(f"{old.config.name} and {name} differ in depth or kernel: cannot widen")
    if any(n < o for o, n in zip(old.config.channels, new.config.channels, strict=True)):
        raise CheckpointError(f"{name} is narrower than {old.config.name} at some level: cannot widen")
    src, dst = old.state_dict(), new.state_dict()
    for prefix, (outs, ins) in _layer_maps(old, new).items():
        weight = f"{prefix}.conv.weight" if f"{prefix}.conv.weight" in dst else f"{prefix}.weight"
        w = dst[weight]
        w[outs] = 0.0  # old outputs read nothing from new inputs ...
        w[torch.tensor(outs)[:, None], torch.tensor(ins)[None, :]] = src[weight]  # ... and the old weights
        bias = f"{prefix}.bias"
        dst[bias][outs] = src[bias]
        for stat in ("weight", "bias", "running_mean", "running_var"):
            if f"{prefix}.bn.{stat}" in dst:
                dst[f"{prefix}.bn.{stat}"][outs] = src[f"{prefix}.bn.{stat}"]
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
    ap.add_argument("--seed", type=int, default=0, help="seed of the new channels' initialisation")
    a = ap.parse_args(argv)
    try:
        model = widen(load_weights(a.weights), a.to, a.seed)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    save_weights(model, a.out, {"widened_from": a.weights.name})
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
