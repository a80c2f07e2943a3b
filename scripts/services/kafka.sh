#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft, broker+controller in one JVM) for tailplow's integration
# tests and benchmarks, on 127.0.0.1 only.
#
#   scripts/services/kafka.sh start|stop|status|restart|wipe|env
#
# `start` installs what is missing (Java 17+ and Maven from apt; Kafka's jars from Maven
# Central into $TAILPLOW_CACHE), formats the storage on first use, starts the server in the
# background and waits until a client can list topics. On success stdout is
#   export TAILPLOW_KAFKA_BROKERS=127.0.0.1:19092
#   export TAILPLOW_KAFKA_LIBS=<the jars, for tests that check with Kafka's own Java client>
# so `eval "$(scripts/services/kafka.sh start)"` sets up the tests' environment.
set -euo pipefail

SERVICE=kafka
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KAFKA_VERSION="${TAILPLOW_KAFKA_VERSION:-4.4.0}"
PORT="${TAILPLOW_KAFKA_PORT:-19092}"
CONTROLLER_PORT="${TAILPLOW_KAFKA_CONTROLLER_PORT:-19093}"
HEAP="${TAILPLOW_KAFKA_HEAP:-512m}"
# Kafka's jars log through slf4j; these bind it to log4j2 so the server writes a log file.
SLF4J_VERSION=2.0.17
LOG4J_VERSION=2.25.5
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

DIR="$RUN_ROOT/kafka"
DATA_DIR="$DIR/data"
LOG_DIR="$DIR/logs"
CONFIG="$DIR/server.properties"
PIDFILE="$DIR/kafka.pid"
OUTFILE="$DIR/kafka.out"
INSTALL_DIR="$CACHE_ROOT/kafka/$KAFKA_VERSION"
LIBS="$INSTALL_DIR/libs"
BROKERS="127.0.0.1:$PORT"
# Optional secured listeners next to PLAINTEXT (which stays: the probe and inter-broker traffic
# use it). Both need TAILPLOW_KAFKA_TLS_KEYSTORE, a PEM file with the broker's unencrypted PKCS#8
# key followed by its certificate chain.
SASL_SSL_PORT="${TAILPLOW_KAFKA_SASL_SSL_PORT:-}"
SSL_PORT="${TAILPLOW_KAFKA_SSL_PORT:-}"
TLS_KEYSTORE="${TAILPLOW_KAFKA_TLS_KEYSTORE:-}"
# PEM CA that signs client certificates: the SSL listener then requires one (mutual TLS).
TLS_CLIENT_CA="${TAILPLOW_KAFKA_TLS_CLIENT_CA:-}"
# name:password,name:password — PLAIN users (JAAS in server.properties) and SCRAM users (both
# SCRAM-SHA-256 and -512 credentials, written when the storage is formatted).
PLAIN_USERS="${TAILPLOW_KAFKA_PLAIN_USERS:-}"
SCRAM_USERS="${TAILPLOW_KAFKA_SCRAM_USERS:-}"
LISTENERS="PLAINTEXT://127.0.0.1:$PORT"
PROTOCOL_MAP="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
if [ -n "$SSL_PORT" ]; then LISTENERS="$LISTENERS,SSL://127.0.0.1:$SSL_PORT"; PROTOCOL_MAP="$PROTOCOL_MAP,SSL:SSL"; fi
if [ -n "$SASL_SSL_PORT" ]; then LISTENERS="$LISTENERS,SASL_SSL://127.0.0.1:$SASL_SSL_PORT"; PROTOCOL_MAP="$PROTOCOL_MAP,SASL_SSL:SASL_SSL"; fi

