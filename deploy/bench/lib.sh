# Shared by the benchmark scripts (sourced, not run). Needs $graft and $out.

# run NAME CMD...: runs a graft command; records "NAME key=value wall_s=W" in $out/results.txt for every
# key=value it prints on stdout (its output is kept in $out/NAME.out and $out/NAME.err). With reuse=1 a run
# that finished in $out before (NAME.ok holds its wall time) is not repeated: its recorded output is used.
run() {
  local name="$1"; shift
  local t0 wall
  if [[ "${reuse:-0}" == 1 && -f "$out/$name.ok" ]]; then
    wall=$(cat "$out/$name.ok")
  else
    rm -f "$out/$name.ok"
    t0=$(date +%s)
    "$graft" "$@" >"$out/$name.out" 2>"$out/$name.err" || { echo "$name failed; see $out/$name.err" >&2; exit 1; }
    wall=$(($(date +%s) - t0))
    echo "$wall" >"$out/$name.ok"
  fi
  tr ' ' '\n' <"$out/$name.out" | grep -E '^[a-z_]+=[0-9.]+$' | while read -r kv; do
    echo "$name $kv wall_s=$wall" | tee -a "$out/results.txt"
  done
}

# mnist_data: MNIST train and test as Graft datasets in $out/mnist-train and $out/mnist-test (fetched and
# imported once; a folder already there, or a link to one, is used as it is)
mnist_data() {
  if [[ ! -d "$out/mnist-train" ]]; then
    "$graft" fetch-data --only mnist >"$out/fetch.log" 2>&1
    "$graft" import --format idx --input data/raw/mnist/train-images-idx3-ubyte --output "$out/mnist-train" --num-classes 10 \
      >"$out/import.log" 2>&1
    "$graft" import --format idx --input data/raw/mnist/t10k-images-idx3-ubyte --output "$out/mnist-test" --num-classes 10 \
      >>"$out/import.log" 2>&1
  fi
}

# hwm_mb PID: the process's peak resident memory so far (VmHWM), in MB; 0 once it is gone
hwm_mb() { awk '/^VmHWM:/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# host_line: the machine and code a benchmark ran on (CPU model, vector extensions, cores, commit)
host_line() {
  local cpu ext
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  ext=$(grep -q -w avx512f /proc/cpuinfo && echo AVX-512 || { grep -q -w avx2 /proc/cpuinfo && echo AVX2 || echo "no AVX2"; })
  echo "host: ${cpu:-unknown CPU}, $ext, $(nproc) cores; commit $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo -dirty)"
}

# loopback_cluster DIR: starts the local standalone cluster (2 one-core workers, 3 GB each) on a random
# port, stopped when the script exits; sets $port
loopback_cluster() {
  port=$(( 17000 + RANDOM % 1000 ))
  deploy/local-cluster/spark-standalone.sh start --workers 2 --cores 1 --memory 3g --port "$port" --ui-port $(( port + 1 )) --dir "$1"
  trap "deploy/local-cluster/spark-standalone.sh stop --dir '$1' >/dev/null" EXIT
}

# watch_peaks PID [executors]: waits for PID, polling each second its peak RSS (driver_mb) and, with a
# second argument, the largest Spark executor's (exec_mb); returns PID's exit status
watch_peaks() {
  local pid="$1" m e
  driver_mb=0; exec_mb=0
  while kill -0 "$pid" 2>/dev/null; do
    m="$(hwm_mb "$pid")"; (( m > driver_mb )) && driver_mb=$m
    if [[ -n "${2:-}" ]]; then
      for e in $(pgrep -f CoarseGrainedExecutorBackend || true); do
        m="$(hwm_mb "$e")"; (( m > exec_mb )) && exec_mb=$m
      done
    fi
    sleep 1
  done
  wait "$pid"
}
