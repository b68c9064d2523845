#!/usr/bin/env bash
# Why two-stage fine-tuning loses to scratch at small label budgets, and which of fastai's fine_tune
# choices change that: LeNet pre-trained on MNIST (the demo's model) fine-tuned on UCI digits in
# MNIST's layout (10 labels per class, a fifth validating; the other digits test) and on
# Fashion-MNIST (100 per class), 3 seeds, one pipeline run.
#   deploy/bench/two-stage.sh [--root DIR] [--seeds "1 2 3"]      # needs `graft demo` run first
# Variants: scratch and gradual-unfreeze (references), two-stage as Graft ran it before (2 head
# epochs, then lr/2 with alpha 0.3, constant rate), fastai's fine_tune (1 head epoch, one-cycle in
# each stage, then slice(lr/200, lr/2): alpha 0.17 over LeNet's 4 groups), the same at fastai's
# default base rate 2e-3, and each choice alone.
# Prints the host, each variant's test accuracy (mean +- sample std over seeds) and per-seed values.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
demo="graft-demo"; seeds="1, 2, 3"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --root) demo="$2"; shift 2 ;;
    --seeds) seeds="${2// /, }"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cd "$root"
source deploy/bench/lib.sh
host_line
[[ -f "$demo/models/lenet-mnist/model.zip" ]] || { echo "no $demo/models/lenet-mnist: run 'deploy/bin/graft demo --out $demo' first" >&2; exit 2; }
spec=$(mktemp /tmp/graft-two-stage.XXXXXX.yaml)
cat >"$spec" <<YAML
name: two-stage-study
root: $demo/bench-two-stage
stages:
$(for target in digits fashion; do
  if [[ $target == digits ]]; then
    data="{train: $demo/data/digits20p4, test: $demo/data/digits20p4, labelsPerClass: 10, validationFraction: 0.2}"; train="batchSizePerWorker: 16, averagingFrequency: 2"; epochs=12
  else
    data="{train: $demo/data/fashion/train, test: $demo/data/fashion/test, labelsPerClass: 100, validationFraction: 0.1}"; train="batchSizePerWorker: 32, averagingFrequency: 5"; epochs=6
  fi
  cat <<STAGE
  - name: $target
    type: finetune
    config:
      source: $demo/models/lenet-mnist
      data: $data
      epochs: $epochs
      optimizer: {updater: adam, learningRate: 0.001}
      training: {$train}
    variants:
      scratch: {strategy: scratch}
      gradual-unfreeze: {strategy: gradual-unfreeze}
      two-stage-before: {strategy: two-stage, headEpochs: 2, alpha: 0.3}
      one-head-epoch: {strategy: two-stage, headEpochs: 1, alpha: 0.3}
      one-cycle: {strategy: two-stage, headEpochs: 2, alpha: 0.3, schedule: {kind: one-cycle}}
      fastai: {strategy: two-stage, headEpochs: 1, alpha: 0.17, schedule: {kind: one-cycle}}
      fastai-lr-2e-3: {strategy: two-stage, headEpochs: 1, alpha: 0.17, schedule: {kind: one-cycle}, optimizer: {learningRate: 0.002}}
      uniform-lr: {strategy: two-stage, headEpochs: 2, alpha: 1.0}
    sweep:
      training.seed: [$seeds]
STAGE
done)
YAML
summary=$(mktemp /tmp/graft-two-stage.XXXXXX.json)
deploy/bin/graft pipeline run "$spec" --summary "$summary" >/tmp/graft-two-stage.log 2>&1 || { echo "see /tmp/graft-two-stage.log" >&2; exit 1; }
python3 - "$summary" <<'PY'
import json, statistics, sys, re
runs = {}
for s in json.load(open(sys.argv[1]))["stages"]:
    m = re.match(r"(\w+)\[([\w-]+),training\.seed=(\d+)\]", s["instance"])
    if m and "test_accuracy" in s.get("metrics", {}):
        runs.setdefault((m.group(1), m.group(2)), []).append(100 * s["metrics"]["test_accuracy"])
for target, title in (("digits", "MNIST -> UCI digits, 10 labels per class"), ("fashion", "MNIST -> Fashion-MNIST, 100 labels per class")):
    print("\n%s\n\n| variant | test accuracy | vs scratch | per seed |\n|---|---|---|---|" % title)
    base = statistics.mean(runs[(target, "scratch")])
    for (t, v), xs in runs.items():
        if t == target:
            sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
            print("| %s | %.2f +- %.2f %% | %+.2f pt | %s |" % (v, statistics.mean(xs), sd, statistics.mean(xs) - base,
                  ", ".join("%.2f" % x for x in xs)))
PY
rm -f "$spec"
