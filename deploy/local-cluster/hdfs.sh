#!/usr/bin/env bash
# HDFS on loopback for trying cluster mode on one machine: a NameNode and N DataNodes, each its own
# JVM, from the Hadoop jars the build resolved (hadoop-client-minicluster holds the daemons; no
# Hadoop download).
#   deploy/local-cluster/hdfs.sh start [--datanodes 2] [--replication 2] [--port 9000] [--http-port 9870] [--dir DIR] [--kerberos]
#   deploy/local-cluster/hdfs.sh status|stop [--dir DIR]
#   deploy/local-cluster/hdfs.sh stop-datanode I [--dir DIR]     (kill -9 DataNode I, to try a failure)
#   deploy/local-cluster/hdfs.sh start-datanode I [--dir DIR]    (start it again on its data; waits until it is live)
# then: hdfs://127.0.0.1:9000/... in any Graft URI, e.g. --conf spark.hadoop.fs.defaultFS=hdfs://127.0.0.1:9000
# start formats a new filesystem under DIR (default ${TMPDIR:-/tmp}/graft-local-hdfs; an existing one
# is kept) and waits until every DataNode is live. NameNode UI: http://127.0.0.1:9870.
# --kerberos: a secure HDFS, to try Kerberos on one machine: Hadoop's MiniKdc (realm EXAMPLE.COM, its
# own JVM) writes DIR/kdc/krb5.conf and DIR/kdc/local.keytab holding hdfs/localhost, HTTP/localhost
# and graft (a user principal for clients; this one keytab is for local trials only). The DataNodes
# run on unprivileged ports without SASL (ignore.secure.ports.for.testing): RPC is Kerberos-
# authenticated, block transfers carry block access tokens. A client then needs:
#   HADOOP_CONF_DIR=DIR/conf KRB5_CONFIG=DIR/kdc/krb5.conf deploy/bin/graft ... \
#     --spark-conf spark.kerberos.principal=graft@EXAMPLE.COM --spark-conf spark.kerberos.keytab=DIR/kdc/local.keytab
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=lib.sh
source "$root/deploy/local-cluster/lib.sh"
cmd="${1:-}"; shift || true
datanodes=2; replication=2; port=9000; http=9870; dir="${TMPDIR:-/tmp}/graft-local-hdfs"; which=""; kerberos=false
if [[ "$cmd" == stop-datanode || "$cmd" == start-datanode ]]; then which="${1:-}"; shift || true; fi
while [[ $# -gt 0 ]]; do
  case "$1" in
    --datanodes) datanodes="$2"; shift 2 ;;
    --replication) replication="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --http-port) http="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --kerberos) kerberos=true; shift ;;
    *) echo "hdfs: unknown option $1" >&2; exit 2 ;;
  esac
done


live() { # live DataNodes the NameNode reports (its JMX page)
  [[ -f "$dir/http.port" ]] && http="$(cat "$dir/http.port")"
  curl -sf "http://127.0.0.1:$http/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState" 2>/dev/null \
    | tr ',' '\n' | sed -n 's/.*"NumLiveDataNodes" *: *\([0-9]*\).*/\1/p' | head -1
}

live_addresses() { # the transfer address of each live DataNode, one per line
  [[ -f "$dir/http.port" ]] && http="$(cat "$dir/http.port")"
  curl -sf "http://127.0.0.1:$http/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo" 2>/dev/null \
    | grep -o '\\"xferaddr\\":\\"[^\\]*' | sed 's/.*"//' || true
}

realm=EXAMPLE.COM # MiniKdc's default (org.name EXAMPLE, org.domain COM)

