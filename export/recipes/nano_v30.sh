#!/bin/bash
# Thirtieth session (docs/training.md, "Thirtieth session"): the shipped nano.
# The twenty-ninth-session nano (nano_v29.sh) trained 1500 steps more the same way: the training
# photos and the training textures together (the held-out metal and wood families excluded),
# BatchNorm statistics frozen, lr 4e-5 to 5e-6. From the repository root after `make test` and
# `make data`; ~13 min on the 2-core CPU; the run checkpoints and resumes (rerun after an
# interruption). INIT: the weights to start from; the shipped nano was made from the
# twenty-ninth-session nano, which is in git history
# (git show 347db79:edgefill/models/nano.safetensors > nano_v29.safetensors).
set -e
export PYTHONPATH=export
INIT=${INIT:-edgefill/models/nano.safetensors}
.venv/bin/python -m edgefill_export.train --model nano --context --crop 256 --data both --steps 1500 \
    --lr 4e-5 --lr-min 5e-6 --warmup 20 --val-every 500 --save-every 100 --grad-weight 1.0 --ssim-weight 0.5 \
    --hole-weight 0 --hole-mse-weight 0 --hole-db-weight 0.04 --freeze-bn \
    --init "$INIT" --out runs/s30/N2
# checked against the starting nano on the validation photos and the validation textures, paired:
for SET in "--val-photos" "--val-texture --families free-form,scratches,objects"; do
    .venv/bin/python export/recipes/quick_check.py "$INIT" runs/s30/N2/nano.safetensors $SET \
        --per-bucket 1 --thin-px 5 --paired
done
# --init carried nano's inference options (fill passes 3, wide-mix share 0.5 at 1/4, gate 30)
.venv/bin/python -m edgefill_export.ship runs/s30/N2/nano.safetensors --int8
