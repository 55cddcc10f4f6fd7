#!/bin/bash
# Thirtieth session (docs/training.md, "Thirtieth session"): the shipped lite-surface.
# The twenty-eighth-session lite-surface (lite_surface_v28.sh, reshipped in the thirtieth session
# with the wide-mix share 0.4) trained 1000 steps more the same way: the training textures (the
# held-out metal and wood families excluded), BatchNorm statistics frozen, lr 4e-5 to 5e-6.
# From the repository root after `make test` and `make data`; ~12 min on the 2-core CPU; the run
# checkpoints and resumes (rerun after an interruption). INIT: the weights to start from; the
# shipped lite-surface was made from the one in git history at commit 7b406d5
# (git show 7b406d5:edgefill/models/lite-surface.safetensors > lite_surface_v28.safetensors).
set -e
export PYTHONPATH=export
INIT=${INIT:-edgefill/models/lite-surface.safetensors}
.venv/bin/python -m edgefill_export.train --model lite --context --crop 256 --data texture --steps 1000 \
    --lr 4e-5 --lr-min 5e-6 --warmup 20 --val-every 500 --save-every 100 --grad-weight 1.0 --ssim-weight 0.5 \
    --hole-weight 0 --hole-mse-weight 0 --hole-db-weight 0.04 --freeze-bn \
    --init "$INIT" --out runs/s30/S2
# checked against the starting lite-surface on the validation textures, paired:
.venv/bin/python export/recipes/quick_check.py "$INIT" runs/s30/S2/lite.safetensors --val-texture \
    --families free-form,scratches,objects --per-bucket 1 --thin-px 5 --paired
# --init carried lite-surface's inference options (fill passes 3, wide-mix share 0.4 at 1/4, gate 20)
.venv/bin/python -m edgefill_export.ship runs/s30/S2/lite.safetensors --name lite-surface --int8