install_kafka() {
  [ -f "$LIBS/.complete" ] && return 0
  ensure_maven
  say "fetching Apache Kafka $KAFKA_VERSION and its runtime dependencies from Maven Central into $INSTALL_DIR"
  mkdir -p "$INSTALL_DIR"
  cat >"$INSTALL_DIR/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tailplow.services</groupId>
  <artifactId>kafka-server</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  rm -rf "$LIBS.tmp"
  # Maven 3.8 writes bare ANSI resets even in batch mode; strip them from the log.
  mvn -B -q -f "$INSTALL_DIR/pom.xml" -Dmaven.repo.local="$CACHE_ROOT/maven-repo" \
    "$DEPENDENCY_PLUGIN:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" </dev/null 2>&1 \
    | sed 's/\x1b\[[0-9;]*m//g' >&2 \
    || die "Maven could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION (see the output above)"
  [ -f "$LIBS.tmp/kafka_2.13-$KAFKA_VERSION.jar" ] || die "Maven finished but kafka_2.13-$KAFKA_VERSION.jar is missing from $LIBS.tmp"
  touch "$LIBS.tmp/.complete"
  rm -rf "$LIBS"
  mv "$LIBS.tmp" "$LIBS"
}

# server.properties lines of the secured listeners (nothing when none is asked for).
security_properties() {
  [ -n "$SASL_SSL_PORT$SSL_PORT" ] || return 0
  printf '\n# Secured listeners (TAILPLOW_KAFKA_SASL_SSL_PORT / TAILPLOW_KAFKA_SSL_PORT).\n'
  printf 'ssl.keystore.type=PEM\nssl.keystore.location=%s\n' "$TLS_KEYSTORE"
  if [ -n "$SSL_PORT" ] && [ -n "$TLS_CLIENT_CA" ]; then
    printf 'listener.name.ssl.ssl.client.auth=required\n'
    printf 'listener.name.ssl.ssl.truststore.type=PEM\nlistener.name.ssl.ssl.truststore.location=%s\n' "$TLS_CLIENT_CA"
  fi
  if [ -n "$SASL_SSL_PORT" ]; then
    printf 'listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512\n'
    local jaas='org.apache.kafka.common.security.plain.PlainLoginModule required' pair
    local IFS=,
    for pair in $PLAIN_USERS; do jaas="$jaas user_${pair%%:*}=\"${pair#*:}\""; done
    printf 'listener.name.sasl_ssl.plain.sasl.jaas.config=%s;\n' "$jaas"
    printf 'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;\n'
    printf 'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;\n'
  fi
}

write_config() {
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  if [ -n "$SASL_SSL_PORT$SSL_PORT" ] && { [ -z "$TLS_KEYSTORE" ] || [ ! -r "$TLS_KEYSTORE" ]; }; then
    die "TAILPLOW_KAFKA_SASL_SSL_PORT/TAILPLOW_KAFKA_SSL_PORT need TAILPLOW_KAFKA_TLS_KEYSTORE, a readable PEM file (key + certificate)"
  fi
  cat >"$CONFIG" <<EOF
# Written by scripts/services/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
listeners=$LISTENERS,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=$LISTENERS
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$PROTOCOL_MAP
log.dirs=$DATA_DIR

auto.create.topics.enable=true
num.partitions=4
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests start consumer groups often; don't wait 3s for more members to join.
group.initial.rebalance.delay.ms=0

# Light on a 2-core machine: few threads, small segments, short retention.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
log.segment.bytes=16777216
log.retention.hours=24
log.retention.check.interval.ms=60000
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
$(security_properties)
EOF
  cat >"$DIR/log4j2.properties" <<EOF
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $LOG_DIR/server.log
appender.file.filePattern = $LOG_DIR/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
EOF
}

jvm_args() {
  JVM_ARGS=(-Xms128m -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true -Dkafka.logs.dir="$LOG_DIR"
    -Dlog4j2.configurationFile="$DIR/log4j2.properties"
    -cp "$LIBS/*")
}

