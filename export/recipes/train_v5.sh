#!/bin/bash
# The fifth-generation lite-surface (docs/training.md, "Fifth generation"): the fourth-generation
# lite with a full-resolution refinement head (--refine 16), trained 1200 steps on the photos
# with the training mask mix, then fine-tuned 700 steps on the training textures, and finally
# interpolated with the photo model (a weight soup, 0.3 x photo + 0.7 x texture; sixth session). From the
# repository root after `make test` and `make data`; every phase checkpoints and resumes (rerun
# after an interruption). About 11 + 12 + 13 min on the 2-core dev CPU (phases 2 and 3 ran with
# --threads 1 beside their A/B twins, ~20 min each). INIT_LITE: the fourth-generation lite
# (git show 0ed0750:edgefill/models/lite.safetensors; the shipped lite is the sixth session's, train_v6.sh).
set -e
L="--grad-weight 1.0 --ssim-weight 0.5"
T=".venv/bin/python -m edgefill_export.train --model lite --context --refine 16 --crop 256"
mkdir -p runs/v5
[ -f runs/v5/init_lite.safetensors ] || git show 0ed0750:edgefill/models/lite.safetensors > runs/v5/init_lite.safetensors
# 1: the head on the photos (the A/B against the same 600 steps without it: docs/training.md)
$T --steps 600 --lr 1e-4 --lr-min 3e-5 --warmup 30 --val-every 600 --save-every 200 \
    $L --init "${INIT_LITE:-runs/v5/init_lite.safetensors}" --out runs/v5/abC
# 2: the first 600 steps of a 3000-step schedule (the A/B of --hole-norm ran beside it)
$T --steps 3000 --stop-at 600 --lr 1e-4 --lr-min 2e-5 --warmup 30 --val-every 1000 --save-every 200 \
    $L --init runs/v5/abC/lite.safetensors --out runs/v5/E
# 3: the training textures (the held-out metal and wood families excluded). Compared, not shipped:
# the same 700 steps from the fourth-generation lite without the head (runs/v5/S0), and 900 steps
# on photos + textures (--data both, runs/v5/S2): docs/training.md, "Fifth generation".
$T --data texture --steps 700 --lr 8e-5 --lr-min 1e-5 --warmup 20 --val-every 700 --save-every 100 \
    $L --init runs/v5/E/lite.safetensors --out runs/v5/S1
# 4: the photo model 100 steps further (the same schedule, resumed to step 700), then the soup:
# 0.3 x it + 0.7 x the texture model. 0.7 maximised the mean quick-check gain on the validation
# textures (every 10th training texture, never the held-out families; docs/training.md, "Sixth session"):
#   for A in 0 0.2 0.4 0.5 0.6 0.7 0.8 0.9 1; do
#     .venv/bin/python -m edgefill_export.soup runs/v5/E/lite.safetensors runs/v5/S1/lite.safetensors --alpha $A --out runs/v5/soup$A.safetensors
#     PYTHONPATH=export .venv/bin/python export/recipes/quick_check.py runs/v5/soup$A.safetensors --val-texture --families free-form,scratches,objects
#   done
$T --steps 3000 --stop-at 700 --lr 1e-4 --lr-min 2e-5 --warmup 30 --val-every 1000 --save-every 200 \
    $L --init runs/v5/abC/lite.safetensors --out runs/v5/E
.venv/bin/python -m edgefill_export.soup runs/v5/E/lite.safetensors runs/v5/S1/lite.safetensors --alpha 0.7 \
    --out runs/v5/soup/lite.safetensors
.venv/bin/python -m edgefill_export.ship runs/v5/soup/lite.safetensors --name lite-surface --int8
