#!/bin/bash
# One call of a training run on a lent GPU machine (docs/training.md, "Training on a lent GPU").
# Runs ON the device machine, from the repository root, with runs/gpu carried:
#   runs/gpu/train.npz   the photo pack (python -m edgefill_export.pack --data train --out runs/gpu/train.npz)
#   runs/gpu/wheels/     safetensors + tqdm wheels, used only if the machine lacks them
#   runs/gpu/<run>/      the run folder brought back by the previous call (absent on the first)
# and copies the run folder to $OUT, so that it comes back. Call it again (carrying the returned
# folder) until it prints "finished". The number of steps is planned once, on the first call,
# from a one-minute throughput probe, to fill TOTAL_MIN minutes of training; it is kept in
# runs/gpu/<run>/plan so that every later call trains towards the same schedule.
#
#   RUN=lite-gpu MODEL=lite INIT=edgefill/models/lite.safetensors bash export/recipes/gpu_train.sh
#
# Environment (defaults in brackets): RUN [lite-gpu], MODEL [lite], INIT [shipped weights of
# MODEL], PACK [runs/gpu/train.npz], DEVICE [cuda], TOTAL_MIN [24], CALL_MIN [8.5: under the
# device tool's 10-minute command limit], BATCH [32], CROP [256], LR [2e-4], WORKERS [12],
# PROBE_MIN [1], EXTRA (the loss flags [those of the shipped lite and nano, train_v9.sh: gradient + SSIM
# losses and the hole error in dB]).
#
# A wider model from the shipped lite (function-preserving, docs/training.md "Eighth session"); its
# checkpoint is 41 MiB, so pack the photos into 20 MiB (--budget-mib 20) to stay under the 64 MiB carry:
#   python -m edgefill_export.widen edgefill/models/lite.safetensors --to base --out runs/gpu/base_init.safetensors
#   RUN=base-gpu MODEL=base INIT=runs/gpu/base_init.safetensors bash export/recipes/gpu_train.sh
set -euo pipefail
RUN=${RUN:-lite-gpu}
MODEL=${MODEL:-lite}
INIT=${INIT:-edgefill/models/$MODEL.safetensors}
PACK=${PACK:-runs/gpu/train.npz}
DEVICE=${DEVICE:-cuda}
TOTAL_MIN=${TOTAL_MIN:-24}
CALL_MIN=${CALL_MIN:-8.5}
BATCH=${BATCH:-32}
CROP=${CROP:-256}
LR=${LR:-2e-4}
WORKERS=${WORKERS:-12}
PROBE_MIN=${PROBE_MIN:-1}
EXTRA=${EXTRA:---grad-weight 1.0 --ssim-weight 0.5 --hole-weight 0 --hole-db-weight 0.04}
PY=${PYTHON:-python3}
DIR=runs/gpu/$RUN
OUT=${OUT:-runs/gpu/out}
mkdir -p "$DIR" "$OUT"

export PYTHONPATH=".:export:runs/gpu/site${PYTHONPATH:+:$PYTHONPATH}"
if ! $PY -c "import safetensors, tqdm" 2>/dev/null; then
    ls runs/gpu/wheels/*.whl >/dev/null 2>&1 || { echo "safetensors/tqdm missing and no runs/gpu/wheels to install from" >&2; exit 2; }
    $PY -m pip install -q --no-index --no-deps --target runs/gpu/site runs/gpu/wheels/*.whl
fi
$PY - "$DEVICE" <<'EOF'
import sys, torch
dev = sys.argv[1]
if dev.startswith("cuda") and not torch.cuda.is_available():
    sys.exit("no CUDA device visible to torch")
print(f"torch {torch.__version__}, device {dev}" + (f" ({torch.cuda.get_device_name(0)})" if dev.startswith("cuda") else ""))
EOF

# weights with the global-context block (fourth generation on) or the refinement head (fifth)
# are fine-tuned with them
ARCH=$($PY -c "import sys; from safetensors import safe_open; m = safe_open(sys.argv[1], 'pt').metadata()
print(('--context ' if m.get('context') == 'true' else '') + ('--refine ' + m['refine'] if m.get('refine', '0') != '0' else ''))" "$INIT")
T="$PY -m edgefill_export.train --model $MODEL $ARCH --device $DEVICE --pack $PACK --batch $BATCH --crop $CROP --workers $WORKERS"
if [ ! -f "$DIR/plan" ]; then
    # Throughput probe: train PROBE_MIN minutes into a scratch folder, read steps/s from its log.
    rm -rf "$DIR/probe"
    $T --steps 1000000 --lr "$LR" --warmup 100 --val-every 1000000 --save-every 1000000 --max-minutes "$PROBE_MIN" \
        --init "$INIT" --out "$DIR/probe" $EXTRA >/dev/null
    $PY - "$DIR/probe/log.csv" "$TOTAL_MIN" > "$DIR/plan" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
step, secs = int(rows[-1]["step"]), float(rows[-1]["time"])
print(max(100, int(step / secs * 60 * float(sys.argv[2]) * 0.95)))
EOF
    echo "probe: $(tail -1 "$DIR/probe/log.csv" | cut -d, -f1,2) (step, s); plan: $(cat "$DIR/plan") steps in $TOTAL_MIN min"
    rm -rf "$DIR/probe"
fi
STEPS=$(cat "$DIR/plan")
$T --steps "$STEPS" --lr "$LR" --lr-min 1e-5 --warmup 100 --val-every 500 --save-every 250 \
    --max-minutes "$CALL_MIN" --init "$INIT" --out "$DIR" $EXTRA
if $PY -c "import json,sys; from safetensors import safe_open; m=safe_open(sys.argv[1],'pt').metadata(); sys.exit(m.get('finished')!='true')" "$DIR/$MODEL.safetensors"; then
    echo "finished: $STEPS steps"
else
    echo "not finished: call again with $DIR carried"
fi
cp -r "$DIR" "$OUT/"
