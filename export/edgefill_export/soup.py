"""Weight interpolation of two trained models of one architecture ("model soup", Wortsman et
al. 2022; WiSE-FT, Wortsman et al. 2022: interpolating a model and its fine-tuned descendant
keeps much of the fine-tuning's gain while recovering robustness the fine-tuning lost).

    python -m edgefill_export.soup PHOTO.safetensors SURFACE.safetensors --alpha 0.6 --out soup.safetensors

The result is ``(1 - alpha) * A + alpha * B`` for every floating-point tensor (BatchNorm's
running statistics included; integer counters are taken from B). It only makes sense for two
models with a common ancestor (one fine-tuned from the other, or both from one start): their
weights lie in one basin. The shipped lite-surface and nano are such soups (docs/training.md,
"Sixth session").
"""

from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import replace
from pathlib import Path

from edgefill.refill_settings import RefillSettings

from .model import ModelConfig, PConvUNet
from .weights import CheckpointError, load_weights, save_weights


def _network(model: PConvUNet) -> ModelConfig:
    """The architecture alone: the config without the inference options (fill smoothing, the
    runtime's refinement settings), which are not weights and may differ between A and B."""
    return replace(model.config, fill_passes=0, refill=RefillSettings())


def interpolate(a: PConvUNet, b: PConvUNet, alpha: float) -> PConvUNet:
    """A new model ``(1 - alpha) * a + alpha * b``; ``a`` and ``b`` are left unchanged. Its
    inference options (``fill_passes``, ``refill``) are ``b``'s: set them when shipping."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if _network(a) != _network(b):
        raise CheckpointError(f"cannot interpolate different architectures: {a.config} and {b.config}")
    sa, sb = a.state_dict(), b.state_dict()
    mixed = {k: (sa[k].double() * (1.0 - alpha) + sb[k].double() * alpha).to(sb[k].dtype)
             if sb[k].is_floating_point() else sb[k].clone() for k in sb}
    out = copy.deepcopy(b)
    out.load_state_dict(mixed)
    return out.eval()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Interpolate the weights of two models of one architecture.")
    ap.add_argument("a", type=Path, help="weights at alpha 0")
    ap.add_argument("b", type=Path, help="weights at alpha 1")
    ap.add_argument("--alpha", type=float, required=True, help="weight of B, in [0, 1]")
    ap.add_argument("--out", type=Path, required=True, help="where to write the interpolated .safetensors")
    a = ap.parse_args(argv)
    if a.out.suffix != ".safetensors":  # load_weights reads .safetensors files only
        ap.error(f"--out {a.out}: the weights file must end in .safetensors")
    if a.out.resolve() in (a.a.resolve(), a.b.resolve()):
        ap.error(f"--out {a.out} is one of the input weights files: write the soup elsewhere")
    try:
        model = interpolate(load_weights(a.a), load_weights(a.b), a.alpha)
        save_weights(model, a.out, {"soup": f"{1 - a.alpha:g} x {a.a.name} + {a.alpha:g} x {a.b.name}"})
    except (CheckpointError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {a.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
