#!/bin/bash
# The fourth-generation lite (docs/training.md, "Fourth generation"): the global-context
# bottleneck added to the third-generation lite, fine-tuned at 256 px (the evaluation size),
# last with the new training mask mix (maskgen.TRAINING_MIX: + boxes, scratches, large
# objects). From the repository root after `make test` and `make data`; every phase
# checkpoints and resumes (rerun after an interruption). About 7 + 15 + 38 min on the 2-core
# dev CPU. INIT_LITE: the third-generation lite (git show 13a2251:edgefill/models/lite.safetensors).
set -e
L="--grad-weight 1.0 --ssim-weight 0.5"
T=".venv/bin/python -m edgefill_export.train --model lite --context --crop 256"
# 1: the A/B run of the block (an identical run without --context scored the same)
$T --masks mixed --context-lr-mult 1 --steps 500 --lr 1.5e-4 --lr-min 5e-5 --warmup 50 --val-every 250 --save-every 250 \
    $L --init "${INIT_LITE:-edgefill/models/lite.safetensors}" --out runs/v4/ab_ctx
# 2: the first 1000 steps of a 4000-step schedule (stopped there to change the masks)
$T --masks mixed --steps 4000 --stop-at 1000 --lr 2e-4 --lr-min 2e-5 --warmup 100 --val-every 500 --save-every 250 \
    $L --init runs/v4/ab_ctx/lite.safetensors --out runs/v4/lite256
# 3: the training mask mix
$T --steps 2600 --lr 2e-4 --lr-min 2e-5 --warmup 100 --val-every 650 --save-every 200 \
    $L --init runs/v4/lite256/lite.safetensors --out runs/v4/lite256m
.venv/bin/python -m edgefill_export.ship runs/v4/lite256m/lite.safetensors --int8
# nano: the same block and masks, one phase from the shipped second-generation nano
# (INIT_NANO: git show 13a2251:edgefill/models/nano.safetensors)
.venv/bin/python -m edgefill_export.train --model nano --context --crop 256 --steps 2400 --lr 2e-4 --lr-min 2e-5 \
    --warmup 100 --val-every 600 --save-every 200 $L --init "${INIT_NANO:-edgefill/models/nano.safetensors}" --out runs/v4/nano256m
.venv/bin/python -m edgefill_export.ship runs/v4/nano256m/nano.safetensors --int8
# lite-surface: the fourth-generation lite fine-tuned on the training textures (held-out families excluded)
.venv/bin/python -m edgefill_export.train --model lite --context --data texture --crop 256 --steps 400 --lr 5e-5 --lr-min 1e-5 \
    --warmup 20 --val-every 200 --save-every 100 $L --init edgefill/models/lite.safetensors --out runs/v4/surface
.venv/bin/python -m edgefill_export.ship runs/v4/surface/lite.safetensors --name lite-surface
