#!/usr/bin/env bash
# A single-node Elasticsearch 9 for tailplow's integration tests and benchmarks, on 127.0.0.1
# only, security off.
#
#   scripts/services/elasticsearch.sh start|stop|status|restart|wipe|env
#
# `start` fetches Elastic's integ-test distribution (org.elasticsearch.distribution.integ-test-zip,
# the only Elasticsearch build on Maven Central: server + transport + x-pack core/security, no
# other modules) with Maven into $TAILPLOW_CACHE, unpacks it into the run dir, writes a config,
# starts the node as an unprivileged user (Elasticsearch refuses to run as root) and waits until
# _cluster/health is yellow or green. On success stdout is one line,
#   export TAILPLOW_ELASTICSEARCH_URL=http://127.0.0.1:19200
# so `eval "$(scripts/services/elasticsearch.sh start)"` sets up the tests' environment.
set -euo pipefail

SERVICE=elasticsearch
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ES_VERSION="${TAILPLOW_ELASTICSEARCH_VERSION:-9.2.4}"
PORT="${TAILPLOW_ELASTICSEARCH_PORT:-19200}"
TRANSPORT_PORT="${TAILPLOW_ELASTICSEARCH_TRANSPORT_PORT:-19300}"
HEAP="${TAILPLOW_ELASTICSEARCH_HEAP:-512m}"
# Elasticsearch will not start as root; when this script runs as root the node runs as this
# system user, created on first use.
ES_USER="${TAILPLOW_ELASTICSEARCH_USER:-tailplow-es}"
ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

DIR="$RUN_ROOT/elasticsearch"
# Unpacked here rather than in the cache: the cache is usually under root's home, which the
# unprivileged node user cannot read.
HOME_DIR="$DIR/dist/elasticsearch-$ES_VERSION"
CONFIG_DIR="$DIR/config"
DATA_DIR="$DIR/data"
LOG_DIR="$DIR/logs"
TMP_DIR="$DIR/tmp"
# Written by the node's launcher, so in a directory the node user owns.
RUNTIME_DIR="$DIR/run"
PIDFILE="$RUNTIME_DIR/elasticsearch.pid"
OUTFILE="$DIR/elasticsearch.out"
CLUSTER_NAME=tailplow-test
SERVER_LOG="$LOG_DIR/$CLUSTER_NAME.log"
ZIP="$CACHE_ROOT/maven-repo/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
URL="http://127.0.0.1:$PORT"
# The node's command line names its home (the config dir reaches it over stdin, unseen).
PROC_MARKER="-Des.path.home=$HOME_DIR"

