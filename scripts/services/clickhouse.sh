#!/usr/bin/env bash
# A ClickHouse server for tailplow's integration tests and benchmarks, on 127.0.0.1 only, run
# by this script with its own config directory (never as the system service).
#
#   scripts/services/clickhouse.sh start|stop|status|restart|wipe|env
#
# `start` installs Debian's clickhouse-server if missing (18.16 on Debian 12: old, see
# README.md for what it lacks), writes config.xml/users.xml into the run dir, starts the
# server in the background and waits until `SELECT 1` answers over HTTP. On success stdout is
#   export TAILPLOW_CLICKHOUSE_URL=http://127.0.0.1:18123
# so `eval "$(scripts/services/clickhouse.sh start)"` sets up the tests' environment.
#
# Users: `default` without a password, and `tailplow` with password `tailplow` (for tests of
# authenticated connections). Both only from loopback.
set -euo pipefail

SERVICE=clickhouse
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HTTP_PORT="${TAILPLOW_CLICKHOUSE_PORT:-18123}"
TCP_PORT="${TAILPLOW_CLICKHOUSE_TCP_PORT:-19000}"
SERVER_BIN="${TAILPLOW_CLICKHOUSE_SERVER:-/usr/sbin/clickhouse-server}"

DIR="$RUN_ROOT/clickhouse"
DATA_DIR="$DIR/data"
LOG_DIR="$DIR/logs"
CONFIG="$DIR/config.xml"
USERS="$DIR/users.xml"
PIDFILE="$DIR/clickhouse.pid"
OUTFILE="$DIR/clickhouse.out"
URL="http://127.0.0.1:$HTTP_PORT"
# Optional HTTPS port next to the HTTP one (which stays: the probe uses it); certificate and
# unencrypted key in PEM.
HTTPS_PORT="${TAILPLOW_CLICKHOUSE_HTTPS_PORT:-}"
TLS_CERT="${TAILPLOW_CLICKHOUSE_TLS_CERT:-}"
TLS_KEY="${TAILPLOW_CLICKHOUSE_TLS_KEY:-}"
# PEM CA that signs client certificates: HTTPS clients must then present one (mutual TLS).
TLS_CLIENT_CA="${TAILPLOW_CLICKHOUSE_TLS_CLIENT_CA:-}"

install_clickhouse() {
  [ -x "$SERVER_BIN" ] && return 0
  # clickhouse-client is not needed by the tests but is the tool a person reaches for.
  apt_install clickhouse-server clickhouse-client
  [ -x "$SERVER_BIN" ] || die "clickhouse-server installed but $SERVER_BIN is missing (set TAILPLOW_CLICKHOUSE_SERVER)"
}

https_config() {
  [ -n "$HTTPS_PORT" ] || return 0
  cat <<XML
    <https_port>$HTTPS_PORT</https_port>
    <openSSL>
        <server>
            <certificateFile>$TLS_CERT</certificateFile>
            <privateKeyFile>$TLS_KEY</privateKeyFile>
            <verificationMode>$([ -n "$TLS_CLIENT_CA" ] && echo strict || echo none)</verificationMode>
$([ -n "$TLS_CLIENT_CA" ] && echo "            <caConfig>$TLS_CLIENT_CA</caConfig>")
            <loadDefaultCAFile>false</loadDefaultCAFile>
            <cacheSessions>true</cacheSessions>
            <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
            <preferServerCiphers>true</preferServerCiphers>
        </server>
    </openSSL>
XML
}

