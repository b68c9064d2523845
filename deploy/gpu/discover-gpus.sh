#!/usr/bin/env bash
# Spark GPU discovery script (spark.executor.resource.gpu.discoveryScript, and
# spark.worker.resource.gpu.discoveryScript on standalone workers): prints the GPUs this machine or
# container sees as {"name": "gpu", "addresses": ["0", "1", ...]}, the addresses being nvidia-smi's
# indices. Graft binds each task to its address as the CUDA device ordinal, so executors need
# CUDA_DEVICE_ORDER=PCI_BUS_ID (nvidia-smi's order; deploy/conf/cluster/gpu.conf sets it).
set -euo pipefail
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "discover-gpus: nvidia-smi not found: no NVIDIA driver on $(hostname)" >&2
  exit 1
fi
addresses="$(nvidia-smi --query-gpu=index --format=csv,noheader | tr -dc '0-9\n' | sed '/^$/d; s/.*/"&"/' | paste -sd, -)"
echo "{\"name\": \"gpu\", \"addresses\": [${addresses}]}"