kdc() { # starts MiniKdc; prints the JVM option that points Kerberos at its krb5.conf
  local java="$1" cp="$2" kt="$dir/kdc/local.keytab"
  mkdir -p "$dir/kdc"
  rm -f "$dir/kdc/krb5.conf" "$kt"
  : >"$dir/kdc/minikdc.properties" # MiniKdc's defaults: realm EXAMPLE.COM on localhost, a free port
  nohup "$java" -Xmx128m "${daemon_jvm[@]}" -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$cp" org.apache.hadoop.minikdc.MiniKdc \
    "$dir/kdc" "$dir/kdc/minikdc.properties" "$kt" hdfs/localhost HTTP/localhost graft >"$dir/kdc.log" 2>&1 &
  echo $! >"$dir/kdc.pid"
  for _ in $(seq 1 60); do
    if grep -q "Standalone MiniKdc Running" "$dir/kdc.log" 2>/dev/null && [[ -s "$kt" ]]; then
      echo "-Djava.security.krb5.conf=$dir/kdc/krb5.conf"
      return 0
    fi
    alive "$dir/kdc.pid" || break
    sleep 0.5
  done
  echo "hdfs: the KDC did not start; see $dir/kdc.log" >&2
  stop_pids "$dir/kdc.pid"
  exit 1
}

start() {
  if alive "$dir/namenode.pid"; then
    echo "hdfs: already running (NameNode pid $(cat "$dir/namenode.pid")); stop it first" >&2; exit 1
  fi
  mkdir -p "$dir/conf"
  rm -f "$dir/conf/log4j2.properties" # where earlier versions wrote it
  daemon_log4j "$dir/log4j2.properties"
  local java="${JAVA_HOME:+$JAVA_HOME/bin/}java" cp krb=() core=() secure=()
  cp="$(minicluster_classpath hdfs "$dir")"
  if [[ "$kerberos" == true ]]; then
    local kt="$dir/kdc/local.keytab" service="hdfs/localhost@$realm" http_principal="HTTP/localhost@$realm" opt
    opt="$(kdc "$java" "$cp")" || exit 1
    krb=("$opt")
    core=("hadoop.security.authentication=kerberos")
    secure=("dfs.block.access.token.enable=true" "ignore.secure.ports.for.testing=true"
      "dfs.namenode.kerberos.principal=$service" "dfs.namenode.keytab.file=$kt"
      "dfs.datanode.kerberos.principal=$service" "dfs.datanode.keytab.file=$kt"
      "dfs.web.authentication.kerberos.principal=$http_principal" "dfs.web.authentication.kerberos.keytab=$kt")
  else
    rm -rf "$dir/kdc"
  fi
  site "$dir/conf/core-site.xml" "fs.defaultFS=hdfs://127.0.0.1:$port" "hadoop.tmp.dir=$dir/tmp" "${core[@]}"
  site "$dir/conf/hdfs-site.xml" "dfs.namenode.name.dir=$dir/name" "dfs.replication=$replication" \
    "dfs.namenode.rpc-address=127.0.0.1:$port" "dfs.namenode.http-address=127.0.0.1:$http" "dfs.permissions.enabled=false" \
    "dfs.datanode.address=127.0.0.1:0" "dfs.datanode.http.address=127.0.0.1:0" "dfs.datanode.ipc.address=127.0.0.1:0" \
    "dfs.datanode.hostname=127.0.0.1" "dfs.client.use.datanode.hostname=true" "dfs.namenode.safemode.extension=0" \
    "dfs.heartbeat.interval=1" "dfs.namenode.heartbeat.recheck-interval=5000" "${secure[@]}"
  echo "$http" >"$dir/http.port"
  local jvm=("${daemon_jvm[@]}" -Dlog4j2.configurationFile="$dir/log4j2.properties" "${krb[@]}" -cp "$cp")
  if [[ ! -d "$dir/name/current" ]]; then
    "$java" -Xmx256m "${jvm[@]}" org.apache.hadoop.hdfs.server.namenode.NameNode -format -nonInteractive >"$dir/format.log" 2>&1 \
      || { echo "hdfs: formatting failed; see $dir/format.log" >&2; stop; exit 1; }
  fi
  nohup "$java" -Xmx384m "${jvm[@]}" org.apache.hadoop.hdfs.server.namenode.NameNode >"$dir/namenode.log" 2>&1 &
  echo $! >"$dir/namenode.pid"
  for i in $(seq 1 "$datanodes"); do
    launch_datanode "$java" "$i" "${jvm[@]}"
  done
  for _ in $(seq 1 120); do
    if [[ "$(live)" == "$datanodes" ]]; then
      echo "hdfs: hdfs://127.0.0.1:$port with $datanodes DataNode(s), replication $replication (UI http://127.0.0.1:$http)"
      if [[ "$kerberos" == true ]]; then
        echo "hdfs: Kerberos realm $realm; client settings: HADOOP_CONF_DIR=$dir/conf KRB5_CONFIG=$dir/kdc/krb5.conf," \
          "principal graft@$realm, keytab $dir/kdc/local.keytab"
      fi
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
  stop_pids "$dir"/datanode-*.pid "$dir"/namenode.pid "$dir"/kdc.pid
  echo "hdfs: stopped"
}

