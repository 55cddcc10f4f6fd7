#!/bin/bash
# The second-generation shipped models (docs/training.md), from the repository root after
# `make test` and `make data`. Every phase checkpoints and resumes: rerun after an interruption.
# INIT_LITE / INIT_NANO: the first-generation weights the first phases fine-tune from.
set -e
L="--grad-weight 1.0 --ssim-weight 0.5"
T=".venv/bin/python -m edgefill_export.train"
$T --model lite --crop 128 --steps 7000 --lr 3e-4 --warmup 100 --val-every 1000 $L --init "${INIT_LITE:-edgefill/models/lite.safetensors}" --out runs/v2/lite128
$T --model lite --crop 256 --steps 1000 --lr 1.5e-4 --warmup 50 --val-every 250 --save-every 200 $L --init runs/v2/lite128/lite.safetensors --out runs/v2/lite256
$T --model nano --crop 128 --steps 3500 --lr 3e-4 --warmup 100 --val-every 500 $L --init "${INIT_NANO:-edgefill/models/nano.safetensors}" --out runs/v2/nano128
$T --model nano --crop 256 --steps 800 --lr 1.5e-4 --warmup 50 --val-every 200 --save-every 200 $L --init runs/v2/nano128/nano.safetensors --out runs/v2/nano256
$T --model lite --data texture --crop 128 --steps 2000 --lr 2e-4 --warmup 50 --val-every 500 $L --init runs/v2/lite256/lite.safetensors --out runs/v2/surface
.venv/bin/python -m edgefill_export.ship runs/v2/lite256/lite.safetensors runs/v2/nano256/nano.safetensors --int8
.venv/bin/python -m edgefill_export.ship runs/v2/surface/lite.safetensors --name lite-surface
