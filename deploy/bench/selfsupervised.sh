#!/usr/bin/env bash
# Reproduces docs/benchmarks/selfsupervised.md:
#  1. MNIST pre-trained WITHOUT labels (contrastive SimCLR, reconstruction = masked denoising AE), then a
#     linear probe on dense1 with 1 % of MNIST's labels (60 per class), against the same probe on the
#     randomly initialised encoder of the same seed (measured in the same run, before round 1);
#  2. each encoder, the supervised MNIST LeNet and scratch, fine-tuned on Fashion-MNIST with 1,000 labels.
#   deploy/bench/selfsupervised.sh [--seeds "1 2 3"] [--only probe|finetune] [--out DIR] [--set KEY=VALUE]...
# --set is passed to the pre-training runs (e.g. --set training.maxRows=2000 --set training.epochs=1 for a smoke run).
# Needs graft-demo/data/{mnist,fashion} and graft-demo/models/lenet-mnist (the README's demo writes them).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
graft="$root/deploy/bin/graft"
seeds="1 2 3"; only=""; out="${TMPDIR:-/tmp}/graft-bench-selfsupervised"; extra=()
ft_strategy="gradual-unfreeze"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --set) extra+=(--set "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
cd "$root"

source "$root/deploy/bench/lib.sh"   # run NAME CMD...

# row LABEL RUN KEY: "| LABEL | mean +- std | per-seed | wall |" of KEY over runs named RUN-sN
row() {
  local label="$1" run="$2" key="$3"
  grep "^$run-s[0-9]* $key=" "$out/results.txt" | awk -v label="$label" '{
      split($2, a, "="); split($3, w, "="); x[NR] = 100 * a[2]; s += 100 * a[2]; ws += w[2]; seeds = seeds sprintf("%s%.2f", NR > 1 ? ", " : "", 100 * a[2]) }
    END { if (NR == 0) exit; m = s / NR; v = 0; for (i = 1; i <= NR; i++) v += (x[i] - m) ^ 2; sd = NR > 1 ? sqrt(v / (NR - 1)) : 0;
          printf "| %s | %.2f ± %.2f | %s | %.0f |\n", label, m, sd, seeds, ws / NR }'
}

touch "$out/results.txt"
if [[ -z "$only" || "$only" == probe ]]; then
  sed -i '/^\(simclr\|dae\)-s[0-9]* /d' "$out/results.txt"
  for s in $seeds; do
    run "simclr-s$s" pretrain --config deploy/conf/pretrain-simclr-mnist.yaml --set training.seed=$s --set probe.every=100 \
      --set data.maxTestRows=2000 --set output="$out/simclr-s$s" "${extra[@]}"
    run "dae-s$s" pretrain --config deploy/conf/pretrain-dae-mnist.yaml --set training.seed=$s --set probe.every=100 \
      --set data.maxTestRows=2000 --set output="$out/dae-s$s" "${extra[@]}"
  done
  echo; echo "### Linear probe on dense1, 600 MNIST labels (60 per class), MNIST test set"; echo
  echo "| encoder | probe accuracy (mean ± std, %) | per seed | mean wall of the run (s) |"; echo "|---|---|---|---|"
  row "random init (same seeds, before training)" simclr probe_accuracy_at_init
  row "contrastive (SimCLR), no labels" simclr probe_accuracy
  row "reconstruction (masked denoising AE), no labels" dae probe_accuracy
fi
if [[ -z "$only" || "$only" == finetune ]]; then
  sed -i '/^ft-/d' "$out/results.txt"
  ft() { # ft NAME SEED SOURCE [STRATEGY]
    run "ft-$1-s$2" finetune --config deploy/conf/finetune-fashion.yaml --set training.seed=$2 --set source="$3" \
      --set strategy="${4:-$ft_strategy}" --set epochs=12 --set output="$out/ft-$1-s$2"
  }
  for s in $seeds; do
    ft scratch "$s" graft-demo/models/lenet-mnist scratch
    ft supervised "$s" graft-demo/models/lenet-mnist
    ft simclr "$s" "$out/simclr-s$s"
    ft dae "$s" "$out/dae-s$s"
  done
  echo; echo "### Fine-tuned on Fashion-MNIST, 1,000 labels (100 per class), 12 rounds, $ft_strategy; Fashion-MNIST test set"; echo
  echo "| source | test accuracy (mean ± std, %) | per seed | mean wall (s) |"; echo "|---|---|---|---|"
  row "scratch (random init)" ft-scratch test_accuracy
  row "supervised MNIST LeNet (60k labels)" ft-supervised test_accuracy
  row "contrastive MNIST encoder (no labels)" ft-simclr test_accuracy
  row "reconstruction MNIST encoder (no labels)" ft-dae test_accuracy
fi
