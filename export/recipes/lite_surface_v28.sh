#!/bin/bash
# Twenty-eighth session (docs/training.md, "Twenty-eighth session"): the shipped lite-surface.
# The shipped (GPU-trained) lite fine-tuned 700 steps on the training textures (the held-out
# metal and wood families excluded) with its BatchNorm statistics frozen. From the repository
# root after `make test` and `make data`; ~20 min on the 2-core CPU; the run checkpoints and
# resumes (rerun after an interruption).
set -e
export PYTHONPATH=export
.venv/bin/python -m edgefill_export.train --model lite --context --crop 256 --data texture --steps 700 \
    --lr 8e-5 --lr-min 1e-5 --warmup 20 --val-every 350 --save-every 100 --grad-weight 1.0 --ssim-weight 0.5 \
    --hole-weight 0 --hole-mse-weight 0 --hole-db-weight 0.04 --freeze-bn \
    --init edgefill/models/lite.safetensors --out runs/s28/S3
# chosen against lite on the validation textures (41 images of the training families), paired:
.venv/bin/python export/recipes/quick_check.py edgefill/models/lite.safetensors runs/s28/S3/lite.safetensors \
    --val-texture --per-bucket 1 --thin-px 5 --fill-passes 1 --paired --families free-form,scratches,objects
.venv/bin/python -m edgefill_export.ship runs/s28/S3/lite.safetensors --name lite-surface --fill-passes 3 \
    --wide-ns-weight 0.5 --wide-ns-scale 4 --wide-ns-max-std 20 --int8
