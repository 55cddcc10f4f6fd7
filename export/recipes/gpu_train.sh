#!/bin/bash
# One call of a training run on a lent GPU machine (docs/training.md, "Training on a lent GPU").
# Runs ON the device machine, from the repository root, with the photo pack carried:
#   runs/gpu/train.npz   (python -m edgefill_export.pack --data train --out runs/gpu/train.npz --max-side 1536)
#   runs/gpu/wheels/     optional: safetensors + tqdm wheels, only for a machine that lacks them
# The device tool sends the whole working tree (tracked files, ~39 MiB of them shipped models) and
# the carried paths, 64 MiB in all: carry the pack only (16 MiB by default), never runs/gpu whole.
# The run folder runs/gpu/<run>/ stays on the device between calls while the machine is warm (it is
# given back ~30 s after a call), so call again at once, carrying the same pack, until this prints
# "finished". Each call also copies the run folder to $OUT, so that its weights come back: the
# device tool brings back at most 8 files of at most 16 MiB, and a lite checkpoint is 18 MiB, so a
# file over PART_MIB goes back in parts (NAME.part-aa, NAME.part-ab, ...; a call that finds them
# in its run folder joins them). If the machine was given back mid-run, start a new RUN from the
# returned weights (INIT=runs/gpu/<run>/<model>.safetensors, carried with the pack): the checkpoint
# and the pack together are over the carry limit. The number of steps is planned once, on the first
# call, from a one-minute throughput probe, to fill TOTAL_MIN minutes of training; it is kept in
# runs/gpu/<run>/plan so that every later call trains towards the same schedule.
# With --ema in EXTRA the run folder holds MODEL.trained.safetensors too and the checkpoint
# holds the average: a lite run then sends back 6 files, ~37 MiB, so run one per call (two side
# by side exceed the device tool's 8 files and 64 MiB), or leave the checkpoint on the device
# with SEND_CHECKPOINT=0: it is never carried back to the device (with the pack it is over the
# carry limit; a run cut off by the machine's return goes on as a new RUN from its weights), so
# it only serves to resume on this machine. Without it a run sends back 4 files (~13 MiB for
# lite with --ema), and two runs side by side fit.
#
#   RUN=lite-gpu MODEL=lite INIT=edgefill/models/lite.safetensors bash export/recipes/gpu_train.sh
#
# Environment (defaults in brackets): RUN [lite-gpu], MODEL [lite], INIT [shipped weights of
# MODEL], PACK [runs/gpu/train.npz], DEVICE [cuda], TOTAL_MIN [20: three calls and a machine start
# within a session's 30 minutes of device time], CALL_MIN [8.5: under the device tool's 10-minute
# command limit], BATCH [32], CROP [256], LR [2e-4], WORKERS [12: batch-making processes],
# PROBE_MIN [1: on the first call, out of its CALL_MIN], EXTRA (the loss flags [those of the shipped lite
# and nano, train_v9.sh: gradient + SSIM losses and the hole error in dB]; EXTRA= trains without them),
# STEPS [planned by the probe: a whole number skips it], PART_MIB [15: larger files go back in parts],
# SEND_CHECKPOINT [1: 0 leaves checkpoint.safetensors on the device], PYTHON [python3], OUT [set by the device tool;
# runs/gpu/out elsewhere].
#
# A wider model from the shipped lite (function-preserving, docs/training.md "Eighth session"),
# widened on the device in the same command (its 14 MiB would not fit in the carry beside the pack):
#   PYTHONPATH=export python3 -m edgefill_export.widen edgefill/models/lite.safetensors --to base --out runs/gpu/base_init.safetensors
#   RUN=base-gpu MODEL=base INIT=runs/gpu/base_init.safetensors bash export/recipes/gpu_train.sh
set -euo pipefail
RUN=${RUN:-lite-gpu}
MODEL=${MODEL:-lite}
INIT=${INIT:-edgefill/models/$MODEL.safetensors}
PACK=${PACK:-runs/gpu/train.npz}
DEVICE=${DEVICE:-cuda}
TOTAL_MIN=${TOTAL_MIN:-20}
CALL_MIN=${CALL_MIN:-8.5}
BATCH=${BATCH:-32}
CROP=${CROP:-256}
LR=${LR:-2e-4}
WORKERS=${WORKERS:-12}
PROBE_MIN=${PROBE_MIN:-1}
EXTRA=${EXTRA---grad-weight 1.0 --ssim-weight 0.5 --hole-weight 0 --hole-db-weight 0.04}
PART_MIB=${PART_MIB:-15}
SEND_CHECKPOINT=${SEND_CHECKPOINT:-1}
[[ "$SEND_CHECKPOINT" =~ ^[01]$ ]] || { echo "SEND_CHECKPOINT=$SEND_CHECKPOINT: give 1 (send it back) or 0" >&2; exit 2; }
PY=${PYTHON:-python3}
DIR=runs/gpu/$RUN
OUT=${OUT:-runs/gpu/out}
mkdir -p "$DIR" "$OUT"
# join the parts a previous call sent back (see above)
for first in "$DIR"/*.part-aa; do
    [ -e "$first" ] || continue
    whole=${first%.part-aa}
    cat "$whole".part-?? > "$whole.joining" && mv "$whole.joining" "$whole" && rm -f "$whole".part-??
done
[ -f "$INIT" ] || { echo "INIT=$INIT: no such weights file" >&2; exit 2; }
# --max-minutes 0 means no limit: a probe or call of 0 minutes would run into the 600 s kill
for v in PROBE_MIN CALL_MIN TOTAL_MIN; do
    $PY -c "import sys; sys.exit(not float(sys.argv[1]) > 0)" "${!v}" 2>/dev/null || { echo "$v=${!v}: give a number of minutes > 0" >&2; exit 2; }
done

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
MINUTES=$CALL_MIN
# batch workers pass their batches through /dev/shm (~8 MiB each at 32 x 256 px, 4 ahead per worker):
# a container's default 64 MiB would fail mid-probe, so use none rather than lose the call
SHM_KB=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $4}')
if [ "$WORKERS" -gt 0 ] && [ -n "$SHM_KB" ] && [ "$SHM_KB" -lt 1048576 ]; then
    echo "note: /dev/shm has $((SHM_KB / 1024)) MiB free, under 1 GiB: batches are made in the training process (WORKERS=0)" >&2
    WORKERS=0
fi
T="$PY -m edgefill_export.train --model $MODEL $ARCH --device $DEVICE --pack $PACK --batch $BATCH --crop $CROP --workers $WORKERS"
if [ ! -f "$DIR/plan" ] && [ -n "${STEPS:-}" ]; then
    # a fixed number of steps (to match another run's) needs no probe
    [[ "$STEPS" =~ ^[1-9][0-9]*$ ]] || { echo "STEPS=$STEPS: give a whole number of steps > 0" >&2; exit 2; }
    echo "$STEPS" > "$DIR/plan"
    echo "plan: $STEPS steps (STEPS)"
fi
if [ ! -f "$DIR/plan" ]; then
    # Throughput probe: train PROBE_MIN minutes into a scratch folder, read steps/s from its log.
    rm -rf "$DIR/probe"
    $T --steps 1000000 --lr "$LR" --warmup 100 --val-every 1000000 --save-every 1000000 --max-minutes "$PROBE_MIN" \
        --init "$INIT" --out "$DIR/probe" $EXTRA >/dev/null
    # written whole or not at all: an empty plan made every later call fail
    $PY - "$DIR/probe/log.csv" "$TOTAL_MIN" > "$DIR/plan.tmp" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
if not rows:
    sys.exit(f"the throughput probe logged no step in PROBE_MIN minutes ({sys.argv[1]}); raise PROBE_MIN")
# the rate between the first and the last logged row: the time to the first row holds the start-up
# (batch workers importing torch and decoding the pack: ~55 s on the H100 machine, thirty-first
# session), and a rate from step 0 planned 100 steps where 40 a second ran; with one row only, the
# rate from step 0 (too low, never too high)
(s0, t0), (s1, t1) = ((int(r["step"]), float(r["time"])) for r in (rows[0], rows[-1]))
if len(rows) < 2:
    s0 = t0 = 0
print(max(100, int((s1 - s0) / max(t1 - t0, 1e-3) * 60 * float(sys.argv[2]) * 0.95)))
EOF
    mv "$DIR/plan.tmp" "$DIR/plan"
    echo "probe: $(tail -1 "$DIR/probe/log.csv" | cut -d, -f1,2) (step, s); plan: $(cat "$DIR/plan") steps in $TOTAL_MIN min"
    rm -rf "$DIR/probe"
    # the probe's minutes (and this call's start-up so far) come out of this call's CALL_MIN: a first
    # call that trained its whole CALL_MIN after the probe ran 9.5 minutes of training and two
    # start-ups, at the device tool's 10-minute limit; killed there, it copies nothing to $OUT
    MINUTES=$($PY -c "import sys; c, s = float(sys.argv[1]), int(sys.argv[2]); print(f'{max(c / 4, c - s / 60):.4g}')" \
        "$CALL_MIN" "$SECONDS")
    echo "this call trains $MINUTES min after the probe"
fi
STEPS=$(cat "$DIR/plan")
$T --steps "$STEPS" --lr "$LR" --lr-min 1e-5 --warmup 100 --val-every 500 --save-every 250 \
    --max-minutes "$MINUTES" --init "$INIT" --out "$DIR" $EXTRA
if $PY -c "import json,sys; from safetensors import safe_open; m=safe_open(sys.argv[1],'pt').metadata(); sys.exit(m.get('finished')!='true')" "$DIR/$MODEL.safetensors"; then
    echo "finished: $STEPS steps"
else
    echo "not finished: call again at once, carrying the same pack ($DIR stays on the warm machine)"
fi
# staged under another name and renamed when whole: a call killed mid-copy sends back
# $RUN.incomplete, never a $RUN folder with some of a checkpoint's parts
if [ "$(realpath -m "$OUT/$RUN")" != "$(realpath -m "$DIR")" ]; then
    STAGE=$OUT/$RUN.incomplete
    rm -rf "$STAGE"
    mkdir -p "$STAGE"
    for f in "$DIR"/*; do
        [ -f "$f" ] || continue
        [ "$SEND_CHECKPOINT" = 0 ] && [ "${f##*/}" = checkpoint.safetensors ] && continue
        if [ "$(stat -c %s "$f")" -gt $((PART_MIB * 1048576)) ]; then
            split -b $((PART_MIB * 1048576)) -a 2 "$f" "$STAGE/${f##*/}.part-"
        else
            cp "$f" "$STAGE/"
        fi
    done
    rm -rf "${OUT:?}/$RUN"
    mv "$STAGE" "$OUT/$RUN"
fi
