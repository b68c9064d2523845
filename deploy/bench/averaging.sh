#!/usr/bin/env bash
# Averaging frequency, prefetch and Export vs Direct: graft pretrain of LeNet on the
# same MNIST rows with the same sample budget (--rows x --epochs), on the embedded local[*] Spark,
# one setting changed per run. Prints one line per run with samples/s of the last round (training
# pass only), its wall time and the test accuracy after the budget (docs/benchmarks/performance-history.md).
#   deploy/bench/averaging.sh [--rows 20000] [--epochs 2] [--seed 42] [--out target/bench-averaging]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rows=20000; epochs=2; seed=42; out="$root/target/bench-averaging"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "averaging: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$root"
graft=deploy/bin/graft
source "$root/deploy/bench/lib.sh"   # mnist_data (this script has its own run)
mnist_data

: >"$out/results.txt"
# run NAME --set KEY=VALUE...: one pretrain; the last round of its metrics.jsonl
run() {
  local name="$1" t0 t1 last; shift
  t0=$(date +%s)
  "$graft" pretrain --config deploy/conf/pretrain-lenet-mnist.yaml --set "data.train=$out/mnist-train" --set "data.test=$out/mnist-test" \
    --set "training.maxRows=$rows" --set "training.epochs=$epochs" --set "training.seed=$seed" "$@" --set "output=$out/models/$name" \
    >"$out/$name.out" 2>"$out/$name.err" || { echo "averaging: $name failed; see $out/$name.err" >&2; exit 1; }
  t1=$(date +%s)
  last="$(tail -n 1 "$out/models/$name/metrics.jsonl")"
  echo "$name $(echo "$last" | tr -d '{}"' | tr ',' '\n' | grep -E '^(samples_per_s|wall_s|test_accuracy):' | tr ':' '=' | paste -sd' ') job_s=$((t1 - t0))" \
    | tee -a "$out/results.txt"
}
for f in 1 5 10 20; do
  run "graft-f$f" --set training.engine=graft --set "training.averagingFrequency=$f"
done
for f in 1 5 10 20; do
  run "dl4j-export-f$f" --set training.engine=dl4j-spark --set training.approach=export --set "training.averagingFrequency=$f"
done
run dl4j-export-f10-noprefetch --set training.engine=dl4j-spark --set training.approach=export --set training.averagingFrequency=10 \
  --set training.prefetch=0
run dl4j-direct-f10 --set training.engine=dl4j-spark --set training.approach=direct --set training.averagingFrequency=10
echo "averaging: results in $out/results.txt"
