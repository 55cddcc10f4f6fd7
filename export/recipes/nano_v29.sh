#!/bin/bash
# Twenty-ninth session (docs/training.md, "Twenty-ninth session"): the shipped nano.
# The previous (ninth-session, train_v9.sh) nano fine-tuned 1000 steps on the training photos
# and the training textures together (the held-out metal and wood families excluded) with its
# BatchNorm statistics frozen. From the repository root after `make test` and `make data`;
# ~10 min on the 2-core CPU; the run checkpoints and resumes (rerun after an interruption).
# INIT: the weights to start from; the shipped nano was made from the ninth-session nano,
# which is in git history (git show c549f99:edgefill/models/nano.safetensors > nano_v9.safetensors).
set -e
export PYTHONPATH=export
INIT=${INIT:-edgefill/models/nano.safetensors}
.venv/bin/python -m edgefill_export.train --model nano --context --crop 256 --data both --steps 1000 \
    --lr 5e-5 --lr-min 1e-5 --warmup 20 --val-every 500 --save-every 100 --grad-weight 1.0 --ssim-weight 0.5 \
    --hole-weight 0 --hole-mse-weight 0 --hole-db-weight 0.04 --freeze-bn \
    --init "$INIT" --out runs/s29/N1
# checked against the starting nano on the validation photos and the validation textures, paired:
for SET in "--val-photos" "--val-texture --families free-form,scratches,objects"; do
    .venv/bin/python export/recipes/quick_check.py "$INIT" runs/s29/N1/nano.safetensors $SET \
        --per-bucket 1 --thin-px 5 --fill-passes 3 --paired
done
# nano's inference options (fill passes 3, wide-mix gate 30), stated: --init has carried them
# into the fine-tuned weights only since the thirtieth session
.venv/bin/python -m edgefill_export.ship runs/s29/N1/nano.safetensors --fill-passes 3 \
    --wide-ns-weight 0.5 --wide-ns-scale 4 --wide-ns-max-std 30 --int8
