#!/usr/bin/env bash
# docs/benchmarks/performance.md from one run on this host: graft bench-overhead for LeNet and for the
# ResNet trunk (single-JVM DL4J, graft pretrain on dl4j-spark and on Graft's averaging, and PyTorch
# at 1 and N threads and DDP over N processes where Debian's python3-torch is installed), graft
# bench-ceiling (the LeNet step against the sgemm peak), and the growth table of deploy/bench/growth.sh
# when --growth names its output folder (without it, the page's current growth section is kept as it
# is: it names the commit and host it was measured on).
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
kept_growth=""
if [[ -z "$growth" && -f "$page" ]]; then
  kept_growth="$(awk '/^## Cost as the data grows/ { on = 1 } /^Earlier measurements/ { on = 0 } on' "$page")"
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$root"
graft=deploy/bin/graft
source "$root/deploy/bench/lib.sh"   # run, mnist_data, host_line
# with reuse=1 in the environment, runs already done in $out are not repeated and keep the host line they were made on
if [[ "${reuse:-0}" == 1 && -f "$out/host.txt" ]]; then host="$(cat "$out/host.txt")"; else host="$(host_line)"; echo "$host" >"$out/host.txt"; fi
: >"$out/results.txt"
mnist_data

run lenet bench-overhead --train "$out/mnist-train" --rows "$lenet_rows" --epochs "$epochs" --model lenet --work "$out/work-lenet" \
  --report "$out/lenet.md"
run resnet bench-overhead --train "$out/mnist-train" --rows "$resnet_rows" --epochs "$epochs" --model resnet --work "$out/work-resnet" \
  --report "$out/resnet.md"
# the ResNet ratio sits near its target, where one run's noise on this kind of host (0.8x to 1.1x) decides: four more runs
for r in 2 3 4 5; do
  run "resnet-$r" bench-overhead --train "$out/mnist-train" --rows "$resnet_rows" --epochs "$epochs" --model resnet \
    --work "$out/work-resnet-$r" --report "$out/resnet-$r.md"
done
# where a ResNet step's time goes: the time inside Graft's kernels, clocked around each call in a single-JVM fit, beside
# torch.profiler over the same steps
GRAFT_JAVA_OPTS="${GRAFT_JAVA_OPTS:+$GRAFT_JAVA_OPTS }-Dgraft.kernels.clock=true" \
  run profile bench-overhead --train "$out/mnist-train" --rows 4000 --epochs 3 --model resnet --work "$out/work-profile" \
  --report "$out/profile-overhead.md"
python3 deploy/bench/step_profile.py clock "$out/profile.out" >"$out/profile-dl4j.json"
torch_python=/usr/bin/python3
"$torch_python" -c "import torch" 2>/dev/null || torch_python=python3
if [[ "${reuse:-0}" != 1 || ! -s "$out/profile-torch.json" ]]; then
  "$torch_python" "$out/work-profile/torch/torch_peer.py" \
    --data "$out/work-profile/torch" --shape 1,28,28 --model resnet --variant single --threads 1 --epochs 1 --profile 30 \
    >"$out/profile-torch.json"
fi
python3 deploy/bench/step_profile.py compare "$out/profile-dl4j.json" "$out/profile-torch.json" >"$out/profile.md"
run ceiling bench-ceiling --train "$out/mnist-train" --batch 64,256 --head-batch 256 --report "$out/ceiling.md"
# where a LeNet step's time goes inside oneDNN: every primitive it runs, with its time (DNNL_VERBOSE=1), DL4J's oneDNN
# layers beside Graft's kernels
DNNL_VERBOSE=1 run ceiling-onednn bench-ceiling --train "$out/mnist-train" --batch 256 --head-batch 256 --seconds 2 \
  --report "$out/ceiling-onednn.md"
python3 deploy/bench/step_profile.py onednn "$out/ceiling-onednn.out" --batch 256 >"$out/lenet-onednn.md"
# the same step with every library held to AVX2 (oneDNN's kernels, OpenBLAS's sgemm, the Vector API's width): the kernels
# an AVX2 host of this machine kind runs, on this host's cores and memory
avx2_java="${GRAFT_JAVA_OPTS:+$GRAFT_JAVA_OPTS }-XX:UseAVX=2"
DNNL_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell GRAFT_JAVA_OPTS="$avx2_java" \
  run ceiling-avx2 bench-ceiling --train "$out/mnist-train" --batch 64,256 --head-batch 256 --report "$out/ceiling-avx2.md"
