#!/usr/bin/env bash
# Cost as the data grows: MNIST enlarged to each size (the 60,000 originals, then seeded shifts and
# rotations of them: graft bench-growth-data), imported, pre-trained for one epoch, evaluated, and a
# feature-extraction head trained on the cached outputs of the frozen base, on the local standalone
# cluster (2 one-core workers), each job in its own driver; then dl4j-spark's Export and Direct
# approaches for one epoch in the embedded mode (Export needs a shared filesystem on a cluster).
# Each job's own time (its job_s line: without the JVM's and Spark session's start) is turned into
# seconds per 10,000 rows; the peak resident memory of the driver and of the largest executor is
# polled each second (VmHWM). Writes $out/growth.md (the table of docs/benchmarks/performance.md)
# and prints one key=value line per job.
# Seconds per 10,000 rows include each job's fixed costs (executors starting, the test set's evaluation),
# which weigh most at the smallest size; the marginal cost between consecutive sizes, (t2 - t1) per
# (n2 - n1) rows, is what must stay flat for cost to grow linearly.
#   deploy/bench/growth.sh [--sizes 60000,600000,1200000] [--model mlp] [--out target/bench-growth]
#   deploy/bench/growth.sh --table-only [--out DIR]   (the table again from DIR/results.txt)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sizes=60000,600000,1200000; model=mlp; out="$root/target/bench-growth"; table_only=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --table-only) table_only=1; shift ;;
    *) echo "growth: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$root"
graft=deploy/bin/graft
source "$root/deploy/bench/lib.sh"   # mnist_data, host_line, loopback_cluster, watch_peaks
# the table: one row per job and size, seconds per 10,000 rows and peak memory, each size against the first
table() {
  awk -v host="$host" -v model="$model" '
    { name = $1; sub(/-[0-9]+$/, "", name); sub(/-[0-9]+-epoch$/, "-epoch", name)
      for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      n = v["rows"]; if (!(n in seen)) { seen[n] = 1; order[++sizes] = n }
      if (name ~ /-epoch$/) { t[name, n] = v["epoch_s"]; drv[name, n] = "" }
      else { t[name, n] = v["job_s"]; drv[name, n] = v["driver_peak_rss_mb"]; exe[name, n] = v["executor_peak_rss_mb"] }
      if (!(name in known)) { known[name] = 1; names[++count] = name }
      delete v }
    function k(n) { return n >= 1000000 ? sprintf("%.1fM", n / 1000000) : sprintf("%dk", n / 1000) }
    END {
      printf "| job | where |"; for (s = 1; s <= sizes; s++) printf " s per 10k at %s |", k(order[s])
      for (s = 2; s <= sizes; s++) printf " marginal s per 10k, %s to %s |", k(order[s - 1]), k(order[s])
      if (sizes > 2) printf " last marginal vs first |"
      for (s = 1; s <= sizes; s++) printf " driver / executor MB at %s |", k(order[s])
      printf " driver peak, largest vs %s |", k(order[1])
      printf "\n|---|---|"; for (s = 1; s <= 3 * sizes + (sizes > 2); s++) printf "---|"; printf "\n"
      for (j = 1; j <= count; j++) {
        name = names[j]; where = name ~ /^(export|direct)/ ? "embedded" : "cluster"
        printf "| %s | %s |", name, where
        for (s = 1; s <= sizes; s++) printf " %.2f |", 10000 * t[name, order[s]] / order[s]
        for (s = 2; s <= sizes; s++) { m[s] = 10000 * (t[name, order[s]] - t[name, order[s - 1]]) / (order[s] - order[s - 1]); printf " %.2f |", m[s] }
        if (sizes > 2) printf " %.2fx |", m[sizes] / m[2]
        for (s = 1; s <= sizes; s++) printf " %s |", drv[name, order[s]] == "" ? "-" : where == "embedded" ? drv[name, order[s]] " (one JVM)" : drv[name, order[s]] " / " exe[name, order[s]]
        top = 0; for (s = 2; s <= sizes; s++) if (drv[name, order[s]] + 0 > top) top = drv[name, order[s]] + 0
        if (drv[name, order[1]] == "" || where == "embedded") printf " - |"; else printf " %.2fx |", top / drv[name, order[1]]
        printf "\n"
      }
      printf "\nModel: %s, one epoch. `-epoch` rows: the training pass of the run above them (samples / samples per second); the others: the job'"'"'s own time (without the JVM'"'"'s and the Spark session'"'"'s start), which includes fixed costs (executors starting, the 10,000-row test set scored) that weigh most at the smallest size; the marginal cost between two sizes is the one that stays flat when cost grows linearly. Cluster: local standalone, 2 workers x 1 core, 2 GB executors; embedded: local[*] in one JVM (driver = executor).\n\n%s\n", model, host
    }' "$out/results.txt"
}

