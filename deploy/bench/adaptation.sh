#!/usr/bin/env bash
# Reproduces docs/benchmarks/adaptation.md: source-only vs DANN (MNIST -> UCI digits, IMDB -> Amazon)
# and multi-task vs single-task (MNIST + Fashion-MNIST, 1,000 labels per task), over seeds.
#   deploy/bench/adaptation.sh [--seeds "1 2 3"] [--lambdas "0.3"] [--only digits|digits-resnet|text|text-wink|multitask] [--out DIR] [--reuse]
#                              [--set KEY=VALUE ...]
# digits-resnet: MNIST -> UCI digits on a residual trunk (model.architecture resnet, stages [1, 1], widths [16, 32], Adam 0.002
# annealed as the config says, 5 rounds); run only when named.
# --lambdas: the DANN rows beside source-only (lambda 0); --reuse: runs that finished in DIR before are not repeated;
# --set: a config override for every DANN run after the experiment's own (repeatable), e.g. --set training.epochs=10.
# Needs the datasets the configs name (see the comments at the top of each deploy/conf file).
# Prints one line per run and a Markdown table per experiment (mean +- sample std over seeds).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
graft="$root/deploy/bin/graft"
seeds="1 2 3"; lambdas="0.3"; only=""; out="${TMPDIR:-/tmp}/graft-bench-adaptation"; reuse=0; sets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --lambdas) lambdas="$2"; shift 2 ;;
    --reuse) reuse=1; shift ;;
    --out) out="$2"; shift 2 ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
cd "$root"   # the configs name datasets relative to the checkout
DIGITS="{name: digits, train: graft-demo/data/mnist/train, test: graft-demo/data/mnist/test, labelsPerClass: 100}"
FASHION="{name: fashion, train: graft-demo/data/fashion/train, test: graft-demo/data/fashion/test, labelsPerClass: 100}"

source "$root/deploy/bench/lib.sh"   # run NAME CMD...

# table TITLE KEY ROW...: mean +- sample std of KEY over seeds for each row (runs named ROW-sN)
table() {
  local title="$1" key="$2"; shift 2
  echo; echo "### $title"; echo; echo "| run | $key (mean +- std, %) | seeds | mean wall (s) |"; echo "|---|---|---|---|"
  for row in "$@"; do
    grep "^$row-s[0-9]* $key=" "$out/results.txt" | awk -v row="$row" '{
        split($2, a, "="); split($3, w, "="); x[NR] = 100 * a[2]; s += 100 * a[2]; ws += w[2] }
      END { m = s / NR; v = 0; for (i = 1; i <= NR; i++) v += (x[i] - m) ^ 2; sd = NR > 1 ? sqrt(v / (NR - 1)) : 0;
            printf "| %s | %.2f +- %.2f | %d | %.0f |\n", row, m, sd, NR, ws / NR }'
  done
}

