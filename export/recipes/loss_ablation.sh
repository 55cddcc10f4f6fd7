#!/bin/bash
# Loss ablation of docs/training.md: nano, 128 px crops, fine-tuned from the same weights,
# one variant at a time (run from the repository root after `make test` and `make data`).
# Compare the val_hole_psnr / val_hole_ssim columns of runs/ablation/*/log.csv at step 1000.
set -e
T=".venv/bin/python -m edgefill_export.train"
common="--model nano --crop 128 --steps 1500 --lr 2e-4 --warmup 50 --val-every 500 --save-every 500 --init ${INIT:-edgefill/models/nano.safetensors}"
for v in "base:" "grad:--grad-weight 1.0" "ssim:--ssim-weight 0.5" "gan:--gan-weight 0.01" "grad_ssim:--grad-weight 1.0 --ssim-weight 0.5"; do
  name=${v%%:*}; args=${v#*:}
  $T $common $args --out runs/ablation/$name
done
