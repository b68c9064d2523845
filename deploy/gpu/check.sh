#!/usr/bin/env bash
# GPU check, on a machine with an NVIDIA GPU: builds Graft with ND4J's CUDA backend (-Pcuda),
# pre-trains the LeNet CNN on MNIST on the GPU and prints samples/s beside the CPU backend's,
# both measured here in one run (graft bench-overhead: single-JVM DL4J fit and graft pretrain on
# Graft's averaging, same rows, batch size and epochs).
#   deploy/gpu/check.sh [--rows 20000] [--batch 64] [--epochs 2] [--out target/gpu-check] [--redist] [--force]
# Writes OUT/gpu-check.md (the table, the GPU, the driver, the commit) and leaves the checkout
# built for the CPU again.
#
# What it needs (checked first, each failure one line):
#  - the ND4J CUDA build Graft can use: nd4j-cuda-11.6 1.0.0-M2.1, the last DL4J release. It carries
#    machine code for compute capabilities 3.7 to 8.6 only and no PTX (read off its fatbinary), so its
#    kernels cannot run on Hopper (9.0) or newer: the check stops there unless --force.
#  - CUDA 11.x's libcublas.so.11 and libcusolver.so.11 (a CUDA 11.6+ toolkit) on the library path, or
#    --redist: JavaCPP's CUDA 11.6 + cuDNN 8.3 redistributable jar (1.8 GB from Maven Central) instead.
#  - an NVIDIA driver for CUDA 11.6 (>= 510), Java 17, Maven able to reach Maven Central.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rows=20000; batch=64; epochs=2; out="$root/target/gpu-check"; redist=0; force=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --redist) redist=1; shift ;;
    --force) force=1; shift ;;
    *) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
  esac
done
fail() { echo "gpu-check: $*" >&2; exit 3; }

command -v nvidia-smi >/dev/null 2>&1 || fail "nvidia-smi not found: no NVIDIA driver on $(hostname)"
gpu="$(nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader | head -1)"
[[ -n "$gpu" ]] || fail "nvidia-smi lists no GPU"
cc="$(echo "$gpu" | cut -d, -f2 | tr -d ' ')"
echo "gpu-check: $gpu"
if awk -v c="$cc" 'BEGIN { exit !(c + 0 > 8.6) }' && [[ "$force" == 0 ]]; then
  fail "GPU compute capability $cc: nd4j-cuda-11.6 1.0.0-M2.1 has kernels for 3.7-8.6 only and no PTX to compile for newer chips (--force to try anyway)"
fi
java -version 2>&1 | grep -q '"17' || fail "Java 17 needed (java -version: $(java -version 2>&1 | head -1))"
command -v mvn >/dev/null 2>&1 || fail "mvn not found"
profiles="-Pcuda"
if [[ "$redist" == 1 ]]; then
  profiles="-Pcuda,cuda-redist"
elif ! { ldconfig -p 2>/dev/null; echo "${LD_LIBRARY_PATH:-}" | tr ':' '\n' | while read -r d; do ls "$d" 2>/dev/null; done; } | grep -q 'libcublas.so.11'; then
  fail "libcublas.so.11 not found (ldconfig, LD_LIBRARY_PATH): install CUDA 11.6+ 11.x, or pass --redist"
fi

mkdir -p "$out"
cd "$root"
deploy/bin/graft fetch-data --only mnist >"$out/fetch.log" 2>&1 || fail "fetch-data failed; see $out/fetch.log"

# bench BACKEND: build with the backend's profile, import MNIST once, run bench-overhead
bench() {
  local backend="$1" mvn_profiles="$2" master="$3"
  echo "gpu-check: building for $backend (mvn $mvn_profiles package)"
  # shellcheck disable=SC2086
  mvn -B -q -DskipTests $mvn_profiles package >"$out/build-$backend.log" 2>&1 || fail "build failed; see $out/build-$backend.log"
  if [[ ! -d "$out/mnist-train" ]]; then
    deploy/bin/graft import --format idx --input data/raw/mnist/train-images-idx3-ubyte --output "$out/mnist-train" \
      --num-classes 10 >"$out/import.log" 2>&1 || fail "import failed; see $out/import.log"
  fi
  echo "gpu-check: LeNet on MNIST, $rows rows, batch $batch, $epochs epochs, ND4J $backend backend"
  deploy/bin/graft bench-overhead --train "$out/mnist-train" --rows "$rows" --batch "$batch" --epochs "$epochs" \
    --master "$master" --work "$out/work-$backend" --report "$out/overhead-$backend.md" >"$out/bench-$backend.out" 2>"$out/bench-$backend.err" \
    || fail "bench-overhead on $backend failed; see $out/bench-$backend.err"
  grep -q "backend=" "$out/bench-$backend.out" || fail "bench-overhead printed no backend line; see $out/bench-$backend.out"
}
value() { tr ' ' '\n' <"$out/bench-$1.out" | sed -n "s/^$2=//p" | tail -1; }

# one GPU: one Spark task trains on it (local[1]); the CPU run uses every core (local[*])
bench cuda "$profiles" "local[1]"
[[ "$(value cuda backend)" == JCublas* ]] || fail "the -Pcuda build ran on ND4J backend '$(value cuda backend)', not CUDA; see $out/bench-cuda.err"
bench cpu "" "local[*]"

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
{
  echo "| backend | single-JVM DL4J fit (samples/s) | graft pretrain on Graft's averaging (samples/s) |"
  echo "|---|---|---|"
  echo "| CUDA, $(echo "$gpu" | cut -d, -f1 | sed 's/^ *//') (Spark local[1]) | $(value cuda single_jvm) | $(value cuda graft) |"
  echo "| CPU, $(nproc) cores (Spark local[*]) | $(value cpu single_jvm) | $(value cpu graft) |"
  echo
  echo "GPU: $gpu. Commit $commit. LeNet on MNIST, $rows rows, batch $batch per worker, $epochs epochs (the last timed)."
  echo "Command: deploy/gpu/check.sh --rows $rows --batch $batch --epochs $epochs$([[ "$redist" == 1 ]] && echo " --redist")"
} | tee "$out/gpu-check.md"