launch_datanode() { # launch_datanode JAVA I JVM-OPTIONS...: DataNode I on DIR/data-I, in the background
  local java="$1" i="$2"; shift 2
  nohup "$java" -Xmx256m "$@" org.apache.hadoop.hdfs.server.datanode.DataNode "-Ddfs.datanode.data.dir=$dir/data-$i" \
    >>"$dir/datanode-$i.log" 2>&1 &
  echo $! >"$dir/datanode-$i.pid"
}

start_datanode() {
  [[ -n "$which" && -d "$dir/data-$which" ]] || { echo "hdfs: no DataNode $which under $dir" >&2; exit 2; }
  alive "$dir/namenode.pid" || { echo "hdfs: the NameNode under $dir is not running" >&2; exit 2; }
  alive "$dir/datanode-$which.pid" && { echo "hdfs: DataNode $which is already running" >&2; exit 2; }
  local java="${JAVA_HOME:+$JAVA_HOME/bin/}java" cp krb=()
  cp="$(minicluster_classpath hdfs "$dir")"
  [[ -f "$dir/kdc/krb5.conf" ]] && krb=("-Djava.security.krb5.conf=$dir/kdc/krb5.conf")
  local before
  before="$(live_addresses)"
  launch_datanode "$java" "$which" "${daemon_jvm[@]}" -Dlog4j2.configurationFile="$dir/log4j2.properties" "${krb[@]}" -cp "$cp"
  # live once the NameNode lists a transfer address it did not list before (the killed process may
  # still count as live until its heartbeats are missed; the new one listens on a new port)
  for _ in $(seq 1 120); do
    if live_addresses | grep -qvxF -e "${before:-none}"; then
      echo "hdfs: DataNode $which live again ($(live) live)"
      return 0
    fi
    alive "$dir/datanode-$which.pid" || break
    sleep 1
  done
  echo "hdfs: DataNode $which not live within 120 s; see $dir/datanode-$which.log" >&2
  exit 1
}

stop_datanode() {
  [[ -n "$which" && -f "$dir/datanode-$which.pid" ]] || { echo "hdfs: no DataNode $which under $dir" >&2; exit 2; }
  kill -9 "$(cat "$dir/datanode-$which.pid")" 2>/dev/null || true
  rm -f "$dir/datanode-$which.pid"
  echo "hdfs: DataNode $which killed"
}

status() {
  if alive "$dir/namenode.pid"; then
    echo "hdfs: NameNode up (pid $(cat "$dir/namenode.pid")), $(live) DataNode(s) live$(alive "$dir/kdc.pid" && echo ", Kerberos KDC up")"
  else
    echo "hdfs: not running"; return 3
  fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  stop-datanode) stop_datanode ;;
  start-datanode) start_datanode ;;
  *) echo "usage: $0 start|stop|status|stop-datanode I|start-datanode I [--datanodes N] [--replication R] [--port P] [--http-port P] [--dir DIR] [--kerberos]" >&2; exit 2 ;;
esac