# Elasticsearch 9 needs Java 21 or newer, which Debian 12 does not package. Takes, in order:
# TAILPLOW_ELASTICSEARCH_JAVA_HOME, ES_JAVA_HOME, the newest JDK/JRE 21+ under /usr/lib/jvm,
# else the distribution's openjdk-25/21 package where apt has one (Debian 13).
find_java_home() {
  local candidate major best="" best_major=0
  for candidate in "${TAILPLOW_ELASTICSEARCH_JAVA_HOME:-}" "${ES_JAVA_HOME:-}"; do
    [ -n "$candidate" ] || continue
    [ -x "$candidate/bin/java" ] || die "$candidate/bin/java does not exist (from TAILPLOW_ELASTICSEARCH_JAVA_HOME/ES_JAVA_HOME)"
    major="$(java_major "$candidate/bin/java")"
    [ -n "$major" ] && [ "$major" -ge 21 ] || die "$candidate is Java ${major:-unknown}; Elasticsearch $ES_VERSION needs Java 21 or newer"
    JAVA_HOME_ES="$candidate"
    return 0
  done
  for candidate in /usr/lib/jvm/*/; do
    candidate="${candidate%/}"
    [ -x "$candidate/bin/java" ] && [ ! -L "$candidate" ] || continue
    major="$(java_major "$candidate/bin/java")"
    if [ -n "$major" ] && [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then
      best="$candidate"
      best_major="$major"
    fi
  done
  [ -n "$best" ] && { JAVA_HOME_ES="$best"; return 0; }
  return 1
}

ensure_java_home() {
  find_java_home && return 0
  apt_update
  local package
  for package in openjdk-25-jre-headless openjdk-21-jre-headless; do
    if apt-cache show "$package" >/dev/null 2>&1; then
      apt_install "$package"
      find_java_home && return 0
    fi
  done
  die "no Java 21+ found (Elasticsearch $ES_VERSION needs it) and apt offers none; install a JDK 21+ under /usr/lib/jvm or set TAILPLOW_ELASTICSEARCH_JAVA_HOME"
}

download() {
  [ -f "$ZIP" ] && return 0
  ensure_maven
  command -v unzip >/dev/null || apt_install unzip
  say "fetching $ARTIFACT from Maven Central into $CACHE_ROOT/maven-repo (≈95 MB)"
  mvn -B -q -Dmaven.repo.local="$CACHE_ROOT/maven-repo" "$DEPENDENCY_PLUGIN:get" \
    -Dartifact="$ARTIFACT" -Dtransitive=false </dev/null 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2 \
    || die "Maven could not fetch $ARTIFACT (see the output above; TAILPLOW_ELASTICSEARCH_VERSION picks another version)"
  [ -f "$ZIP" ] || die "Maven finished but $ZIP is missing"
}

unpack() {
  [ -f "$HOME_DIR/.complete" ] && return 0
  command -v unzip >/dev/null || apt_install unzip
  say "unpacking Elasticsearch $ES_VERSION into $HOME_DIR"
  rm -rf "$HOME_DIR" "$HOME_DIR.tmp"
  mkdir -p "$HOME_DIR.tmp"
  unzip -q "$ZIP" -d "$HOME_DIR.tmp" || die "could not unpack $ZIP (delete it to download again)"
  mv "$HOME_DIR.tmp/elasticsearch-$ES_VERSION" "$HOME_DIR"
  rmdir "$HOME_DIR.tmp"
  # The node user only reads the distribution.
  chmod -R a+rX "$HOME_DIR"
  touch "$HOME_DIR/.complete"
}

# As root: the unprivileged user that runs the node; as anyone else: that user itself.
ensure_user() {
  if [ "$(id -u)" != 0 ]; then
    RUN_AS=()
    return 0
  fi
  if ! id "$ES_USER" >/dev/null 2>&1; then
    say "creating system user $ES_USER (Elasticsearch refuses to run as root)"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$ES_USER" \
      || die "could not create user $ES_USER"
  fi
  RUN_AS=(runuser -u "$ES_USER" --)
}

write_config() {
  mkdir -p "$CONFIG_DIR/jvm.options.d" "$DATA_DIR" "$LOG_DIR" "$TMP_DIR" "$RUNTIME_DIR"
  # jvm.options and log4j2.properties come from the distribution (log file:
  # logs/<cluster name>.log); elasticsearch.yml and the heap are ours.
  cp "$HOME_DIR/config/jvm.options" "$HOME_DIR/config/log4j2.properties" "$CONFIG_DIR/"
  cat >"$CONFIG_DIR/jvm.options.d/tailplow.options" <<EOF
# Written by scripts/services/elasticsearch.sh on every start; edit the script, not this file.
-Xms$HEAP
-Xmx$HEAP
# Start-up on a small shared test machine is CPU-bound JIT work; C1 alone starts faster and
# is plenty for test-sized workloads. Pre-touching the heap only delays start-up here.
-XX:TieredStopAtLevel=1
-XX:-AlwaysPreTouch
EOF
  cat >"$CONFIG_DIR/elasticsearch.yml" <<EOF
# Written by scripts/services/elasticsearch.sh on every start; edit the script, not this file.
cluster.name: $CLUSTER_NAME
node.name: tailplow-test-node
path.data: $DATA_DIR
path.logs: $LOG_DIR
# Loopback only: Elasticsearch then runs in development mode (bootstrap checks only warn).
network.host: 127.0.0.1
http.port: $PORT
transport.port: $TRANSPORT_PORT
discovery.type: single-node
xpack.security.enabled: false
# Test machines' disks are often mostly full; the watermarks would make indices read-only.
cluster.routing.allocation.disk.threshold_enabled: false
# Tests clean up with wildcards.
action.destructive_requires_name: false
EOF
  [ "$(id -u)" = 0 ] && chown -R "$ES_USER:" "$CONFIG_DIR" "$DATA_DIR" "$LOG_DIR" "$TMP_DIR" "$RUNTIME_DIR"
  return 0
}

# The node user must reach the run dir through every parent directory.
check_reachable() {
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] || return 0
  runuser -u "$ES_USER" -- test -x "$DIR" \
    || die "user $ES_USER cannot reach $DIR (a parent directory is not searchable by others, e.g. one made by mktemp -d); chmod o+x it or pick another TAILPLOW_RUN_DIR"
}

# Yellow is as good as it gets for one node with replicated indices.
probe() { http_get "$PORT" '/_cluster/health?wait_for_status=yellow&timeout=1s' 2>/dev/null | grep -qE '"status":"(green|yellow)"'; }

print_env() { printf 'export TAILPLOW_ELASTICSEARCH_URL=%s\n' "$URL"; }

show_logs() {
  show_log_tail "$SERVER_LOG"
  show_log_tail "$OUTFILE" 20
}

cmd_start() {
  local pid
  if pid="$(live_pid "$PIDFILE" "$PROC_MARKER")"; then
    probe || die "Elasticsearch is running (pid $pid) but its cluster is not healthy on $URL; try: $0 restart"
    say "already running (pid $pid) on $URL"
    print_env
    return 0
  fi
  rm -f "$PIDFILE"
  for p in "$PORT" "$TRANSPORT_PORT"; do
    port_open "$p" && die "127.0.0.1:$p is already in use by another process (not ours: no live $PIDFILE); stop it or set TAILPLOW_ELASTICSEARCH_PORT/TAILPLOW_ELASTICSEARCH_TRANSPORT_PORT"
  done
  local started_ms
  started_ms="$(now_ms)"
  ensure_java_home
  download
  ensure_user
  check_reachable
  unpack
  write_config
  say "starting Elasticsearch $ES_VERSION on $URL (transport 127.0.0.1:$TRANSPORT_PORT, heap $HEAP, Java $JAVA_HOME_ES), log $SERVER_LOG"
  # -d: the launcher starts the node, waits until it has started (or failed), writes the
  # node's pid with -p and exits; the node itself keeps running in its own session.
  # The working directory is the log dir, where the JVM puts gc.log and crash files.
  if ! (cd "$LOG_DIR" && setsid env ES_JAVA_HOME="$JAVA_HOME_ES" ES_PATH_CONF="$CONFIG_DIR" ES_TMPDIR="$TMP_DIR" \
      "${RUN_AS[@]}" "$HOME_DIR/bin/elasticsearch" -d -p "$PIDFILE" </dev/null >"$OUTFILE" 2>&1); then
    show_logs
    rm -f "$PIDFILE"
    die "Elasticsearch failed to start (logs above)"
  fi
  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  while :; do
    if ! pid="$(live_pid "$PIDFILE" "$PROC_MARKER")"; then
      show_logs
      rm -f "$PIDFILE"
      die "Elasticsearch exited during start-up (logs above)"
    fi
    if probe; then break; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      show_logs
      stop_pid "$pid"
      rm -f "$PIDFILE"
      die "Elasticsearch was not healthy on $URL within ${START_TIMEOUT}s (set TAILPLOW_SERVICE_TIMEOUT to wait longer)"
    fi
    sleep 0.5
  done
  say "ready on $URL (pid $pid) after $(elapsed_ms "$started_ms") ms"
  print_env
}

PROC_MATCH="$PROC_MARKER"
ADDRESS="$URL"
service_main "$@"