: > "$out/results.txt"
host_line
# dann_table TITLE NAME: the source-only (NAME-lambda0) and DANN (NAME-lambdaL for each of $lambdas) rows as docs/benchmarks/adaptation.md
# shows them: target accuracy mean +- sample std and per seed, the gain over source-only (mean, per seed), source
# accuracy and the domain classifier's balanced accuracy (mean +- std)
dann_table() {
  local title="$1" name="$2"
  echo; echo "### $title"; echo
  echo "| run | target accuracy | per seed ($seeds) | vs source-only | source accuracy | domain accuracy (balanced) |"
  echo "|---|---|---|---|---|---|"
  awk -v name="$name" -v seeds="$seeds" -v lambdas="0 $lambdas" '
    function stats(arr, n,   i, m, v) { m = 0; for (i = 1; i <= n; i++) m += arr[i]; m /= n; v = 0
      for (i = 1; i <= n; i++) v += (arr[i] - m) ^ 2; return sprintf("%.2f +- %.2f %%", m, n > 1 ? sqrt(v / (n - 1)) : 0) }
    { split($2, kv, "="); run[$1, kv[1]] = 100 * kv[2] }
    END {
      n = split(seeds, s, " "); rows = split(lambdas, lams, " ")
      for (r = 0; r < rows; r++) {
        lam = lams[r + 1]; row = name "-lambda" lam
        per = ""; gains = ""; g = 0
        for (i = 1; i <= n; i++) {
          id = row "-s" s[i]; t[i] = run[id, "target_accuracy"]; src[i] = run[id, "source_accuracy"]; dom[i] = run[id, "domain_accuracy"]
          per = per (i > 1 ? ", " : "") sprintf("%.2f", t[i])
          d[i] = t[i] - run[name "-lambda0-s" s[i], "target_accuracy"]; g += d[i]
          gains = gains (i > 1 ? ", " : "") sprintf("%+.2f", d[i])
        }
        vs = r == 0 ? "-" : sprintf("%+.2f pt (%s)", g / n, gains)
        printf "| %s (`lambda: %s`) | %s | %s | %s | %s | %s |\n", r == 0 ? "source-only" : "DANN", lam, stats(t, n), per, vs, stats(src, n), stats(dom, n)
      }
    }' "$out/results.txt"
}

# dann_pair NAME CONFIG TITLE [--set K=V]...: source-only (lambda 0) and DANN (lambda 0.3) over seeds, then the table
dann_pair() {
  local name="$1" conf="$2" title="$3"
  shift 3
  for s in $seeds; do
    for lam in 0 $lambdas; do
      run "$name-lambda$lam-s$s" dann --config "$conf" "$@" "${sets[@]}" --set training.seed=$s --set adversarial.lambda=$lam --set output="$out/$name-lambda$lam-s$s"
    done
  done
  dann_table "$title" "$name"
}
if [[ -z "$only" || "$only" == digits ]]; then
  dann_pair digits "$root/deploy/conf/dann-mnist-digits.yaml" "MNIST -> UCI digits 28x28: target accuracy"
fi
if [[ "$only" == digits-resnet ]]; then
  dann_pair digits-resnet "$root/deploy/conf/dann-mnist-digits.yaml" "MNIST -> UCI digits 28x28, ResNet trunk: target accuracy" \
    --set model.architecture=resnet --set "model.stages=[1, 1]" --set "model.widths=[16, 32]" --set training.epochs=5 \
    --set optimizer.updater=adam --set optimizer.learningRate=0.002
fi
if [[ -z "$only" || "$only" == text ]]; then
  dann_pair text "$root/deploy/conf/dann-imdb-amazon.yaml" "IMDB -> Amazon: target accuracy"
fi
if [[ -z "$only" || "$only" == text-wink ]]; then
  dann_pair text-wink "$root/deploy/conf/dann-imdb-amazon-wink.yaml" "IMDB -> Amazon, mean wink word vectors: target accuracy"
fi
if [[ -z "$only" || "$only" == multitask ]]; then
  conf="$root/deploy/conf/multitask-mnist-fashion.yaml"
  for s in $seeds; do
    run "mt-joint-s$s" multitask --config "$conf" --set training.seed=$s --set output="$out/mt-joint-s$s"
    run "mt-single-s$s" multitask --config "$conf" --set training.seed=$s --set "tasks=[$DIGITS]" --set output="$out/mt-single-digits-s$s"
    run "mt-single-s$s" multitask --config "$conf" --set training.seed=$s --set "tasks=[$FASHION]" --set output="$out/mt-single-fashion-s$s"
  done
  table "MNIST + Fashion-MNIST, 1,000 labels per task: digits (MNIST) test accuracy" digits_accuracy mt-joint mt-single
  table "MNIST + Fashion-MNIST, 1,000 labels per task: Fashion-MNIST test accuracy" fashion_accuracy mt-joint mt-single
fi
