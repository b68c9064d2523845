#!/usr/bin/env bash
# HDFS on loopback for trying cluster mode on one machine: a NameNode and N DataNodes, each its own
# JVM, from the Hadoop jars the build resolved (hadoop-client-minicluster holds the daemons; no
# Hadoop download).
#   deploy/local-cluster/hdfs.sh start [--datanodes 2] [--replication 2] [--port 9000] [--http-port 9870] [--dir DIR]
#   deploy/local-cluster/hdfs.sh status|stop [--dir DIR]
#   deploy/local-cluster/hdfs.sh stop-datanode I [--dir DIR]     (kill -9 DataNode I, to try a failure)
# then: hdfs://127.0.0.1:9000/... in any Graft URI, e.g. --conf spark.hadoop.fs.defaultFS=hdfs://127.0.0.1:9000
# start formats a new filesystem under DIR (default ${TMPDIR:-/tmp}/graft-local-hdfs; an existing one
# is kept) and waits until every DataNode is live. NameNode UI: http://127.0.0.1:9870.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=lib.sh
source "$root/deploy/local-cluster/lib.sh"
cmd="${1:-}"; shift || true
datanodes=2; replication=2; port=9000; http=9870; dir="${TMPDIR:-/tmp}/graft-local-hdfs"; which=""
if [[ "$cmd" == stop-datanode ]]; then which="${1:-}"; shift || true; fi
while [[ $# -gt 0 ]]; do
  case "$1" in
    --datanodes) datanodes="$2"; shift 2 ;;
    --replication) replication="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --http-port) http="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    *) echo "hdfs: unknown option $1" >&2; exit 2 ;;
  esac
done


live() { # live DataNodes the NameNode reports (its JMX page)
  [[ -f "$dir/http.port" ]] && http="$(cat "$dir/http.port")"
  curl -sf "http://127.0.0.1:$http/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState" 2>/dev/null \
    | tr ',' '\n' | sed -n 's/.*"NumLiveDataNodes" *: *\([0-9]*\).*/\1/p' | head -1
}

start() {
  if alive "$dir/namenode.pid"; then
    echo "hdfs: already running (NameNode pid $(cat "$dir/namenode.pid")); stop it first" >&2; exit 1
  fi
  mkdir -p "$dir/conf"
  site "$dir/conf/core-site.xml" "fs.defaultFS=hdfs://127.0.0.1:$port" "hadoop.tmp.dir=$dir/tmp"
  site "$dir/conf/hdfs-site.xml" "dfs.namenode.name.dir=$dir/name" "dfs.replication=$replication" \
    "dfs.namenode.rpc-address=127.0.0.1:$port" "dfs.namenode.http-address=127.0.0.1:$http" "dfs.permissions.enabled=false" \
    "dfs.datanode.address=127.0.0.1:0" "dfs.datanode.http.address=127.0.0.1:0" "dfs.datanode.ipc.address=127.0.0.1:0" \
    "dfs.datanode.hostname=127.0.0.1" "dfs.client.use.datanode.hostname=true" "dfs.namenode.safemode.extension=0" \
    "dfs.heartbeat.interval=1" "dfs.namenode.heartbeat.recheck-interval=5000"
  cat >"$dir/conf/log4j2.properties" <<'EOF'
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
EOF
  echo "$http" >"$dir/http.port"
  local java="${JAVA_HOME:+$JAVA_HOME/bin/}java" cp
  cp="$(minicluster_classpath hdfs "$dir")"
  if [[ ! -d "$dir/name/current" ]]; then
    "$java" -Xmx256m -cp "$cp" org.apache.hadoop.hdfs.server.namenode.NameNode -format -nonInteractive >"$dir/format.log" 2>&1 \
      || { echo "hdfs: formatting failed; see $dir/format.log" >&2; exit 1; }
  fi
  nohup "$java" -Xmx384m -cp "$cp" org.apache.hadoop.hdfs.server.namenode.NameNode >"$dir/namenode.log" 2>&1 &
  echo $! >"$dir/namenode.pid"
  for i in $(seq 1 "$datanodes"); do
    nohup "$java" -Xmx256m -cp "$cp" org.apache.hadoop.hdfs.server.datanode.DataNode "-Ddfs.datanode.data.dir=$dir/data-$i" \
      >"$dir/datanode-$i.log" 2>&1 &
    echo $! >"$dir/datanode-$i.pid"
  done
  for _ in $(seq 1 120); do
    if [[ "$(live)" == "$datanodes" ]]; then
      echo "hdfs: hdfs://127.0.0.1:$port with $datanodes DataNode(s), replication $replication (UI http://127.0.0.1:$http)"
      return 0
    fi
    alive "$dir/namenode.pid" || { echo "hdfs: the NameNode died; see $dir/namenode.log" >&2; stop; exit 1; }
    sleep 1
  done
  echo "hdfs: $datanodes DataNode(s) not live within 120 s; see $dir/*.log" >&2
  stop
  exit 1
}

stop() {
  stop_pids "$dir"/datanode-*.pid "$dir"/namenode.pid
  echo "hdfs: stopped"
}

stop_datanode() {
  [[ -n "$which" && -f "$dir/datanode-$which.pid" ]] || { echo "hdfs: no DataNode $which under $dir" >&2; exit 2; }
  kill -9 "$(cat "$dir/datanode-$which.pid")" 2>/dev/null || true
  rm -f "$dir/datanode-$which.pid"
  echo "hdfs: DataNode $which killed"
}

status() {
  if alive "$dir/namenode.pid"; then
    echo "hdfs: NameNode up (pid $(cat "$dir/namenode.pid")), $(live) DataNode(s) live"
  else
    echo "hdfs: not running"; return 3
  fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  stop-datanode) stop_datanode ;;
  *) echo "usage: $0 start|stop|status|stop-datanode I [--datanodes N] [--replication R] [--port P] [--http-port P] [--dir DIR]" >&2; exit 2 ;;
esac
