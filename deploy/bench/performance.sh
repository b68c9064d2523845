#!/usr/bin/env bash
# docs/benchmarks/performance.md from one run on this host: graft bench-overhead for LeNet and for the
# ResNet trunk (single-JVM DL4J, graft pretrain on dl4j-spark and on Graft's averaging, and PyTorch
# at 1 and N threads and DDP over N processes where Debian's python3-torch is installed), graft
# bench-ceiling (the LeNet step against the sgemm peak), and the growth table of deploy/bench/growth.sh
# when --growth names its output folder.
#   deploy/bench/performance.sh [--lenet-rows 20000] [--resnet-rows 4000] [--epochs 2] [--growth DIR]
#                               [--out target/bench-performance] [--page docs/benchmarks/performance.md]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
lenet_rows=20000; resnet_rows=4000; epochs=2; growth=""; out="$root/target/bench-performance"; page="$root/docs/benchmarks/performance.md"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --lenet-rows) lenet_rows="$2"; shift 2 ;;
    --resnet-rows) resnet_rows="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --growth) growth="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --page) page="$2"; shift 2 ;;
    *) echo "performance: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -z "$growth" || -f "$growth/growth.md" ]] || { echo "performance: no growth.md in $growth (run deploy/bench/growth.sh)" >&2; exit 2; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$root"
graft=deploy/bin/graft
source "$root/deploy/bench/lib.sh"   # run, mnist_data, host_line
host="$(host_line)"
: >"$out/results.txt"
mnist_data

run lenet bench-overhead --train "$out/mnist-train" --rows "$lenet_rows" --epochs "$epochs" --model lenet --work "$out/work-lenet" \
  --report "$out/lenet.md"
run resnet bench-overhead --train "$out/mnist-train" --rows "$resnet_rows" --epochs "$epochs" --model resnet --work "$out/work-resnet" \
  --report "$out/resnet.md"
# where a ResNet step's time goes: JFR over a single-JVM fit beside torch.profiler over the same steps
JAVA_TOOL_OPTIONS="-XX:StartFlightRecording=filename=$out/resnet.jfr,settings=profile" \
  run profile bench-overhead --train "$out/mnist-train" --rows 4000 --epochs 3 --model resnet --work "$out/work-profile" \
  --report "$out/profile-overhead.md"
single_sps="$(tr ' ' '\n' <"$out/profile.out" | sed -n 's/^single_jvm=//p' | tail -1)"
python3 deploy/bench/step_profile.py dl4j "$out/resnet.jfr" --ms-per-step "$(awk -v s="$single_sps" 'BEGIN { print 64000 / s }')" \
  >"$out/profile-dl4j.json"
torch_python=/usr/bin/python3
"$torch_python" -c "import torch" 2>/dev/null || torch_python=python3
"$torch_python" "$out/work-profile/torch/torch_peer.py" \
  --data "$out/work-profile/torch" --shape 1,28,28 --model resnet --variant single --threads 1 --epochs 1 --profile 30 \
  >"$out/profile-torch.json"
python3 deploy/bench/step_profile.py compare "$out/profile-dl4j.json" "$out/profile-torch.json" >"$out/profile.md"
run ceiling bench-ceiling --train "$out/mnist-train" --batch 64,256 --head-batch 256 --report "$out/ceiling.md"

value() { tr ' ' '\n' <"$out/$1.out" | sed -n "s/^$2=//p" | tail -1; }
{
  cat <<EOF
# Performance against PyTorch on the same cores

Made by \`deploy/bench/performance.sh\` (every figure below is its output; nothing typed by hand).
$host.

Each table trains one network on the same MNIST rows with the same minibatch (64; per worker on
Spark, per process under DDP) and Adam 1e-3, every variant for $epochs epochs with the last one
timed, then scores it on the rows after the training rows. The peer is PyTorch from Debian
(\`python3-torch\`), run the way a Spark user would run it instead of Graft: one process, and
DistributedDataParallel with one single-thread process per core over gloo, as TorchDistributor
starts it on an executor. Graft's figure is \`graft pretrain\` on the embedded \`local[*]\`.

## LeNet, $lenet_rows rows

Graft's averaging against PyTorch DDP: **$(value lenet graft_vs_torch_ddp)x** (target 1.2x); dl4j-spark
$(value lenet dl4j_spark_vs_torch_ddp)x; single-JVM DL4J against single-thread PyTorch $(value lenet single_jvm_vs_torch_1t)x.

$(cat "$out/lenet.md")

## ResNet trunk, $resnet_rows rows

Graft's averaging against PyTorch DDP: **$(value resnet graft_vs_torch_ddp)x** (target 1.0x); dl4j-spark
$(value resnet dl4j_spark_vs_torch_ddp)x; single-JVM DL4J against single-thread PyTorch $(value resnet single_jvm_vs_torch_1t)x.

$(cat "$out/resnet.md")

### Where a ResNet step's time goes

One thread each: a single-JVM DL4J \`fit\` of the same ResNet trunk under JFR (4,000 rows, 3
epochs), and single-thread PyTorch profiled over 30 minibatches of 64 after an epoch.

$(cat "$out/profile.md")

## The LeNet step against the hardware

\`graft bench-ceiling\`: the best LeNet training step reaches **$(awk -v s="$(value ceiling best_lenet_share)" 'BEGIN { printf "%.1f", 100 * s }') %**
of this host's one-thread sgemm peak ($(value ceiling peak_gflops) GFLOP/s; target 25 %).

$(cat "$out/ceiling.md")
EOF
  if [[ -n "$growth" ]]; then
    cat <<EOF

## Cost as the data grows

\`deploy/bench/growth.sh\`: MNIST enlarged by seeded shifts and rotations of the real images
(\`graft bench-growth-data\`), imported, pre-trained for one epoch, evaluated, and a
feature-extraction head trained on cached features, each size in fresh drivers. Seconds per 10,000
rows, each size against the first; peak resident memory of the driver and of the largest executor.

$(cat "$growth/growth.md")
EOF
  fi
  cat <<EOF

Earlier measurements (oneDNN's 4x, dl4j-spark's overhead, averaging frequency, Export vs Direct,
memory, scaling over executors, where a LeNet step's time goes) are in
[performance-history.md](performance-history.md), each with the commit and host it was taken on.
EOF
} >"$page"
echo "performance: wrote $page"
grep -h '^model=' "$out/lenet.out" "$out/resnet.out"
