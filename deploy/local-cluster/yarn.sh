#!/usr/bin/env bash
# YARN on loopback for trying `graft-submit --master yarn` on one machine: a ResourceManager and one
# NodeManager, each its own JVM, from the Hadoop jars the build resolved (hadoop-client-minicluster
# holds the daemons; no Hadoop download).
#   deploy/local-cluster/yarn.sh start [--memory 6144] [--vcores 4] [--port 8032] [--dir DIR]
#   deploy/local-cluster/yarn.sh status|stop [--dir DIR]
# then: HADOOP_CONF_DIR=DIR/conf deploy/bin/graft-submit --properties-file deploy/conf/cluster/yarn.conf --master yarn ...
# The default filesystem stays file:// (the staging directory and every path are local); run
# deploy/local-cluster/hdfs.sh beside it and add --conf spark.hadoop.fs.defaultFS=hdfs://... for HDFS.
# RM ports: --port (client), +1 scheduler, +2 resource tracker, +3 admin, +4 web UI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=lib.sh
source "$root/deploy/local-cluster/lib.sh"
cmd="${1:-}"; shift || true
memory=6144; vcores=4; port=8032; dir="${TMPDIR:-/tmp}/graft-local-yarn"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --memory) memory="$2"; shift 2 ;;
    --vcores) vcores="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    *) echo "yarn: unknown option $1" >&2; exit 2 ;;
  esac
done

nodes() { # running NodeManagers the ResourceManager reports (its JMX page)
  [[ -f "$dir/port" ]] && port="$(cat "$dir/port")"
  curl -sf "http://127.0.0.1:$((port + 4))/jmx?qry=Hadoop:service=ResourceManager,name=ClusterMetrics" 2>/dev/null \
    | tr ',' '\n' | sed -n 's/.*"NumActiveNMs" *: *\([0-9]*\).*/\1/p' | head -1
}

start() {
  if alive "$dir/resourcemanager.pid"; then
    echo "yarn: already running (ResourceManager pid $(cat "$dir/resourcemanager.pid")); stop it first" >&2; exit 1
  fi
  mkdir -p "$dir/conf/webapps/cluster" "$dir/conf/webapps/node" "$dir/conf/webapps/yarn" "$dir/local" "$dir/logs"
  # hadoop-client-minicluster leaves out the RM / NM web resources and capacity-scheduler.xml:
  # empty webapps/ folders on the classpath let their web servers start (JMX is all we read)
  site "$dir/conf/core-site.xml" "fs.defaultFS=file:///" "hadoop.tmp.dir=$dir/tmp"
  site "$dir/conf/yarn-site.xml" "yarn.resourcemanager.hostname=127.0.0.1" \
    "yarn.resourcemanager.address=127.0.0.1:$port" "yarn.resourcemanager.scheduler.address=127.0.0.1:$((port + 1))" \
    "yarn.resourcemanager.resource-tracker.address=127.0.0.1:$((port + 2))" "yarn.resourcemanager.admin.address=127.0.0.1:$((port + 3))" \
    "yarn.resourcemanager.webapp.address=127.0.0.1:$((port + 4))" \
    "yarn.nodemanager.hostname=127.0.0.1" "yarn.nodemanager.address=127.0.0.1:0" "yarn.nodemanager.localizer.address=127.0.0.1:0" \
    "yarn.nodemanager.webapp.address=127.0.0.1:0" "yarn.nodemanager.local-dirs=$dir/local" "yarn.nodemanager.log-dirs=$dir/logs" \
    "yarn.nodemanager.resource.memory-mb=$memory" "yarn.nodemanager.resource.cpu-vcores=$vcores" \
    "yarn.scheduler.minimum-allocation-mb=256" "yarn.scheduler.maximum-allocation-mb=$memory" \
    "yarn.nodemanager.vmem-check-enabled=false" "yarn.nodemanager.pmem-check-enabled=false" \
    "yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage=99" \
    "yarn.nodemanager.delete.debug-delay-sec=600" "yarn.log-aggregation-enable=false" \
    "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms=250" "yarn.nodemanager.env-whitelist=JAVA_HOME,PATH,LANG,TZ"
  site "$dir/conf/capacity-scheduler.xml" "yarn.scheduler.capacity.root.queues=default" \
    "yarn.scheduler.capacity.root.default.capacity=100" "yarn.scheduler.capacity.root.default.maximum-capacity=100" \
    "yarn.scheduler.capacity.maximum-am-resource-percent=0.5"
  daemon_log4j "$dir/log4j2.properties"
  echo "$port" >"$dir/port"
  local java="${JAVA_HOME:+$JAVA_HOME/bin/}java" cp
  cp="$(minicluster_classpath yarn "$dir")"
  # containers start `$JAVA_HOME/bin/java`: the NodeManager passes its JAVA_HOME on
  export JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}"
  # Hadoop 3.3's web layer (Guice) defines classes reflectively: Java 17 must open java.base to it
  local opens=(--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
    --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED)
  nohup "$java" "${opens[@]}" "${daemon_jvm[@]}" -Xmx512m -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$cp" org.apache.hadoop.yarn.server.resourcemanager.ResourceManager >"$dir/resourcemanager.log" 2>&1 &
  echo $! >"$dir/resourcemanager.pid"
  nohup "$java" "${opens[@]}" "${daemon_jvm[@]}" -Xmx384m -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$cp" org.apache.hadoop.yarn.server.nodemanager.NodeManager >"$dir/nodemanager.log" 2>&1 &
  echo $! >"$dir/nodemanager.pid"
  for _ in $(seq 1 120); do
    if [[ "$(nodes)" == 1 ]]; then
      echo "yarn: ResourceManager 127.0.0.1:$port with 1 NodeManager ($memory MB, $vcores vcores); HADOOP_CONF_DIR=$dir/conf (UI http://127.0.0.1:$((port + 4)))"
      return 0
    fi
    alive "$dir/resourcemanager.pid" || { echo "yarn: the ResourceManager died; see $dir/resourcemanager.log" >&2; stop; exit 1; }
    alive "$dir/nodemanager.pid" || { echo "yarn: the NodeManager died; see $dir/nodemanager.log" >&2; stop; exit 1; }
    sleep 1
  done
  echo "yarn: no NodeManager registered within 120 s; see $dir/*.log" >&2
  stop
  exit 1
}

stop() {
  stop_pids "$dir"/nodemanager.pid "$dir"/resourcemanager.pid
  echo "yarn: stopped"
}

status() {
  if alive "$dir/resourcemanager.pid"; then
    echo "yarn: ResourceManager up (pid $(cat "$dir/resourcemanager.pid")), $(nodes) NodeManager(s) running"
  else
    echo "yarn: not running"; return 3
  fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status [--memory MB] [--vcores N] [--port P] [--dir DIR]" >&2; exit 2 ;;
esac
