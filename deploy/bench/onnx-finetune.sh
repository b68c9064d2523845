#!/usr/bin/env bash
# Models PyTorch trained, imported from ONNX and fine-tuned through Spark: the small MNIST CNN
# (committed fixture) and torchvision's resnet18 with a 1-channel stem trained by PyTorch on MNIST
# (exported here by deploy/models/export_onnx.py), each fine-tuned on UCI digits in MNIST's layout
# (the other digits test) and on Fashion-MNIST (the first 2,000 test images test), every strategy
# that runs on graphs and scratch, over seeds, with Graft's verdict vs scratch per strategy.
#   deploy/bench/onnx-finetune.sh [--seeds 1,2,3] [--labels 10] [--epochs 20] [--lr 0.01] [--sources "mnist-cnn resnet18-mnist"]
#                                 [--targets "digits fashion"] [--resnet-targets digits] [--resnet-epochs 10] [--resnet-lr 0.001]
#                                 [--work DIR] [--out FILE] [--fresh]
# A table already in WORK/tables is reused unless --fresh (so an interrupted run continues). resnet18
# (11M parameters) trains on one worker: averaging its weights and Adam state between two workers
# every other step costs more than the steps on these 90-row budgets; on four strategies, its own
# targets and rounds (a full-network round of it takes seconds on 2 cores).
# Needs Debian's python3-torch and python3-torchvision for resnet18-mnist. Writes FILE (default
# docs/benchmarks/onnx-finetune.md): the host, each source's own MNIST test accuracy in PyTorch and
# in Graft after import, and one bench-finetune table per source and target.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seeds="1,2,3"; labels=10; epochs=20; lr=0.01; sources="mnist-cnn resnet18-mnist"; targets="digits fashion"
work="target/bench-onnx"; out="docs/benchmarks/onnx-finetune.md"; fresh=0; resnet_targets="digits"; resnet_epochs=10; resnet_lr=0.001
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --labels) labels="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --lr) lr="$2"; shift 2 ;;
    --sources) sources="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --resnet-targets) resnet_targets="$2"; shift 2 ;;
    --resnet-epochs) resnet_epochs="$2"; shift 2 ;;
    --resnet-lr) resnet_lr="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cd "$root"
source deploy/bench/lib.sh
host=$(host_line)
echo "$host"
graft=deploy/bin/graft
mkdir -p "$work/onnx" "$work/models" "$work/data" "$work/tables"
$graft fetch-data --only mnist,fashion-mnist,digits >/dev/null

# the sources: ONNX files PyTorch wrote, imported with the normalisation they were trained with
cp common/src/test/resources/onnx/mnist-cnn.onnx common/src/test/resources/onnx/mnist-cnn.json "$work/onnx/"
for s in $sources; do
  if [[ ! -f "$work/onnx/$s.onnx" ]]; then
    /usr/bin/python3 deploy/models/export_onnx.py "$s" --out "$work/onnx" 2>&1 | grep -v -i warn
  fi
  mean=$(python3 -c "import json; print(','.join(map(str, json.load(open('$work/onnx/$s.json'))['mean'])))")
  std=$(python3 -c "import json; print(','.join(map(str, json.load(open('$work/onnx/$s.json'))['std'])))")
  [[ -f "$work/models/$s/model.zip" ]] || $graft import-model --format onnx --input "$work/onnx/$s.onnx" --output "$work/models/$s" --mean "$mean" --std "$std"
done

# the targets, in MNIST's 28x28 layout
[[ -f "$work/data/mnist-test/_manifest.json" ]] || $graft import --format idx --input data/raw/mnist/t10k-images-idx3-ubyte --output "$work/data/mnist-test" >/dev/null
[[ -f "$work/data/digits28/_manifest.json" ]] || $graft import --format digits-csv --input data/raw/digits/digits.csv.gz --resize 20x20 --pad 4 --output "$work/data/digits28" >/dev/null
[[ -f "$work/data/fashion-train/_manifest.json" ]] || $graft import --format idx --input data/raw/fashion-mnist/train-images-idx3-ubyte.gz --output "$work/data/fashion-train" >/dev/null
[[ -f "$work/data/fashion-test-2k/_manifest.json" ]] || $graft import --format idx --input data/raw/fashion-mnist/t10k-images-idx3-ubyte.gz --limit 2000 --output "$work/data/fashion-test-2k" >/dev/null

