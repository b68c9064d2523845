#!/usr/bin/env bash
# Scaling on the local standalone cluster (deploy/local-cluster/spark-standalone.sh, 2 one-core
# workers): graft pretrain of LeNet on MNIST with 1 executor, then 2, on Graft's averaging (barrier
# rounds, then steps), same rows, batch, averaging frequency and epochs. Prints one line per run with
# samples/s and wall time of the last round, and the peak resident memory of the driver and of the
# largest executor (VmHWM, polled each second).
#   deploy/bench/scaling.sh [--rows 20000] [--epochs 2] [--frequency 10] [--out target/bench-scaling]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rows=20000; epochs=2; frequency=10; out="$root/target/bench-scaling"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --frequency) frequency="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "scaling: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$root"
graft=deploy/bin/graft
source "$root/deploy/bench/lib.sh"   # mnist_data, loopback_cluster, watch_peaks (this script has its own run)
mnist_data

loopback_cluster "$out/cluster"

: >"$out/results.txt"
# run NAME EXECUTORS SYNC
run() {
  local name="$1" executors="$2" sync="$3" t0 t1
  t0=$(date +%s)
  deploy/bin/graft-submit --master "spark://127.0.0.1:$port" --total-executor-cores "$executors" --executor-cores 1 \
    --executor-memory 2g pretrain --config deploy/conf/pretrain-lenet-mnist.yaml \
    --set "data.train=$out/mnist-train" --set "data.test=$out/mnist-test" --set data.maxTestRows=2000 \
    --set "training.maxRows=$rows" --set "training.epochs=$epochs" --set "training.averagingFrequency=$frequency" --set training.engine=graft --set "training.sync=$sync" \
    --set "output=$out/models/$name" >"$out/$name.out" 2>"$out/$name.err" &
  # peak RSS of the driver (graft-submit execs its JVM) and of the largest executor, polled each second
  watch_peaks $! executors || { echo "scaling: $name failed; see $out/$name.err" >&2; exit 1; }
  t1=$(date +%s)
  local last
  last="$(tail -n 1 "$out/models/$name/metrics.jsonl")"
  echo "$name executors=$executors sync=$sync frequency=$frequency $(echo "$last" | tr -d '{}"' | tr ',' '\n' \
    | grep -E '^(samples_per_s|wall_s|test_accuracy):' | tr ':' '=' | paste -sd' ') job_s=$((t1 - t0)) driver_peak_rss_mb=$driver_mb executor_peak_rss_mb=$exec_mb" | tee -a "$out/results.txt"
}
run one-executor 1 auto
run two-executors-barrier 2 barrier
run two-executors-steps 2 steps
echo "scaling: results in $out/results.txt"
