#!/usr/bin/env bash
# A Spark standalone cluster on loopback for trying cluster mode on one machine: a master and N
# workers started from the jars this checkout was built with (no Spark download).
#   deploy/local-cluster/spark-standalone.sh start [--workers 2] [--cores 1] [--memory 3g] [--gpus-per-worker 0]
#                                                  [--secret-file FILE] [--port 7077] [--ui-port 8080] [--dir DIR]
#   deploy/local-cluster/spark-standalone.sh status|stop [--dir DIR] [--ui-port 8080]
# then:  deploy/bin/graft-submit --master spark://127.0.0.1:7077 pretrain --config ...
# Master UI http://127.0.0.1:8080. Everything binds to 127.0.0.1; logs and pids live under DIR
# (default ${TMPDIR:-/tmp}/graft-local-cluster). start waits until every worker has registered.
# --gpus-per-worker N gives worker i the GPU addresses (i-1)*N .. i*N-1 (a Spark worker resources
# file each, so workers on one machine never share a GPU); submit with
# --conf spark.executor.resource.gpu.amount=1 --conf spark.task.resource.gpu.amount=1 for one task per GPU.
# --secret-file FILE turns on Spark's authentication (shared secret) and RPC encryption for the master,
# the workers and their executors; submit with graft-submit --secret-file FILE (others are refused).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=lib.sh
source "$root/deploy/local-cluster/lib.sh"
cmd="${1:-}"; shift || true
workers=2; cores=1; memory=3g; gpus=0; secret_file=""; dir="${TMPDIR:-/tmp}/graft-local-cluster"; port=7077; ui=8080
while [[ $# -gt 0 ]]; do
  case "$1" in
    --workers) workers="$2"; shift 2 ;;
    --cores) cores="$2"; shift 2 ;;
    --memory) memory="$2"; shift 2 ;;
    --gpus-per-worker) gpus="$2"; shift 2 ;;
    --secret-file) secret_file="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --ui-port) ui="$2"; shift 2 ;;
    *) echo "spark-standalone: unknown option $1" >&2; exit 2 ;;
  esac
done
export SPARK_LOCAL_IP=127.0.0.1 SPARK_MASTER_HOST=127.0.0.1
opens="--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED \
--add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
--add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
--add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED"


registered() { # number of ALIVE workers the master reports (its JSON status page; without curl, its log)
  [[ -f "$dir/ui.port" ]] && ui="$(cat "$dir/ui.port")"
  if command -v curl >/dev/null 2>&1; then
    curl -sf "http://127.0.0.1:$ui/json/" 2>/dev/null | tr ',' '\n' | sed -n 's/.*"aliveworkers" *: *\([0-9]*\).*/\1/p' | head -1
  else
    grep -c "Registering worker" "$dir/master.log" 2>/dev/null || true
  fi
}

# Spark's Worker launches executors through SPARK_HOME/jars: give it one made of the build's classpath.
spark_home() {
  local cp="$root/spark-jobs/target/classpath.txt"
  [[ -f "$cp" ]] || { echo "spark-standalone: $cp not found (run: mvn -q -DskipTests package)" >&2; exit 2; }
  rm -rf "$dir/spark-home" && mkdir -p "$dir/spark-home/jars" "$dir/spark-home/conf"
  tr ':' '\n' <"$cp" | while read -r jar; do
    [[ -n "$jar" ]] && ln -sf "$jar" "$dir/spark-home/jars/$(basename "$jar")"
  done
  # the launcher takes SPARK_HOME/jars only from a "release" layout (a RELEASE file) and must be told the Scala version
  echo "Spark from the Graft build's classpath ($cp)" >"$dir/spark-home/RELEASE"
  export SPARK_HOME="$dir/spark-home" SPARK_SCALA_VERSION=2.12
}

start() {
  mkdir -p "$dir"
  if alive "$dir/master.pid"; then
    echo "spark-standalone: already running (master pid $(cat "$dir/master.pid")); stop it first" >&2; exit 1
  fi
  spark_home
  local java="${JAVA_HOME:+$JAVA_HOME/bin/}java" security=""
  if [[ -n "$secret_file" ]]; then
    [[ -r "$secret_file" && -s "$secret_file" ]] || { echo "spark-standalone: secret file not readable or empty: $secret_file" >&2; exit 2; }
    # Spark reads _SPARK_AUTH_SECRET before spark.authenticate.secret: the secret stays out of ps and the logs
    _SPARK_AUTH_SECRET="$(tr -d '\n' <"$secret_file")"
    export _SPARK_AUTH_SECRET
    security="-Dspark.authenticate=true -Dspark.network.crypto.enabled=true"
  fi
  # shellcheck disable=SC2086
  nohup "$java" $opens -Xmx512m "${daemon_jvm[@]}" $security -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$port" --webui-port "$ui" >"$dir/master.log" 2>&1 &
  echo $! >"$dir/master.pid"
  echo "$ui" >"$dir/ui.port"
  for i in $(seq 1 "$workers"); do
    mkdir -p "$dir/worker-$i"
    local resources=""
    if [[ "$gpus" -gt 0 ]]; then
      local first=$(( (i - 1) * gpus )) addresses
      addresses="$(seq "$first" $(( first + gpus - 1 )) | sed 's/.*/"&"/' | paste -sd, -)"
      echo "[{\"id\": {\"componentName\": \"spark.worker\", \"resourceName\": \"gpu\"}, \"addresses\": [$addresses]}]" \
        >"$dir/worker-$i/resources.json"
      resources="-Dspark.worker.resource.gpu.amount=$gpus -Dspark.worker.resourcesFile=$dir/worker-$i/resources.json"
    fi
    # shellcheck disable=SC2086
    nohup "$java" $opens -Xmx512m "${daemon_jvm[@]}" $resources $security -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.worker.Worker \
      --host 127.0.0.1 --cores "$cores" --memory "$memory" --webui-port 0 --work-dir "$dir/worker-$i" \
      "spark://127.0.0.1:$port" >"$dir/worker-$i.log" 2>&1 &
    echo $! >"$dir/worker-$i.pid"
  done
  for _ in $(seq 1 120); do
    if [[ "$(registered)" == "$workers" ]]; then
      echo "spark-standalone: master spark://127.0.0.1:$port with $workers worker(s) of $cores core(s), $memory$([[ "$gpus" -gt 0 ]] && echo ", $gpus GPU(s)")$([[ -n "$security" ]] && echo ", authentication and encryption on") (UI http://127.0.0.1:$ui)"
      return 0
    fi
    alive "$dir/master.pid" || { echo "spark-standalone: the master died; see $dir/master.log" >&2; stop; exit 1; }
    sleep 1
  done
  echo "spark-standalone: $workers worker(s) did not register within 120 s; see $dir/*.log" >&2
  stop
  exit 1
}

stop() {
  stop_pids "$dir"/worker-*.pid "$dir"/master.pid
  echo "spark-standalone: stopped"
}

status() {
  if alive "$dir/master.pid"; then
    echo "spark-standalone: master up (pid $(cat "$dir/master.pid")), $(registered) worker(s) alive"
  else
    echo "spark-standalone: not running"; return 3
  fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status [--workers N] [--cores C] [--memory M] [--gpus-per-worker G] [--secret-file F] [--port P] [--ui-port P] [--dir DIR]" >&2; exit 2 ;;
esac
