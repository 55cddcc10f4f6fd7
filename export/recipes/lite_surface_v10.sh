#!/bin/bash
# Tenth session (docs/training.md, "Tenth session"): lite-surface candidates from the
# ninth-session lite by train_v5's full schedule. NOT shipped: none beat the shipped
# lite-surface on the validation textures. From the repository root after `make test` and
# `make data`; every run checkpoints and resumes (rerun after an interruption). ~45 min on the
# 2-core CPU, plus ~5 min per candidate for the paired check at the end.
set -e
DB="--grad-weight 1.0 --ssim-weight 0.5 --hole-weight 0 --hole-mse-weight 0 --hole-db-weight 0.04"
OLD="--grad-weight 1.0 --ssim-weight 0.5"   # the sixth session's losses (hole L1 x 6)
T=".venv/bin/python -m edgefill_export.train --model lite --context --refine 16 --crop 256"
export PYTHONPATH=export
mkdir -p runs/v10
# photos with the head: 600 steps (the ninth session's run E), then 600 more of a 3000-step schedule
$T --steps 600 --lr 1e-4 --lr-min 3e-5 --warmup 30 --val-every 600 --save-every 100 $DB \
    --init edgefill/models/lite.safetensors --out runs/v9/E
$T --steps 3000 --stop-at 600 --lr 1e-4 --lr-min 2e-5 --warmup 30 --val-every 1000 --save-every 100 $DB \
    --init runs/v9/E/lite.safetensors --out runs/v10/E2
# the training textures (held-out metal and wood excluded), with the dB loss (S)
$T --data texture --steps 700 --lr 8e-5 --lr-min 1e-5 --warmup 20 --val-every 700 --save-every 100 $DB \
    --init runs/v10/E2/lite.safetensors --out runs/v10/S
# E2 to step 700, then the textures with the sixth-session losses (Sold)
$T --steps 3000 --stop-at 700 --lr 1e-4 --lr-min 2e-5 --warmup 30 --val-every 1000 --save-every 100 $DB \
    --init runs/v9/E/lite.safetensors --out runs/v10/E2
$T --data texture --steps 700 --lr 8e-5 --lr-min 1e-5 --warmup 20 --val-every 700 --save-every 100 $OLD \
    --init runs/v10/E2/lite.safetensors --out runs/v10/Sold
for A in 0.5 0.7 0.9; do
    .venv/bin/python -m edgefill_export.soup runs/v10/E2/lite.safetensors runs/v10/S/lite.safetensors --alpha $A --out runs/v10/soup$A.safetensors
done
for A in 0.7 0.9; do
    .venv/bin/python -m edgefill_export.soup runs/v10/E2/lite.safetensors runs/v10/Sold/lite.safetensors --alpha $A --out runs/v10/soldsoup$A.safetensors
done
# paired against the shipped lite-surface on the validation textures (each minus the first, 95% interval)
.venv/bin/python export/recipes/quick_check.py edgefill/models/lite-surface.safetensors runs/v10/Sold/lite.safetensors \
    runs/v10/soldsoup0.9.safetensors --val-texture --per-bucket 3 --thin-px 5 --paired --families free-form,scratches,objects
