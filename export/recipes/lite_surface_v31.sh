#!/bin/bash
# Thirty-first session (docs/training.md, "Thirty-first session"): lite-surface made again from
# the thirty-first-session lite, the way the shipped one was made from the previous lite:
# 700 steps on the training textures (the held-out metal and wood families excluded) with the
# BatchNorm statistics frozen, lr 8e-5 to 1e-5 (lite_surface_v28.sh), then 1000 more at lr 4e-5
# to 5e-6 (lite_surface_v30.sh). From the repository root after `make test` and `make data`;
# ~35 min on the 2-core CPU; both runs checkpoint and resume (rerun after an interruption).
# INIT: the lite to start from (the shipped one by default); OUT: the run folder [runs/s31];
# EXTRA: more train flags for both runs (e.g. --rot90).
set -e
export PYTHONPATH=export
INIT=${INIT:-edgefill/models/lite.safetensors}
OUT=${OUT:-runs/s31}
COMMON="--model lite --context --crop 256 --data texture --warmup 20 --save-every 100 --grad-weight 1.0
    --ssim-weight 0.5 --hole-weight 0 --hole-mse-weight 0 --hole-db-weight 0.04 --freeze-bn ${EXTRA:-}"
.venv/bin/python -m edgefill_export.train $COMMON --steps 700 --lr 8e-5 --lr-min 1e-5 --val-every 350 \
    --init "$INIT" --out "$OUT/S1"
.venv/bin/python -m edgefill_export.train $COMMON --steps 1000 --lr 4e-5 --lr-min 5e-6 --val-every 500 \
    --init "$OUT/S1/lite.safetensors" --out "$OUT/S2"
# beside the shipped lite-surface, with its inference options (3 smoothing passes, wide mix 0.4 at 1/4, gate 20):
.venv/bin/python -m edgefill_export.ship "$OUT/S2/lite.safetensors" --name lite-surface-new --models-dir "$OUT/models" \
    --fill-passes 3 --wide-ns-weight 0.4 --wide-ns-scale 4 --wide-ns-max-std 20
# compared with it on the validation textures (41 images of the training families), paired, both
# with 3 smoothing passes and the thin refill (no wide mix):
.venv/bin/python export/recipes/quick_check.py edgefill/models/lite-surface.safetensors "$OUT/S2/lite.safetensors" \
    --val-texture --families free-form,scratches,objects --per-bucket 1 --thin-px 5 --fill-passes 3 --paired
# Shipped after the held-out check (docs/training.md, "Thirty-first session"):
#   .venv/bin/python -m edgefill_export.ship "$OUT/S2/lite.safetensors" --name lite-surface --fill-passes 3 \
#       --wide-ns-weight 0.4 --wide-ns-scale 4 --wide-ns-max-std 20 --int8
