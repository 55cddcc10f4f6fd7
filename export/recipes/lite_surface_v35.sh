#!/bin/bash
# Thirty-fifth session (docs/training.md, "Thirty-fifth session"): the shipped lite-surface trained
# on further on the training textures (the held-out metal and wood families excluded), as
# lite_surface_v31.sh made it (frozen BatchNorm, the same losses), STEPS more steps at lr LR to
# LR_MIN, with a moving average of the weights (--ema 0.999: lite.safetensors is the average,
# lite.trained.safetensors the trained weights). From the repository root after `make test` and
# `make data`; ~13 min per 1000 steps on the 2-core CPU; checkpoints every 100 steps and resumes
# (rerun after an interruption).
# INIT: the weights to start from [the shipped lite-surface]; OUT: the run folder [runs/s35].
set -e
export PYTHONPATH=export
INIT=${INIT:-edgefill/models/lite-surface.safetensors}
OUT=${OUT:-runs/s35}
STEPS=${STEPS:-3000}
LR=${LR:-4e-5}
LR_MIN=${LR_MIN:-4e-6}
.venv/bin/python -m edgefill_export.train --model lite --context --crop 256 --data texture --warmup 20 \
    --save-every 100 --grad-weight 1.0 --ssim-weight 0.5 --hole-weight 0 --hole-mse-weight 0 \
    --hole-db-weight 0.04 --freeze-bn --ema 0.999 ${EXTRA:-} --steps "$STEPS" --lr "$LR" --lr-min "$LR_MIN" \
    --val-every 1000 --init "$INIT" --out "$OUT/S3"
# both weights files against the shipped lite-surface on the validation textures (41 images of the
# training families), paired, with 3 smoothing passes and the thin refill, as lite_surface_v31.sh compared:
.venv/bin/python export/recipes/quick_check.py edgefill/models/lite-surface.safetensors "$OUT/S3/lite.safetensors" \
    "$OUT/S3/lite.trained.safetensors" --val-texture --families free-form,scratches,objects --per-bucket 1 \
    --thin-px 5 --fill-passes 3 --paired
