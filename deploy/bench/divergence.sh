#!/usr/bin/env bash
# Reproduces docs/benchmarks/divergence.md: proxy A-distance (raw inputs) for MNIST vs Fashion-MNIST,
# MNIST vs UCI digits (20x20 + pad 4, the adaptation benchmark's input space) and MNIST train vs
# MNIST test, over split seeds; then before vs after DANN on the adaptation benchmark's features
# (the dense1 layer of a source-only and a DANN model, MNIST -> digits, deploy/conf/dann-mnist-digits.yaml).
#   deploy/bench/divergence.sh [--seeds "1 2 3"] [--dann-seed 1] [--dann-epochs 10] [--out DIR] [--skip-dann]
# (--dann-epochs 3 reproduces the first table of divergence.md, measured before the config went to 10 rounds)
# Needs graft-demo/data/{mnist,fashion}/{train,test} and graft-demo/data/digits20p4 (see the configs' comments).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
graft="$root/deploy/bin/graft"
seeds="1 2 3"; dann_seed=1; dann_epochs=10; out="${TMPDIR:-/tmp}/graft-bench-divergence"; skip_dann=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --dann-seed) dann_seed="$2"; shift 2 ;;
    --dann-epochs) dann_epochs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --skip-dann) skip_dann=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
cd "$root"
MNIST_TEST=graft-demo/data/mnist/test; MNIST_TRAIN=graft-demo/data/mnist/train
FASHION_TEST=graft-demo/data/fashion/test; DIGITS=graft-demo/data/digits20p4

# div NAME LABEL ARGS...: one divergence run; appends "NAME a_distance=.. ci95=[..]" to results.txt
div() {
  local name="$1" label="$2"; shift 2
  "$graft" divergence "$@" --label "$label" --out "$out/$name.json" >"$out/$name.out" 2>"$out/$name.err" \
    || { echo "$name failed; see $out/$name.err" >&2; exit 1; }
  echo "$name $(cat "$out/$name.out")" | tee -a "$out/results.txt"
}

# table PREFIX...: mean +- std of a_distance over seeds, and the mean bootstrap interval
table() {
  echo; echo "| measurement | d_A (mean +- std over split seeds) | 95% bootstrap interval (mean bounds) | seeds |"; echo "|---|---|---|---|"
  for p in "$@"; do
    grep "^$p-s[0-9]* " "$out/results.txt" | sed 's/[][,]/ /g' | awk -v p="$p" '{
        for (i = 2; i <= NF; i++) { if ($i ~ /^a_distance=/) { split($i, a, "="); d[NR] = a[2]; s += a[2] }
                                   if ($i ~ /^ci95=/) { lo += $(i + 1); hi += $(i + 2) } }
        if ($3 ~ /^ci95=$/) {} }
      END { m = s / NR; v = 0; for (k = 1; k <= NR; k++) v += (d[k] - m) ^ 2; sd = NR > 1 ? sqrt(v / (NR - 1)) : 0;
            printf "| %s | %.3f +- %.3f | [%.3f, %.3f] | %d |\n", p, m, sd, lo / NR, hi / NR, NR }'
  done
}

: > "$out/results.txt"
for s in $seeds; do
  div "mnist-vs-fashion-s$s" "MNIST vs Fashion-MNIST (raw)" --source "$MNIST_TEST" --target "$FASHION_TEST" --max-rows 2000 --seed "$s"
  div "mnist-vs-digits-s$s" "MNIST vs UCI digits (raw)" --source "$MNIST_TEST" --target "$DIGITS" --max-rows 2000 --seed "$s"
  div "mnist-train-vs-test-s$s" "MNIST train vs test (raw)" --source "$MNIST_TRAIN" --target "$MNIST_TEST" --max-rows 2000 --seed "$s"
done
rows=(mnist-vs-fashion mnist-vs-digits mnist-train-vs-test)
if [[ -z "$skip_dann" ]]; then
  for lam in 0 0.3; do
    if [[ ! -f "$out/dann-lambda$lam/provenance.json" ]]; then
      "$graft" dann --config deploy/conf/dann-mnist-digits.yaml --set training.seed="$dann_seed" --set adversarial.lambda=$lam --set training.epochs="$dann_epochs" \
        --set output="$out/dann-lambda$lam" >"$out/dann-lambda$lam.out" 2>"$out/dann-lambda$lam.err" \
        || { echo "dann lambda $lam failed; see $out/dann-lambda$lam.err" >&2; exit 1; }
    fi
    echo "dann-lambda$lam $(cat "$out/dann-lambda$lam.out")" | tee -a "$out/results.txt"
  done
  for s in $seeds; do
    div "before-dann-s$s" "MNIST vs digits: source-only features (dense1)" --model "$out/dann-lambda0" --layer dense1 \
      --source "$MNIST_TEST" --target "$DIGITS" --max-rows 2000 --seed "$s"
    div "after-dann-s$s" "MNIST vs digits: DANN features (dense1)" --model "$out/dann-lambda0.3" --layer dense1 \
      --source "$MNIST_TEST" --target "$DIGITS" --max-rows 2000 --seed "$s"
  done
  rows+=(before-dann after-dann)
  "$graft" report "$out/dann-lambda0" "$out/dann-lambda0.3" "$out"/*-s1.json --title "Divergence benchmark" --out "$out/report.html" \
    >/dev/null 2>"$out/report.err"
fi
table "${rows[@]}"