DNNL_VERBOSE=1 DNNL_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell GRAFT_JAVA_OPTS="$avx2_java" \
  run ceiling-avx2-onednn bench-ceiling --train "$out/mnist-train" --batch 256 --head-batch 256 --seconds 2 \
  --report "$out/ceiling-avx2-onednn.md"
python3 deploy/bench/step_profile.py onednn "$out/ceiling-avx2-onednn.out" --batch 256 >"$out/lenet-avx2-onednn.md"

value() { tr ' ' '\n' <"$out/$1.out" | sed -n "s/^$2=//p" | tail -1; }
# runs KEY NAME...: KEY of each run, as "a, b, c"
runs() { local key="$1"; shift; for n in "$@"; do value "$n" "$key"; done | paste -sd, | sed 's/,/, /g'; }
# ratio NAME A B: A / B of run NAME, to two places
ratio() { awk -v a="$(value "$1" "$2")" -v b="$(value "$1" "$3")" 'BEGIN { printf "%.2f", a / b }'; }
# median_run KEY NAME...: the run whose KEY is the median
median_run() { local key="$1"; shift; for n in "$@"; do echo "$(value "$n" "$key") $n"; done | sort -g | awk '{ v[NR] = $2 } END { print v[int((NR + 1) / 2)] }'; }
# median KEY NAME...: KEY of the median run
median() { value "$(median_run "$@")" "$1"; }
resnets=(resnet resnet-2 resnet-3 resnet-4 resnet-5)
rm="$(median_run graft_vs_torch_ddp "${resnets[@]}")"   # the median ResNet run
# pct NAME KEY: a share of run NAME as a whole percentage
pct() { awk -v s="$(value "$1" "$2")" 'BEGIN { printf "%.0f", 100 * s }'; }
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
$(value lenet dl4j_spark_vs_torch_ddp)x; single-JVM DL4J against single-thread PyTorch $(value lenet single_jvm_vs_torch_1t)x;
Graft's kernels against DL4J's own layers in the single-JVM fit $(ratio lenet single_jvm single_jvm_dl4j)x.

$(cat "$out/lenet.md")

## ResNet trunk, $resnet_rows rows

Graft's averaging against PyTorch DDP: **$(median graft_vs_torch_ddp "${resnets[@]}")x**, the median of five runs of
the whole table ($(runs graft_vs_torch_ddp "${resnets[@]}"); target 1.0x); the table below and the figures in this
paragraph are that median run's. dl4j-spark $(value "$rm" dl4j_spark_vs_torch_ddp)x; single-JVM DL4J against single-thread
PyTorch $(value "$rm" single_jvm_vs_torch_1t)x; Graft's kernels against DL4J's own layers in the single-JVM fit $(ratio "$rm" single_jvm single_jvm_dl4j)x.

$(cat "$out/$rm.md")

### Where a ResNet step's time goes