# each source on its own task, in Graft: the import keeps what PyTorch measured
declare -A graft_acc
for s in $sources; do
  graft_acc[$s]=$($graft evaluate "$work/models/$s" --data "$work/data/mnist-test" 2>/dev/null | sed -n 's/^accuracy=\([0-9.]*\).*/\1/p')
done

for s in $sources; do
  if [[ $s == resnet18* ]]; then
    strategies="scratch,feature-extraction,two-stage,gradual-unfreeze"; extra=(--set training.workers=1); rounds=$resnet_epochs; rate=$resnet_lr
    source_targets=$resnet_targets
  else
    strategies="scratch,feature-extraction,full,two-stage,gradual-unfreeze,discriminative"; extra=(); rounds=$epochs; rate=$lr
    source_targets=$targets
  fi
  for t in $source_targets; do
    [[ $fresh == 0 && -f "$work/tables/$s-$t.md" ]] && { echo "reusing $work/tables/$s-$t.md"; continue; }
    if [[ $t == digits ]]; then train="$work/data/digits28"; test="$work/data/digits28"; else train="$work/data/fashion-train"; test="$work/data/fashion-test-2k"; fi
    $graft bench-finetune --source "$work/models/$s" --train "$train" --test "$test" --labels-per-class "$labels" --seeds "$seeds" \
      --epochs "$rounds" --strategies "$strategies" --no-cache-timing --work "$work/runs/$s-$t" --report "$work/tables/$s-$t.md" \
      --set training.engine=graft --set training.batchSizePerWorker=16 --set training.averagingFrequency=2 \
      --set optimizer.learningRate=$rate "${extra[@]}" 2>&1 | grep --line-buffered '^\[bench\]' || true
  done
done

tmp="$out.tmp"
{
  echo "# Fine-tuning models PyTorch trained, imported from ONNX"
  echo
  echo "Produced by \`deploy/bench/onnx-finetune.sh --seeds $seeds --labels $labels --epochs $epochs --lr $lr --sources \"$sources\" --targets \"$targets\" --resnet-targets \"$resnet_targets\" --resnet-epochs $resnet_epochs --resnet-lr $resnet_lr\` ($host)."
  echo "Every source is an ONNX file written by \`torch.onnx.export\` (PyTorch 1.13, Debian), imported by"
  echo "\`graft import-model\` with the normalisation it was trained with, and fine-tuned through Spark"
  echo "(Graft's averaging, 2 local workers, batch 16 per worker, averaging every 2 steps, Adam at $lr; resnet18 on one worker"
  echo "at $resnet_lr: each table gives its command)."
  echo "Targets in MNIST's layout: UCI digits (8x8 scaled to 20x20, padded to 28x28; $labels labels per class"
  echo "train, a tenth of them validate, every other digit tests) and Fashion-MNIST ($labels labels per class"
  echo "from the training set; the first 2,000 test images test)."
  echo
  echo "| source | PyTorch's MNIST test accuracy at export | Graft's, after import (graft evaluate) |"
  echo "|---|---|---|"
  for s in $sources; do
    torch=$(python3 -c "import json; print('%.2f %%' % (100 * json.load(open('$work/onnx/$s.json'))['test_accuracy']))")
    echo "| $s | $torch | $(python3 -c "print('%.2f %%' % (100 * float('${graft_acc[$s]}')))") |"
  done
  for s in $sources; do
    if [[ $s == resnet18* ]]; then source_targets=$resnet_targets; else source_targets=$targets; fi
    for t in $source_targets; do
      echo
      echo "## $s → $([[ $t == digits ]] && echo "UCI digits" || echo "Fashion-MNIST")"
      echo
      sed 's/^### /#### /' "$work/tables/$s-$t.md"
    done
  done
} >"$tmp"
mv "$tmp" "$out"
echo "wrote $out"
