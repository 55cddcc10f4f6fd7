#!/bin/bash
# Sixth session (docs/training.md, "Sixth session"): the fourth-generation lite and nano
# fine-tuned with the squared hole error in place of the hole L1 (--hole-weight 0
# --hole-mse-weight 30; gradient + SSIM losses kept), at 256 px with the training mask mix.
# From the repository root after `make test` and `make data`; every phase checkpoints and
# resumes (rerun after an interruption). INIT_LITE / INIT_NANO: the fourth-generation weights
# (default: git show 0ed0750:edgefill/models/lite.safetensors, the same for nano).
set -e
L="--grad-weight 1.0 --ssim-weight 0.5 --hole-weight 0 --hole-mse-weight 30"
C="--context --crop 256 --lr 1e-4 --lr-min 2e-5 --warmup 30 --val-every 500 --save-every 100"
T=".venv/bin/python -m edgefill_export.train"
mkdir -p runs/v6
for m in lite nano; do  # the fourth-generation weights, unless given
    [ -f runs/v6/init_$m.safetensors ] || git show 0ed0750:edgefill/models/$m.safetensors > runs/v6/init_$m.safetensors
done
# lite: 1500 steps, ~30 min on the 2-core dev CPU
$T --model lite --steps 1500 $C $L --init "${INIT_LITE:-runs/v6/init_lite.safetensors}" --out runs/v6/lite
# nano: 1200 steps
$T --model nano --steps 1200 $C $L --init "${INIT_NANO:-runs/v6/init_nano.safetensors}" --out runs/v6/nano
# nano ships as the midpoint soup of the fourth generation and this run (the only mix tried;
# it beat both on the validation photos: docs/training.md)
.venv/bin/python -m edgefill_export.soup runs/v6/init_nano.safetensors runs/v6/nano/nano.safetensors --alpha 0.5 \
    --out runs/v6/nano_soup0.5.safetensors
.venv/bin/python -m edgefill_export.ship runs/v6/lite/lite.safetensors --int8
.venv/bin/python -m edgefill_export.ship runs/v6/nano_soup0.5.safetensors --name nano --int8