if [[ "$table_only" == 1 ]]; then
  host="$(sed -n 's/^host: /host: /p' "$out/host.txt")"
  table >"$out/growth.md"
  cat "$out/growth.md"
  exit 0
fi
host="$(host_line)"
echo "$host" >"$out/host.txt"
mnist_data

loopback_cluster "$out/cluster"

: >"$out/results.txt"
# job NAME ROWS WHERE ARGS...: runs a graft command on the cluster (WHERE=cluster) or embedded (WHERE=embedded),
# polling the driver's and the largest executor's peak RSS; records job_s, s_per_10k and the peaks
job() {
  local name="$1" rows="$2" where="$3"
  shift 3
  if [[ "$where" == cluster ]]; then
    deploy/bin/graft-submit --master "spark://127.0.0.1:$port" --total-executor-cores 2 --executor-cores 1 --executor-memory 2g \
      "$@" >"$out/$name.out" 2>"$out/$name.err" &
  else
    "$graft" "$@" >"$out/$name.out" 2>"$out/$name.err" &
  fi
  local executors=""
  [[ "$where" == cluster ]] && executors=yes
  watch_peaks $! $executors || { echo "growth: $name failed; see $out/$name.err" >&2; exit 1; }
  local s
  s="$(sed -n 's/.*job_s=\([0-9.]*\).*/\1/p' "$out/$name.err" | tail -1)"
  [[ -n "$s" ]] || { echo "growth: $name printed no job_s line; see $out/$name.err" >&2; exit 1; }
  echo "$name rows=$rows where=$where job_s=$s s_per_10k=$(awk -v s="$s" -v n="$rows" 'BEGIN { printf "%.2f", s * 10000 / n }') \
driver_peak_rss_mb=$driver_mb executor_peak_rss_mb=$exec_mb" | tee -a "$out/results.txt"
}

# epoch NAME ROWS: the training pass of a one-epoch pre-training run (samples / samples per second), per 10,000 rows
epoch() {
  local name="$1" rows="$2" line
  line="$(tail -n 1 "$out/models/$name/metrics.jsonl")"
  awk -v line="$line" -v name="$name" -v n="$rows" 'BEGIN {
    match(line, /"samples":[0-9]+/); samples = substr(line, RSTART + 10, RLENGTH - 10)
    match(line, /"samples_per_s":[0-9.]+/); rate = substr(line, RSTART + 16, RLENGTH - 16)
    printf "%s-epoch rows=%d epoch_s=%.1f epoch_s_per_10k=%.2f samples_per_s=%.0f\n", name, n, samples / rate, samples / rate * 10000 / n, rate
  }' | tee -a "$out/results.txt"
}

IFS=, read -r -a sizes_list <<<"$sizes"
for n in "${sizes_list[@]}"; do
  if [[ ! -f "$out/idx-$n/train-images-idx3-ubyte" ]]; then
    "$graft" bench-growth-data --images data/raw/mnist/train-images-idx3-ubyte --labels data/raw/mnist/train-labels-idx1-ubyte \
      --rows "$n" --output "$out/idx-$n" >"$out/data-$n.out" 2>&1
  fi
  rm -rf "$out/ds-$n" "$out/models/pretrain-$n" "$out/models/cached-$n" "$out/models/export-$n" "$out/models/direct-$n"
  job "import-$n" "$n" cluster import --format idx --input "$out/idx-$n/train-images-idx3-ubyte" --output "$out/ds-$n" --num-classes 10
  common=(--config deploy/conf/pretrain-lenet-mnist.yaml --set "model.architecture=$model" --set "data.train=$out/ds-$n"
    --set "data.test=$out/mnist-test" --set training.epochs=1)
  job "pretrain-$n" "$n" cluster pretrain "${common[@]}" --set training.engine=graft --set "output=$out/models/pretrain-$n"
  epoch "pretrain-$n" "$n"
  job "evaluate-$n" "$n" cluster evaluate "$out/models/pretrain-$n" --data "$out/ds-$n"
  job "cached-$n" "$n" cluster finetune --config deploy/conf/finetune-fashion.yaml --set "source=$out/models/pretrain-$n" \
    --set "data.train=$out/ds-$n" --set "data.test=$out/mnist-test" --set data.labelsPerClass=0 --set strategy=feature-extraction \
    --set epochs=1 --set training.engine=graft --set "output=$out/models/cached-$n"
  for approach in export direct; do
    job "$approach-$n" "$n" embedded pretrain "${common[@]}" --set training.engine=dl4j-spark --set "training.approach=$approach" \
      --set "output=$out/models/$approach-$n"
    epoch "$approach-$n" "$n"
  done
done

table >"$out/growth.md"
cat "$out/growth.md"
