#!/usr/bin/env bash
# The pictures of the report in docs/diagnostics.md: one chart of each kind, cut out of the report of
# a demo run (as SVG files), and the top of that report as Chromium shows it at two window widths.
#   deploy/bench/report-pictures.sh [DEMO_ROOT]     # default graft-demo (run `graft demo` first)
# Besides the demo's runs it measures two divergences, probes the demo's LeNet on the UCI digits and
# evaluates it on MNIST's test set (about a minute), so every chart kind has something to show.
# Writes docs/images/report/*.svg, report-1280.png, report-500.png and made-by.txt (command, host, commit).
set -euo pipefail
cd "$(dirname "$0")/../.."
graft=deploy/bin/graft
root=$PWD
demo="${1:-graft-demo}"
out=$(mktemp -d /tmp/graft-report-pictures.XXXXXX)
pictures=docs/images/report
source deploy/bench/lib.sh
made_by="$(host_line)"   # before the pictures change the tree
[[ -f "$demo/_graft/runs/latest.json" ]] || { echo "no demo run in $demo: run 'deploy/bin/graft demo --out $demo' first" >&2; exit 2; }
# the outputs of the demo's last run (its summary names them), not whatever older runs left beside them
mapfile -t runs < <(python3 -c '
import json, sys
for s in json.load(open(sys.argv[1]))["stages"]:
    if s["instance"].split("[")[0] in ("pretrain", "digits-finetune", "digits-verdict", "finetune", "verdict", "dann"):
        print(s["output"])' "$demo/_graft/runs/latest.json")
command -v chromium >/dev/null || { echo "chromium is needed for the screenshots (apt-get install chromium)" >&2; exit 2; }

"$graft" divergence --source "$demo/data/mnist/test" --target "$demo/data/fashion/test" --max-rows 2000 \
  --label "MNIST vs Fashion-MNIST (pixels)" --out "$out/div-fashion.json" >"$out/div-fashion.log" 2>&1
"$graft" divergence --source "$demo/data/mnist/test" --target "$demo/data/digits20p4" --max-rows 2000 \
  --label "MNIST vs UCI digits (pixels)" --out "$out/div-digits.json" >"$out/div-digits.log" 2>&1
"$graft" probe --model "$demo/models/lenet-mnist" --target "$demo/data/digits20p4" --labels-per-class 10 \
  --out "$out/probe.json" >"$out/probe.log" 2>&1
"$graft" evaluate "$demo/models/lenet-mnist" --data "$demo/data/mnist/test" --out "$out/eval.json" >"$out/eval.log" 2>&1
"$graft" report "${runs[@]}" "$out"/div-fashion.json "$out"/div-digits.json "$out"/probe.json "$out"/eval.json \
  --title "Graft demo" --out "$out/report.html" >"$out/report.log" 2>&1

mkdir -p "$pictures"
python3 - "$out/report.html" "$pictures" <<'PY'
import re, sys
html, folder = open(sys.argv[1]).read(), sys.argv[2]
kinds = [("per-round-loss", "Training loss per round: finetune on digits"), ("per-round-accuracy", "Held-out val_accuracy per round: finetune"),
         ("learning-curve", "Learning curves: "), ("comparison", "test_accuracy: finetune on fashion"),
         ("probe", "Linear-probe accuracy per layer"), ("divergence", "Proxy A-distance"), ("confusion", "Confusion matrix")]
charts = re.findall(r'<svg class="chart".*?</svg>', html, re.S)
for name, title in kinds:
    svg = next((c for c in charts if re.search(r"<title>" + re.escape(title), c)), None)
    if svg is None:
        sys.exit("no chart titled '%s...' in the report" % title)
    open("%s/%s.svg" % (folder, name), "w").write(svg.replace('class="chart"', 'class="chart" xmlns="http://www.w3.org/2000/svg" width="800"', 1))
    print("%s/%s.svg" % (folder, name))
PY
for width in 1280 500; do
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=$width,1400 --virtual-time-budget=10000 \
    --screenshot="$PWD/$pictures/report-$width.png" "file://$out/report.html" >/dev/null 2>&1
  echo "$pictures/report-$width.png"
done
printf 'deploy/bench/report-pictures.sh %s\n%s\n' "$demo" "$made_by" | tee "$pictures/made-by.txt"
rm -rf "$out"
