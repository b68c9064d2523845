#!/usr/bin/env bash
# Reproduces the ResNet tables of docs/benchmarks/pretrain.md: the residual CNN of
# deploy/conf/pretrain-resnet-mnist.yaml pre-trained through Spark on full MNIST and on full
# Fashion-MNIST (the datasets `graft demo` writes), then each saved model.zip scored again by
# `graft evaluate` on the test set.
#   deploy/bench/resnet.sh [--only mnist|fashion] [--out DIR] [--reuse] [--set KEY=VALUE ...]
# --out: where the models go (default graft-demo/models: resnet-mnist, resnet-fashion);
# --reuse: a model already in DIR, trained by this config, is scored and tabled, not trained again;
# --set: a config override passed on to graft pretrain (repeatable), e.g. --set training.epochs=8.
# Prints the host, one Markdown table per dataset (every round from metrics.jsonl) and the evaluate line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
graft="$root/deploy/bin/graft"
only=""; models="graft-demo/models"; reuse=0; sets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --only) only="$2"; shift 2 ;;
    --reuse) reuse=1; shift ;;
    --out) models="$2"; shift 2 ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cd "$root"
source "$root/deploy/bench/lib.sh"
host_line

for ds in mnist fashion; do
  [[ -z "$only" || "$only" == "$ds" ]] || continue
  model="$models/resnet-$ds"
  if [[ "$reuse" == 1 && -f "$model/model.zip" ]]; then
    echo "reusing $model (trained $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["createdAt"])' "$model/provenance.json"))"
  else
    t0=$(date +%s)
    "$graft" pretrain --config deploy/conf/pretrain-resnet-mnist.yaml --set "data.train=graft-demo/data/$ds/train" \
      --set "data.test=graft-demo/data/$ds/test" --set "output=$model" "${sets[@]}" >"/tmp/graft-resnet-$ds.log" 2>&1 \
      || { echo "pretrain on $ds failed; see /tmp/graft-resnet-$ds.log" >&2; exit 1; }
    echo "trained $model in $(($(date +%s) - t0)) s${sets[*]:+ (${sets[*]})}"
  fi
  echo
  echo "ResNet (stages [2, 2, 2], widths [16, 32, 64]) on $ds:"
  echo
  python3 - "$model" <<'PY'
import json, sys
folder = sys.argv[1]
prov = json.load(open(folder + "/provenance.json"))
print("| round | train loss | test loss | test accuracy | samples/s | wall s |")
print("|---|---|---|---|---|---|")
for line in open(folder + "/metrics.jsonl"):
    m = json.loads(line)
    print("| %d | %.4f | %.4f | %.2f %% | %.0f | %.1f |" % (m["round"], m["train_loss"], m["test_loss"], 100 * m["test_accuracy"],
                                                          m["samples_per_s"], m["wall_s"]))
print()
print("parameters %d, engine %s, workers %s, commit %s" % (prov["model"]["parameters"], prov["cluster"]["engine"],
      prov["cluster"]["workers"], prov["versions"]["gitCommit"][:7]))
PY
  "$graft" evaluate "$model" --data "graft-demo/data/$ds/test" 2>/dev/null | grep -E '^accuracy|accuracy=' | head -1 \
    | sed "s|^|model.zip reloaded by graft evaluate on the $ds test set: |"
done
