#!/bin/bash
# Thirty-third session (docs/training.md, "Thirty-third session"): a moving average of the
# weights (train --ema) for nano. The shipped nano trained on as nano_v32.sh trains it (the
# training photos and textures together, the held-out metal and wood families excluded,
# BatchNorm statistics frozen, the dB losses) at twice its starting rate, with --ema 0.999,
# twice side by side, one thread each: "rot" with --rot90 and "plain" without (same seed).
# Each run writes the average (nano.safetensors) and its trained weights
# (nano.trained.safetensors), so each compares the two paired on the same trajectory.
# From the repository root after `make test` and `make data`; ~50 min on the 2-core CPU; both
# runs checkpoint and resume (rerun after an interruption).
# INIT: the nano to start from, and to check against [the shipped one]; OUT [runs/s33];
# STEPS [3000]; LR: the starting rate [1e-4]; EMA: the decay [0.999].
# The shipped nano is "rot"'s weight average made from the thirty-second-session nano (with the
# share 0.4 mix the thirty-third session recorded), which is in git history:
#   git show da4780d:edgefill/models/nano.safetensors > nano_v32.safetensors
#   INIT=nano_v32.safetensors bash export/recipes/nano_v33.sh
#   .venv/bin/python -m edgefill_export.ship runs/s33/rot/nano.safetensors --int8
set -e
export PYTHONPATH=export
INIT=${INIT:-edgefill/models/nano.safetensors}
OUT=${OUT:-runs/s33}
STEPS=${STEPS:-3000}
LR=${LR:-1e-4}
EMA=${EMA:-0.999}
COMMON="--model nano --context --crop 256 --data both --steps $STEPS --lr $LR --lr-min 5e-6 --warmup 20
    --val-every 500 --save-every 100 --grad-weight 1.0 --ssim-weight 0.5 --hole-weight 0 --hole-mse-weight 0
    --hole-db-weight 0.04 --freeze-bn --ema $EMA --threads 1"
mkdir -p "$OUT"
.venv/bin/python -m edgefill_export.train $COMMON --rot90 --init "$INIT" --out "$OUT/rot" > "$OUT/rot.log" 2>&1 &
ROT=$!
.venv/bin/python -m edgefill_export.train $COMMON --init "$INIT" --out "$OUT/plain" > "$OUT/plain.log" 2>&1 &
PLAIN=$!
wait $ROT $PLAIN
# each weights file against the starting nano on the validation photos and textures, paired
# (the network alone with the thin refill and nano's 3 smoothing passes):
for W in rot/nano rot/nano.trained plain/nano plain/nano.trained; do
    for SET in "--val-photos" "--val-texture --families free-form,scratches,objects"; do
        echo "== $W $SET"
        .venv/bin/python export/recipes/quick_check.py "$INIT" "$OUT/$W.safetensors" $SET \
            --per-bucket 1 --thin-px 5 --fill-passes 3 --paired
    done
done
