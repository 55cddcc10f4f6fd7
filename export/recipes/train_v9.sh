#!/bin/bash
# Ninth session (docs/training.md, "Ninth session"): the sixth-session lite and nano fine-tuned
# with each image's hole error in dB (--hole-db-weight 0.04, the mean hole PSNR the quality
# benchmark reports, negated) in place of the pooled squared hole error; gradient + SSIM losses
# kept, 256 px, the training mask mix. From the repository root after `make test` and
# `make data`; every run checkpoints and resumes (rerun after an interruption). INIT_LITE /
# INIT_NANO: the sixth-session weights (default: git show b1b2afa:edgefill/models/lite.safetensors,
# the same for nano). ~30 + ~20 min on the 2-core CPU.
set -e
L="--grad-weight 1.0 --ssim-weight 0.5 --hole-weight 0 --hole-mse-weight 0 --hole-db-weight 0.04"
C="--context --crop 256 --lr 1e-4 --lr-min 2e-5 --warmup 30 --val-every 500 --save-every 100"
T=".venv/bin/python -m edgefill_export.train"
mkdir -p runs/v9
for m in lite nano; do  # the sixth-session weights, unless given
    [ -f runs/v9/init_$m.safetensors ] || git show b1b2afa:edgefill/models/$m.safetensors > runs/v9/init_$m.safetensors
done
$T --model lite --steps 2000 $C $L --init "${INIT_LITE:-runs/v9/init_lite.safetensors}" --out runs/v9/db
$T --model nano --steps 1200 $C $L --init "${INIT_NANO:-runs/v9/init_nano.safetensors}" --out runs/v9/nanoDb
.venv/bin/python -m edgefill_export.ship runs/v9/db/lite.safetensors runs/v9/nanoDb/nano.safetensors --int8
