#!/usr/bin/env bash
# Runs benchmarks/frontier.py for several cohort sizes and methods in parallel, one process per
# (size, method), one thread each, then merges the results into $OUT/frontier_<size>.csv.
#   OUT=/tmp/sweep SIZES="150 400" METHODS="PCA;invariant projection" bash benchmarks/frontier_sweep.sh
set -u
OUT=${OUT:-/tmp/frontier-sweep}
SIZES=${SIZES:-"150 400 800"}
SEEDS=${SEEDS:-0,1,2}
PY=${PY:-python3}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONUNBUFFERED=1
mkdir -p "$OUT"
i=0
for n in $SIZES; do
  IFS=';' read -ra ms <<< "$METHODS"
  for m in "${ms[@]}"; do
    d="$OUT/run/n$n-$i"; mkdir -p "$d"
    "$PY" benchmarks/frontier.py --n-tumors "$n" --seeds "$SEEDS" --methods "$m" --out "$d" > "$d/log" 2>&1 &
    i=$((i + 1))
  done
done
wait
for n in $SIZES; do
  "$PY" - "$OUT" "$n" <<'PY'
import sys, glob, pandas as pd
out, n = sys.argv[1], sys.argv[2]
fs = glob.glob(f"{out}/run/n{n}-*/frontier.csv")
if fs:
    pd.concat([pd.read_csv(f) for f in fs]).to_csv(f"{out}/frontier_{n}.csv", index=False)
PY
done
cat "$OUT"/run/*/log | grep -v "^seed" | sort | uniq -c | head -20
