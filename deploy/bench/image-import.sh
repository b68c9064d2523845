#!/usr/bin/env bash
# Image import at growing file counts on the embedded local[*] Spark: the 60,000 MNIST training
# digits written as PNG files by `graft export-images` (one folder per class), copied into shards
# of the same class folders (and part of one more) for the larger sizes, then `graft import --format image-folder` of
# each size. Prints the host, one line per size (files/s, listing and total seconds, the JVM's peak
# resident memory, polled as VmHWM), writes the Markdown table to --report and ends with one line
# of key=value figures.
#   deploy/bench/image-import.sh [--sizes 10000,100000,600000] [--heap 2g] [--out target/bench-images]
#                                [--report docs/benchmarks/image-import.md]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sizes=10000,100000,600000; heap=2g; out="$root/target/bench-images"; report=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --heap) heap="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --report) report="$2"; shift 2 ;;
    *) echo "image-import: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$root"
graft=deploy/bin/graft
source "$root/deploy/bench/lib.sh"   # mnist_data, hwm_mb
mnist_data


host="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(grep -q avx512f /proc/cpuinfo && echo AVX-512 || (grep -q avx2 /proc/cpuinfo && echo AVX2 || echo 'no AVX2')), $(nproc) cores"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- pom.xml common spark-jobs deploy 2>/dev/null || echo -dirty)"
echo "host: $host; commit $commit; driver heap $heap"

if [[ ! -d "$out/png-60k" ]]; then
  "$graft" export-images --data "$out/mnist-train" --out "$out/png-60k" >"$out/export.log" 2>&1
fi
base=$(find "$out/png-60k" -name '*.png' | wc -l)

rows=()
summary="host=\"$host\""
IFS=, read -r -a list <<<"$sizes"
for n in "${list[@]}"; do
  dir="$out/png-$n"
  if [[ ! -d "$dir" ]]; then
    mkdir -p "$dir"
    # whole copies of the 60k files, each in its own shard sub-folder of every class folder, then the
    # first (n mod 60k) files in name order in one more shard
    (cd "$out/png-60k" && find . -name '*.png' | sort >"$out/files.txt")
    for ((k = 0; k < n / base; k++)); do
      for class in "$out/png-60k"/*/; do
        c=$(basename "$class"); mkdir -p "$dir/$c/shard-$k"; cp "$class"*.png "$dir/$c/shard-$k/"
      done
    done
    k=$(( n / base ))
    if (( n % base > 0 )); then
      sed -n "1,$(( n % base ))p" "$out/files.txt" | while read -r f; do
        target="$dir/$(dirname "$f")/shard-$k"; mkdir -p "$target"; cp "$out/png-60k/$f" "$target/"
      done
    fi
  fi
  GRAFT_DRIVER_MEMORY="$heap" "$graft" import --format image-folder --input "$dir" --output "$out/dataset-$n" \
    >"$out/import-$n.log" 2>"$out/import-$n.err" &
  pid=$!
  peak=0
  while kill -0 "$pid" 2>/dev/null; do
    m=$(hwm_mb "$pid"); (( m > peak )) && peak=$m
    sleep 0.5
  done
  wait "$pid" || { echo "import of $n files failed; see $out/import-$n.err" >&2; exit 1; }
  listed=$(sed -n 's/.*files listed in .* (\([0-9.]*\) s).*/\1/p' "$out/import-$n.log")
  total=$(sed -n 's/.*\] imported .* in \([0-9.]*\) s (.*/\1/p' "$out/import-$n.log")
  rate=$(awk -v n="$n" -v t="$total" 'BEGIN { printf "%.0f", n / t }')
  per10k=$(awk -v n="$n" -v t="$total" 'BEGIN { printf "%.2f", t / n * 10000 }')
  echo "files=$n listed_s=$listed total_s=$total files_per_s=$rate s_per_10k=$per10k peak_rss_mb=$peak"
  rows+=("| $(printf "%'d" "$n") | $listed | $total | $rate | $per10k | $peak |")
  summary+=" files_per_s_$n=$rate s_per_10k_$n=$per10k peak_rss_mb_$n=$peak"
done

if [[ -n "$report" ]]; then
  {
    echo "<!-- written by deploy/bench/image-import.sh --sizes $sizes --heap $heap; do not edit by hand -->"
    echo "Host: $host. Commit $commit, $(date -u +%Y-%m-%d). Embedded \`local[*]\`, driver heap $heap."
    echo
    echo "| files | listing s | total s | files/s | s per 10k files | peak RSS MB |"
    echo "|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
  } >"$report"
  echo "table written to $report"
fi
echo "$summary"
