# Shared by the local-cluster scripts (sourced, not run).

# The daemons' JVM options: C1 only and the serial collector. They are small, idle between requests
# and share the machine with the jobs they serve: C2's compiler threads and a parallel collector's
# would take CPU from the jobs for no gain (GRAFT_DAEMON_JAVA_OPTS replaces them).
daemon_jvm=(${GRAFT_DAEMON_JAVA_OPTS:--XX:TieredStopAtLevel=1 -XX:+UseSerialGC})

# alive PIDFILE: the process in PIDFILE runs
alive() {
  [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

# stop_pids PIDFILE...: stops each process (TERM, then KILL after 15 s) and removes its pid file
stop_pids() {
  local f pid
  for f in "$@"; do
    [[ -f "$f" ]] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}

site() { # site FILE NAME=VALUE...: a Hadoop configuration file
  local f="$1"; shift
  { echo '<?xml version="1.0"?>'; echo '<configuration>'
    for kv in "$@"; do echo "  <property><name>${kv%%=*}</name><value>${kv#*=}</value></property>"; done
    echo '</configuration>'; } >"$f"
}

# minicluster_classpath NAME DIR: DIR/conf, then the Hadoop daemons' jars the build resolved (hadoop-client-minicluster)
minicluster_classpath() {
  local cp="$root/spark-jobs/target/hdfs-classpath.txt"
  [[ -f "$cp" ]] || { echo "$1: $cp not found (run: mvn -q -DskipTests package)" >&2; exit 2; }
  echo "$2/conf:$(cat "$cp")"
}

# daemon_log4j FILE: the daemons' logging (warnings and errors to stderr). It lives outside conf/:
# Spark ships HADOOP_CONF_DIR to YARN containers and graft puts it on its classpath, where a
# log4j2.properties would replace the application's own logging.
daemon_log4j() {
  cat >"$1" <<'EOF'
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
EOF
}