# A KRaft log directory must be formatted once with a cluster id; `--standalone` makes this
# node the only voter of the controller quorum.
format_storage() {
  [ -f "$DATA_DIR/meta.properties" ] && return 0
  local cluster_id
  # Kafka's Uuid.toString: base64url of 16 random bytes, no padding; never starting with '-'
  # (it would read as an option).
  cluster_id="-"
  while [ "${cluster_id#-}" != "$cluster_id" ]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  done
  local scram=() pair mechanism
  local IFS=,
  for pair in $SCRAM_USERS; do
    for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do scram+=(--add-scram "$mechanism=[name=${pair%%:*},password=${pair#*:}]"); done
  done
  unset IFS
  say "formatting KRaft storage in $DATA_DIR (cluster id $cluster_id)"
  "$JAVA" "${JVM_ARGS[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$CONFIG" "${scram[@]}" >"$LOG_DIR/format.log" 2>&1 \
    || { show_log_tail "$LOG_DIR/format.log"; die "formatting the storage failed"; }
}

# One real client round trip: kafkajs (the client tailplow uses) connects and lists topics.
# Without the project's node_modules, the broker's own "started" log line has to do.
probe() {
  if command -v node >/dev/null && (cd "$REPO_ROOT" && node -e "require.resolve('kafkajs')" 2>/dev/null); then
    (cd "$REPO_ROOT" && BROKERS="$BROKERS" node -e '
      const { Kafka, logLevel } = require("kafkajs");
      const admin = new Kafka({ clientId: "tailplow-services-probe", brokers: [process.env.BROKERS],
        logLevel: logLevel.NOTHING, connectionTimeout: 1000, requestTimeout: 3000, retry: { retries: 0 } }).admin();
      admin.connect().then(() => admin.listTopics()).then(() => admin.describeCluster())
        .then((c) => process.exit(c.brokers.length > 0 ? 0 : 1), () => process.exit(1))
        .finally(() => admin.disconnect());
    ' 2>/dev/null)
  else
    grep -q "Kafka Server started" "$LOG_DIR/server.log" 2>/dev/null
  fi
}

print_env() { printf 'export TAILPLOW_KAFKA_BROKERS=%s\nexport TAILPLOW_KAFKA_LIBS=%q\n' "$BROKERS" "$LIBS"; }

cmd_start() {
  local pid
  if pid="$(live_pid "$PIDFILE" "$CONFIG")"; then
    probe || die "Kafka is running (pid $pid) but does not answer on $BROKERS; try: $0 restart"
    say "already running (pid $pid) on $BROKERS"
    print_env
    return 0
  fi
  rm -f "$PIDFILE"
  for p in "$PORT" "$CONTROLLER_PORT" $SASL_SSL_PORT $SSL_PORT; do
    port_open "$p" && die "127.0.0.1:$p is already in use by another process (not ours: no live $PIDFILE); stop it or set TAILPLOW_KAFKA_PORT/TAILPLOW_KAFKA_CONTROLLER_PORT"
  done
  local started_ms
  started_ms="$(now_ms)"
  ensure_java
  install_kafka
  write_config
  jvm_args
  format_storage
  say "starting Kafka $KAFKA_VERSION on $BROKERS (controller 127.0.0.1:$CONTROLLER_PORT, heap $HEAP), log $LOG_DIR/server.log"
  # setsid: the server must outlive the shell (and its job control) that started it.
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PIDFILE" \
    "$JAVA" "${JVM_ARGS[@]}" kafka.Kafka "$CONFIG" </dev/null >"$OUTFILE" 2>&1 &
  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  while :; do
    sleep 0.5
    if ! pid="$(live_pid "$PIDFILE" "$CONFIG")"; then
      show_log_tail "$LOG_DIR/server.log"
      show_log_tail "$OUTFILE" 20
      rm -f "$PIDFILE"
      die "Kafka exited during start-up (logs above)"
    fi
    if port_open "$PORT" && probe; then break; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      show_log_tail "$LOG_DIR/server.log"
      show_log_tail "$OUTFILE" 20
      stop_pid "$pid"
      rm -f "$PIDFILE"
      die "Kafka did not serve on $BROKERS within ${START_TIMEOUT}s (set TAILPLOW_SERVICE_TIMEOUT to wait longer)"
    fi
  done
  say "ready on $BROKERS (pid $pid) after $(( $(now_ms) - started_ms )) ms"
  print_env
}

PROC_MATCH="$CONFIG"
ADDRESS="$BROKERS"
service_main "$@"
