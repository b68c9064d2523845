#!/usr/bin/env bash
# Graft's ResNet trunk (model.architecture resnet, stages [2, 2, 2], widths [16, 32, 64]) pre-trained on
# MNIST through Spark, then fine-tuned on UCI digits in MNIST's layout and on Fashion-MNIST at two label
# budgets with every strategy, LoRA and adapters included, and scratch, over seeds, with Graft's verdict
# vs scratch per strategy.
#   deploy/bench/resnet-finetune.sh [--seeds 1,2,3] [--labels "10 100:10"] [--targets "digits fashion"] [--epochs 20]
#                                   [--lr 0.01] [--pretrain-epochs 2] [--work DIR] [--out FILE] [--fresh] [--doc-only]
# --labels: label budgets per class, each optionally with its own rounds (100:10 is 100 labels per class for 10 rounds; without
# one, --epochs). The pre-trained model and every table already in WORK are reused unless --fresh (an interrupted run continues).
# Writes FILE (default docs/benchmarks/resnet-finetune.md): the host, the trunk's own MNIST test accuracy, and one
# bench-finetune table per target and label budget (--doc-only: from the tables already in WORK, naming those not run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seeds="1,2,3"; labels="10 100:10"; targets="digits fashion"; epochs=20; lr=0.01; pretrain_epochs=2
work="target/bench-resnet"; out="docs/benchmarks/resnet-finetune.md"; fresh=0; doc_only=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --labels) labels="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --lr) lr="$2"; shift 2 ;;
    --pretrain-epochs) pretrain_epochs="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --doc-only) doc_only=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cd "$root"
source deploy/bench/lib.sh
host=$(host_line)
echo "$host"
graft=deploy/bin/graft
[[ $fresh == 1 ]] && rm -rf "$work"
mkdir -p "$work/data" "$work/tables"
$graft fetch-data --only mnist,fashion-mnist,digits >/dev/null
imp() { [[ -f "$1/_manifest.json" ]] || $graft import --output "$@" >/dev/null; }
imp "$work/data/mnist-train" --format idx --input data/raw/mnist/train-images-idx3-ubyte
imp "$work/data/mnist-test" --format idx --input data/raw/mnist/t10k-images-idx3-ubyte
imp "$work/data/digits28" --format digits-csv --input data/raw/digits/digits.csv.gz --resize 20x20 --pad 4
imp "$work/data/fashion-train" --format idx --input data/raw/fashion-mnist/train-images-idx3-ubyte.gz
imp "$work/data/fashion-test-2k" --format idx --input data/raw/fashion-mnist/t10k-images-idx3-ubyte.gz --limit 2000

# the trunk: pre-trained on all of MNIST with the shipped config
model="$work/resnet-mnist"
if [[ ! -f "$model/model.zip" ]]; then
  $graft pretrain --config deploy/conf/pretrain-resnet-mnist.yaml --set data.train="$work/data/mnist-train" \
    --set data.test="$work/data/mnist-test" --set training.epochs="$pretrain_epochs" --set output="$model" 2>&1 | grep --line-buffered '^\[pretrain\] round' || true
fi
trunk_acc=$($graft evaluate "$model" --data "$work/data/mnist-test" 2>/dev/null | sed -n 's/^accuracy=\([0-9.]*\).*/\1/p')

for t in $targets; do
  for budget in $labels; do
    n=${budget%%:*}; rounds=$epochs; [[ $budget == *:* ]] && rounds=${budget##*:}
    table="$work/tables/$t-$n.md"
    [[ -f "$table" ]] && { echo "reusing $table"; continue; }
    [[ $doc_only == 1 ]] && continue
    if [[ $t == digits ]]; then train="$work/data/digits28"; test="$work/data/digits28"; else train="$work/data/fashion-train"; test="$work/data/fashion-test-2k"; fi
    $graft bench-finetune --source "$model" --train "$train" --test "$test" --labels-per-class "$n" --seeds "$seeds" --epochs "$rounds" \
      --strategies scratch,feature-extraction,full,two-stage,gradual-unfreeze,discriminative,adapters,lora --no-cache-timing \
      --work "$work/runs/$t-$n" --report "$table" --set training.engine=graft --set training.batchSizePerWorker=16 \
      --set training.averagingFrequency=2 --set optimizer.learningRate="$lr" --set "adapters.after=[stage3.block2]" --set adapters.size=16 \
      --set lora.rank=4 2>&1 | grep --line-buffered '^\[bench\]' || true
  done
done

tmp="$out.tmp"
{
  echo "# Fine-tuning Graft's ResNet trunk"
  echo
  echo "Produced by \`deploy/bench/resnet-finetune.sh --seeds $seeds --labels \"$labels\" --targets \"$targets\" --epochs $epochs --lr $lr --pretrain-epochs $pretrain_epochs\` ($host)."
  echo "The trunk is \`model.architecture: resnet\` with stages [2, 2, 2] and widths [16, 32, 64], pre-trained by"
  echo "\`graft pretrain --config deploy/conf/pretrain-resnet-mnist.yaml\` on all 60,000 MNIST images for $pretrain_epochs rounds:"
  echo "$(python3 -c "print('%.2f %%' % (100 * float('$trunk_acc')))") on the 10,000 MNIST test images (\`graft evaluate\`)."
  echo "Each table fine-tunes it through Spark (Graft's averaging, 2 local workers, batch 16 per worker, averaging every"
  echo "2 steps, Adam at $lr; rounds per label budget as each table's command says) with every strategy and scratch (the same graph,"
  echo "fresh weights) over seeds:"
  echo "adapters of width 16 after the last block (\`stage3.block2\`), LoRA of rank 4 on every convolution below the head."
  echo "Targets in MNIST's layout: UCI digits (8x8 scaled to 20x20, padded to 28x28; the label budget per class trains,"
  echo "a tenth of it validates, every other digit tests) and Fashion-MNIST (the budget from the training set; the first 2,000"
  echo "test images test)."
  for t in $targets; do
    for budget in $labels; do
      n=${budget%%:*}
      echo
      echo "## $([[ $t == digits ]] && echo "UCI digits" || echo "Fashion-MNIST"), $n labels per class"
      echo
      if [[ -f "$work/tables/$t-$n.md" ]]; then
        sed 's/^### /#### /' "$work/tables/$t-$n.md"
      else
        echo "Not run yet: \`deploy/bench/resnet-finetune.sh --targets $t --labels $budget\` adds it."
      fi
    done
  done
} >"$tmp"
mv "$tmp" "$out"
echo "wrote $out"