write_config() {
  mkdir -p "$DATA_DIR/tmp" "$DATA_DIR/user_files" "$DATA_DIR/format_schemas" "$LOG_DIR"
  # No interserver_http_port: without it the server opens no replication port at all.
  cat >"$CONFIG" <<EOF
<?xml version="1.0"?>
<!-- Written by scripts/services/clickhouse.sh on every start; edit the script, not this file. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$LOG_DIR/clickhouse-server.log</log>
        <errorlog>$LOG_DIR/clickhouse-server.err.log</errorlog>
        <size>20M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$HTTP_PORT</http_port>
    <tcp_port>$TCP_PORT</tcp_port>
$(https_config)
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>50</max_concurrent_queries>
    <!-- The packaged defaults (8 GiB / 5 GiB caches) are sized for a dedicated server. -->
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$DATA_DIR/</path>
    <tmp_path>$DATA_DIR/tmp/</tmp_path>
    <user_files_path>$DATA_DIR/user_files/</user_files_path>
    <format_schema_path>$DATA_DIR/format_schemas/</format_schema_path>
    <users_config>$USERS</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <umask>022</umask>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <!-- Tests drop tables freely; the packaged 50 GB guard would only get in the way. -->
    <max_table_size_to_drop>0</max_table_size_to_drop>
    <max_partition_size_to_drop>0</max_partition_size_to_drop>
</yandex>
EOF
  cat >"$USERS" <<EOF
<?xml version="1.0"?>
<!-- Written by scripts/services/clickhouse.sh on every start; edit the script, not this file. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
        <tailplow>
            <password>tailplow</password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </tailplow>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

# A real query over the HTTP interface the clients use; /ping alone answers before the
# server has loaded its tables.
probe() { [ "$(http_get "$HTTP_PORT" '/?query=SELECT%201' 2>/dev/null)" = 1 ]; }

print_env() { printf 'export TAILPLOW_CLICKHOUSE_URL=%s\n' "$URL"; }

cmd_start() {
  local pid
  if pid="$(live_pid "$PIDFILE" "$CONFIG")"; then
    probe || die "ClickHouse is running (pid $pid) but does not answer on $URL; try: $0 restart"
    say "already running (pid $pid) on $URL"
    print_env
    return 0
  fi
  rm -f "$PIDFILE"
  if [ -n "$HTTPS_PORT" ]; then
    [ -r "$TLS_CERT" ] && [ -r "$TLS_KEY" ] || die "TAILPLOW_CLICKHOUSE_HTTPS_PORT needs readable TAILPLOW_CLICKHOUSE_TLS_CERT and TAILPLOW_CLICKHOUSE_TLS_KEY (PEM)"
  fi
  for p in "$HTTP_PORT" "$TCP_PORT" $HTTPS_PORT; do
    port_open "$p" && die "127.0.0.1:$p is already in use by another process (not ours: no live $PIDFILE); stop it or set TAILPLOW_CLICKHOUSE_PORT/TAILPLOW_CLICKHOUSE_TCP_PORT"
  done
  local started_ms
  started_ms="$(now_ms)"
  install_clickhouse
  write_config
  say "starting $SERVER_BIN on $URL (native 127.0.0.1:$TCP_PORT), data in $DATA_DIR, log $LOG_DIR/clickhouse-server.log"
  # setsid: the server must outlive the shell (and its job control) that started it. The
  # server runs in the foreground of its own session so the pid file names it exactly.
  setsid bash -c 'echo $$ >"$1"; shift; cd "$1"; shift; exec "$@"' _ "$PIDFILE" "$DIR" \
    "$SERVER_BIN" --config-file="$CONFIG" </dev/null >"$OUTFILE" 2>&1 &
  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  while :; do
    sleep 0.2
    if ! pid="$(live_pid "$PIDFILE" "$CONFIG")"; then
      show_log_tail "$LOG_DIR/clickhouse-server.err.log" 20
      show_log_tail "$OUTFILE" 20
      rm -f "$PIDFILE"
      die "ClickHouse exited during start-up (logs above)"
    fi
    if probe; then break; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      show_log_tail "$LOG_DIR/clickhouse-server.log"
      show_log_tail "$OUTFILE" 20
      stop_pid "$pid"
      rm -f "$PIDFILE"
      die "ClickHouse did not answer on $URL within ${START_TIMEOUT}s (set TAILPLOW_SERVICE_TIMEOUT to wait longer)"
    fi
  done
  say "ClickHouse $(http_get "$HTTP_PORT" '/?query=SELECT%20version()') ready on $URL (pid $pid) after $(elapsed_ms "$started_ms") ms"
  print_env
}

PROC_MATCH="$CONFIG"
ADDRESS="$URL"
service_main "$@"
