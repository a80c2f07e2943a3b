#!/usr/bin/env bash
# A Redis server for tailplow's integration tests and benchmarks, on 127.0.0.1 only, run by
# this script with its own config (never as the system service).
#
#   scripts/services/redis.sh start|stop|status|restart|env
#
# `start` installs Debian's redis-server if missing, starts it daemonized with an append-only
# file (so `restart` keeps the data) and waits until it answers PING. On success stdout is
#   export TAILPLOW_REDIS_URL=redis://127.0.0.1:16379
# so `eval "$(scripts/services/redis.sh start)"` sets up the tests' environment.
set -euo pipefail

SERVICE=redis
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${TAILPLOW_REDIS_PORT:-16379}"
DIR="$RUN_ROOT/redis"
DATA_DIR="$DIR/data"
CONFIG="$DIR/redis.conf"
PIDFILE="$DIR/redis.pid"
LOGFILE="$DIR/redis.log"
URL="redis://127.0.0.1:$PORT"
# Redis sets its process title to "redis-server <bind>:<port>"; that identifies our server.
PROC_TITLE="127.0.0.1:$PORT"
# Optional TLS port next to the plain one (which stays: the probe uses it). Certificate and key
# are PEM files; with TAILPLOW_REDIS_TLS_CLIENT_CA, clients must present a certificate it signed.
TLS_PORT="${TAILPLOW_REDIS_TLS_PORT:-}"
TLS_CERT="${TAILPLOW_REDIS_TLS_CERT:-}"
TLS_KEY="${TAILPLOW_REDIS_TLS_KEY:-}"
TLS_CLIENT_CA="${TAILPLOW_REDIS_TLS_CLIENT_CA:-}"
# name:password,name:password — ACL users with every right (the default user stays open).
ACL_USERS="${TAILPLOW_REDIS_USERS:-}"

install_redis() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  apt_install redis-server
}

write_config() {
  mkdir -p "$DATA_DIR"
  cat >"$CONFIG" <<EOF
# Written by scripts/services/redis.sh on every start; edit the script, not this file.
bind 127.0.0.1
port $PORT
protected-mode yes
daemonize yes
supervised no
pidfile $PIDFILE
logfile $LOGFILE
loglevel notice
dir $DATA_DIR
# The append-only file is the durable copy (fsync every second, full flush on shutdown);
# RDB snapshots would only add background forks on a small shared machine.
appendonly yes
appendfsync everysec
save ""
databases 16
$(security_config)
EOF
}

security_config() {
  if [ -n "$TLS_PORT" ]; then
    printf 'tls-port %s\ntls-cert-file %s\ntls-key-file %s\n' "$TLS_PORT" "$TLS_CERT" "$TLS_KEY"
    if [ -n "$TLS_CLIENT_CA" ]; then
      printf 'tls-ca-cert-file %s\ntls-auth-clients yes\n' "$TLS_CLIENT_CA"
    else
      printf 'tls-auth-clients no\n'
    fi
  fi
  local pair IFS=,
  for pair in $ACL_USERS; do printf 'user %s on >%s ~* &* +@all\n' "${pair%%:*}" "${pair#*:}"; done
}

# PING answers PONG only once the data set is loaded (LOADING before that).
probe() { [ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = PONG ]; }

print_env() { printf 'export TAILPLOW_REDIS_URL=%s\n' "$URL"; }

cmd_start() {
  local pid
  if pid="$(live_pid "$PIDFILE" "$PROC_TITLE")"; then
    probe || die "Redis is running (pid $pid) but does not answer on $URL; try: $0 restart"
    say "already running (pid $pid) on $URL"
    print_env
    return 0
  fi
  rm -f "$PIDFILE"
  port_open "$PORT" && die "127.0.0.1:$PORT is already in use by another process (not ours: no live $PIDFILE); stop it or set TAILPLOW_REDIS_PORT"
  local started_ms
  started_ms="$(now_ms)"
  install_redis
  if [ -n "$TLS_PORT" ]; then
    [ -r "$TLS_CERT" ] && [ -r "$TLS_KEY" ] || die "TAILPLOW_REDIS_TLS_PORT needs readable TAILPLOW_REDIS_TLS_CERT and TAILPLOW_REDIS_TLS_KEY (PEM)"
    port_open "$TLS_PORT" && die "127.0.0.1:$TLS_PORT is already in use; set TAILPLOW_REDIS_TLS_PORT"
  fi
  write_config
  say "starting $(redis-server --version | awk '{print $3}' | sed 's/^v=//') on $URL, data in $DATA_DIR, log $LOGFILE"
  redis-server "$CONFIG" >&2 || { show_log_tail "$LOGFILE"; die "redis-server refused to start (log above)"; }
  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  until probe; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      show_log_tail "$LOGFILE"
      pid="$(live_pid "$PIDFILE" "$PROC_TITLE")" && stop_pid "$pid"
      rm -f "$PIDFILE"
      die "Redis did not answer on $URL within ${START_TIMEOUT}s (set TAILPLOW_SERVICE_TIMEOUT to wait longer)"
    fi
    sleep 0.1
  done
  pid="$(live_pid "$PIDFILE" "$PROC_TITLE")" || { show_log_tail "$LOGFILE"; die "Redis answers on $URL but $PIDFILE names no live redis-server"; }
  say "ready on $URL (pid $pid) after $(( $(now_ms) - started_ms )) ms"
  print_env
}

PROC_MATCH="$PROC_TITLE"
ADDRESS="$URL"
service_main "$@"
