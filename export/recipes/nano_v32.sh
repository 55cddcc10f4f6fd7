#!/bin/bash
# Thirty-second session (docs/training.md, "Thirty-second session"): quarter turns for nano.
# The shipped nano trained on the way it was made (nano_v30.sh: the training photos and the
# training textures together, the held-out metal and wood families excluded, BatchNorm
# statistics frozen, the dB losses), twice side by side, one thread each: "rot" with --rot90
# (every crop turned by a random multiple of 90 degrees; the thirty-first session's lite gained
# from it on the H100) and "plain" without (the control: the same steps, seed and losses).
# From the repository root after `make test` and `make data`; ~50 min on the 2-core CPU; both
# runs checkpoint and resume (rerun after an interruption).
# INIT: the nano to start from, and to check against [the shipped one]; OUT: the run folder
# [runs/s32]; STEPS [3000]; LR: the starting rate [5e-5].
# The shipped nano is "plain" made from the thirtieth-session nano, which is in git history:
#   git show 98b987f:edgefill/models/nano.safetensors > nano_v30.safetensors
#   INIT=nano_v30.safetensors bash export/recipes/nano_v32.sh
set -e
export PYTHONPATH=export
INIT=${INIT:-edgefill/models/nano.safetensors}
OUT=${OUT:-runs/s32}
STEPS=${STEPS:-3000}
LR=${LR:-5e-5}
# a second round starts each run from its own first-round weights: ROT_INIT, PLAIN_INIT [INIT]
ROT_INIT=${ROT_INIT:-$INIT}
PLAIN_INIT=${PLAIN_INIT:-$INIT}
COMMON="--model nano --context --crop 256 --data both --steps $STEPS --lr $LR --lr-min 5e-6 --warmup 20
    --val-every 1000 --save-every 100 --grad-weight 1.0 --ssim-weight 0.5 --hole-weight 0 --hole-mse-weight 0
    --hole-db-weight 0.04 --freeze-bn --threads 1"
mkdir -p "$OUT"
.venv/bin/python -m edgefill_export.train $COMMON --rot90 --init "$ROT_INIT" --out "$OUT/rot" > "$OUT/rot.log" 2>&1 &
ROT=$!
.venv/bin/python -m edgefill_export.train $COMMON --init "$PLAIN_INIT" --out "$OUT/plain" > "$OUT/plain.log" 2>&1 &
PLAIN=$!
wait $ROT $PLAIN
# each against the starting nano on the validation photos and the validation textures, paired
# (the network alone with the thin refill and nano's 3 smoothing passes):
for RUN in rot plain; do
    for SET in "--val-photos" "--val-texture --families free-form,scratches,objects"; do
        .venv/bin/python export/recipes/quick_check.py "$INIT" "$OUT/$RUN/nano.safetensors" $SET \
            --per-bucket 1 --thin-px 5 --fill-passes 3 --paired
    done
done
# held out beside the shipped nano (docs/training.md, "Thirty-second session"), then shipped:
#   .venv/bin/python -m edgefill_export.ship "$OUT/plain/nano.safetensors" --int8
