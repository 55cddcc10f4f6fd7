#!/bin/bash
# The third-generation lite (docs/training.md): the second-generation recipe continued from the
# shipped lite, from the repository root after `make test` and `make data`. Every phase
# checkpoints and resumes: rerun after an interruption. About 40 + 13 min on the 2-core dev CPU.
set -e
L="--grad-weight 1.0 --ssim-weight 0.5"
T=".venv/bin/python -m edgefill_export.train"
$T --model lite --crop 128 --steps 10000 --lr 1e-4 --lr-min 1e-5 --warmup 100 --val-every 2000 --save-every 500 $L \
    --init "${INIT_LITE:-edgefill/models/lite.safetensors}" --out runs/v3/lite128
$T --model lite --crop 256 --steps 800 --lr 4e-5 --lr-min 1e-5 --warmup 50 --val-every 400 --save-every 200 $L \
    --init runs/v3/lite128/lite.safetensors --out runs/v3/lite256
.venv/bin/python -m edgefill_export.ship runs/v3/lite256/lite.safetensors --int8
