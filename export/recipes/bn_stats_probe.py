"""BatchNorm statistics probe (docs/training.md, "Twenty-eighth session"): the shipped lite's
score on the texture validation crops (the trainer's own ``Validator``) as shipped, and after
re-estimating its BatchNorm running statistics on training-texture crops alone, weights unchanged.

    PYTHONPATH=export .venv/bin/python export/recipes/bn_stats_probe.py
"""
from pathlib import Path

import numpy as np
import torch

from edgefill_export.train import CropSampler, Validator, photo_sets, training_paths
from edgefill_export.weights import load_weights


def main() -> None:
    torch.set_num_threads(1)
    train, val = photo_sets(training_paths("texture", None))
    score = Validator(val, 256)
    base = Path("edgefill/models/lite.safetensors")
    print("lite as shipped: hole PSNR %.3f dB, SSIM %.4f" % score(load_weights(base), "cpu"), flush=True)
    sampler = CropSampler(train, 256, 0.5, "training")
    for batch, batches, momentum in [(8, 100, 0.1), (32, 60, None)]:
        model = load_weights(base)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = momentum
                if momentum is None:  # a cumulative average over the batches
                    m.reset_running_stats()
        model.train()
        rng = np.random.default_rng(7)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            for _ in range(batches):
                model(*sampler.batch(batch, rng))
        print(f"statistics re-estimated ({batches} batches of {batch}, momentum {momentum}): "
              "hole PSNR %.3f dB, SSIM %.4f" % score(model, "cpu"), flush=True)


if __name__ == "__main__":
    main()