One thread each: a single-JVM DL4J \`fit\` of the same ResNet trunk with the time inside Graft's
kernels clocked around every call (4,000 rows, 3 epochs, the last one counted), and single-thread
PyTorch profiled over 30 minibatches of 64 after an epoch.

$(cat "$out/profile.md")

Why, read from this split and from DL4J 1.0.0-M2.1's code. The DL4J side runs Graft's kernels
([docs/deploy.md](../deploy.md#graft-kernels)), which replace what earlier profiles of the same step
pointed at ([performance-history.md](performance-history.md#the-resnet-trunk-before-grafts-kernels-commit-24228a8)):
DL4J's batch norm, its ReLU gradient, each convolution's forward pass run a second time in the
backward pass, and the JNI calls of the element-wise work (batch norm and ReLU now run as single
fused passes on the Java Vector API). What is left:

- **Convolution**, most of the step on both sides: both call oneDNN once per pass; the difference
  is inside libnd4j's oneDNN convolution (its layout conversions and primitive set-up per call),
  below the JNI call.
- **Activations.** Graft's ReLU writes its output to a new array in the forward pass, where
  PyTorch's runs in place on the batch-norm output.
- **Everything else**: the residual additions, pooling, the output layer, Adam, and DL4J's
  per-layer bookkeeping (workspaces, input checks, one JNI call per op).

The two do not synchronise alike: Graft's averaging exchanges parameters every 10 minibatches (one
barrier job per round), DDP all-reduces all gradients over gloo after every minibatch; the tables
compare them at the same minibatch, epochs and test accuracy, as a user choosing between them would.
On all the cores (the median run) Graft's averaging trains $(ratio "$rm" graft single_jvm)x as fast as one DL4J
JVM on one core, and PyTorch DDP $(ratio "$rm" torch_ddp torch_1t)x as fast as one PyTorch process. In the timed
epoch Graft's two tasks spent $(pct "$rm" graft_tasks_fitting_share) % of their time fitting minibatches, $(pct "$rm" graft_tasks_waiting_share) % waiting at the
averagings for the slower one and $(pct "$rm" graft_tasks_averaging_share) % averaging (the round line and \`metrics.jsonl\` of every
barrier round report this split): the synchronisation costs little, and the gap is in the fitting itself.
Two DL4J training threads slow each other more than two PyTorch processes do, in one JVM as in two
separate JVMs (so neither garbage collection nor a lock); every kind of work in the step slows about
alike, convolutions included, which points at what the two cores share (memory bandwidth and cache,
and the clock two busy cores run at) rather than at one layer.

## The LeNet step against the hardware

\`graft bench-ceiling\`: the best LeNet training step reaches **$(awk -v s="$(value ceiling best_lenet_share)" 'BEGIN { printf "%.1f", 100 * s }') %**
of this host's one-thread sgemm peak ($(value ceiling peak_gflops) GFLOP/s; target 25 %).

$(cat "$out/ceiling.md")

### Where a LeNet step's time goes

$(cat "$out/lenet-onednn.md")

What the split says. DL4J computes the gradient at every convolution's input, also at the network's
first layer, where it is dropped; oneDNN's kernel for it vectorises over input channels, so on
one-channel MNIST it runs one of sixteen lanes and is the largest backward-data figure of DL4J's
column. Graft's kernels compute only the first layer's weight gradient, as a forward convolution
with the minibatch as channels, and take out the second forward pass of each convolution (LeNet's
two have ReLU activations, so their forward output serves the backward pass). Reorders convert
between DL4J's NCHW arrays and oneDNN's blocked layouts around every convolution. What runs outside
oneDNN, the dense layers (OpenBLAS), ReLU and max-pool bookkeeping, the loss and Adam, costs per op
and per parameter rather than per example, which larger minibatches spread over more examples. An
earlier profile (JFR, before Graft's kernels) is in
[performance-history.md](performance-history.md#hardware-ceiling). Max pooling runs on Graft's kernels
too (below): in Graft's column its time is outside oneDNN.

### The same step held to AVX2

Every host seen so far is AVX-512; AVX2 hosts of this machine kind exist. The same run with every
library held to AVX2 (oneDNN's \`DNNL_MAX_CPU_ISA=AVX2\`, OpenBLAS's Haswell kernels, the JVM's
\`-XX:UseAVX=2\`, so the Vector API runs 256-bit): the kernels an AVX2 host runs, on this host's cores,
caches and memory. The LeNet step reaches **$(awk -v s="$(value ceiling-avx2 best_lenet_share)" 'BEGIN { printf "%.1f", 100 * s }') %** of the sgemm peak so held
($(value ceiling-avx2 peak_gflops) GFLOP/s; the target, 25 %, is stated for an AVX2 host).

$(cat "$out/ceiling-avx2.md")

$(cat "$out/lenet-avx2-onednn.md")

oneDNN 2.3, the version inside ND4J 1.0.0-M2.1, has JIT pooling kernels for channel-first data only
on AVX-512; on AVX2 it falls back to its reference kernel (\`simple_nchw\` in its log), one element at a
time, which is the pooling row of DL4J's column. Graft's max pooling is plain Java on the arrays
(branch-free maxima and a first-maximum mask for the gradient, as oneDNN picks it) and takes that time
out of the step on either kind of host.
EOF
  if [[ -n "$kept_growth" ]]; then
    printf '\n%s\n\n' "$kept_growth"
  elif [[ -n "$growth" ]]; then
    cat <<EOF

## Cost as the data grows

\`deploy/bench/growth.sh\`: MNIST enlarged by seeded shifts and rotations of the real images
(\`graft bench-growth-data\`), imported, pre-trained for one epoch, evaluated, and a
feature-extraction head trained on cached features, each size in fresh drivers; then dl4j-spark's
Export and Direct approaches in the embedded mode. Seconds per 10,000 rows at each size, the marginal
cost between sizes (flat when cost grows linearly, falling while fixed costs are being amortised),
and the peak resident memory of the driver and of the largest executor. Executors keep their share
of the training minibatches off the heap between rounds, so their peak grows with the data
([docs/deploy.md](../deploy.md) says how to size them); the driver holds no training data. In the
embedded mode one JVM is driver and executor, and holds everything.

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
