"""BN probe: lite's texture validation after re-estimating BatchNorm running statistics only."""
import sys
from pathlib import Path
import numpy as np, torch
from edgefill_export.train import photo_sets, training_paths, Validator, CropSampler
from edgefill_export.weights import load_weights
torch.set_num_threads(1)
tr, va = photo_sets(training_paths("texture", None))
v = Validator(va, 256)
base = Path("edgefill/models/lite.safetensors")
m = load_weights(base)
print("lite", v(m, "cpu"), flush=True)
sampler = CropSampler(tr, 256, 0.5, "training")
for batch, steps, mom in [(8, 100, 0.1), (32, 60, None)]:
    m = load_weights(base)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.momentum = mom
            if mom is None: mod.reset_running_stats()
    m.train()
    rng = np.random.default_rng(7)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for i in range(steps):
            x, valid = sampler.batch(batch, rng)
            m(x, valid)
    print(f"BN re-estimated, batch {batch}, {steps} batches, momentum {mom}", v(m, "cpu"), flush=True)
