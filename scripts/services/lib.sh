# Shared helpers for scripts/services/*.sh. Sourced, not executed.
# Every service keeps its state in $TAILPLOW_RUN_DIR/<service> and its downloads in
# $TAILPLOW_CACHE, so a CI machine that runs twice only pays for the downloads once.

RUN_ROOT="${TAILPLOW_RUN_DIR:-/tmp/tailplow-services}"
CACHE_ROOT="${TAILPLOW_CACHE:-$HOME/.cache/tailplow}"
# Seconds a `start` may take before we give up and show the server log.
START_TIMEOUT="${TAILPLOW_SERVICE_TIMEOUT:-120}"
# Seconds a graceful stop may take before the process is killed.
STOP_TIMEOUT="${TAILPLOW_SERVICE_STOP_TIMEOUT:-30}"

# Human messages go to stderr so that stdout carries only `export NAME=value` lines,
# which callers can `eval`.
say() { printf '[%s] %s\n' "$SERVICE" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$SERVICE" "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }

# apt-get update runs at most once per script run, and only when something is missing.
APT_UPDATED=0
apt_update() {
  command -v apt-get >/dev/null || die "need to install packages but apt-get is not available; install them by hand"
  [ "$(id -u)" = 0 ] || die "need to install packages with apt-get, which needs root; install them by hand or rerun as root"
  [ "$APT_UPDATED" = 1 ] && return 0
  say "apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
  APT_UPDATED=1
}
apt_install() {
  apt_update
  say "apt-get install $*"
  # Debian starts a packaged daemon on install; policy-rc.d (exit 101) forbids that, because
  # our servers run on their own ports under our own control, never as system services.
  local created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 || rc=$?
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "apt-get install $* failed"
}

# Sets JAVA to a Java 17+ binary (the Kafka 4 broker needs 17), installing one if needed.
java_major() { "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }
ensure_java() {
  JAVA="${TAILPLOW_JAVA:-/usr/bin/java}"
  local major=""
  [ -x "$JAVA" ] && major="$(java_major "$JAVA")"
  if [ -z "$major" ] || [ "$major" -lt 17 ]; then
    apt_update
    # Debian 12 packages 17; later releases only a newer default, which works as well.
    if apt-cache show openjdk-17-jre-headless >/dev/null 2>&1; then
      apt_install openjdk-17-jre-headless
      JAVA=/usr/lib/jvm/java-17-openjdk-amd64/bin/java
      [ -x "$JAVA" ] || JAVA=/usr/bin/java
    else
      apt_install default-jre-headless
      JAVA=/usr/bin/java
    fi
  fi
  major="$(java_major "$JAVA")"
  [ -n "$major" ] && [ "$major" -ge 17 ] || die "$JAVA is Java ${major:-unknown}; Kafka 4 needs Java 17 or newer (set TAILPLOW_JAVA)"
}

ensure_maven() {
  command -v mvn >/dev/null || apt_install maven
}

# A process that has exited but not yet been reaped (a zombie: daemons are reparented to
# PID 1, which in containers may reap slowly) still passes `kill -0`; it counts as gone.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null)"
  [ "$state" != Z ] && [ "$state" != X ]
}

# pid from a pidfile if that process is alive and its command line contains $2 (guards
# against a stale pidfile whose pid was reused by something else).
live_pid() {
  local pidfile="$1" marker="$2" pid
  [ -f "$pidfile" ] || return 1
  pid="$(tr -dc '0-9' <"$pidfile")"
  [ -n "$pid" ] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" || return 1
  printf '%s\n' "$pid"
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Graceful stop: SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL.
stop_pid() {
  local pid="$1" waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while alive "$pid"; do
    if [ "$waited" -ge $((STOP_TIMEOUT * 5)) ]; then
      say "pid $pid did not stop within ${STOP_TIMEOUT}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      break
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
}

# Prints the last lines of a log file to stderr, for failed starts.
show_log_tail() {
  local file="$1"
  [ -f "$file" ] || { say "(no log at $file)"; return; }
  say "last lines of $file:"
  tail -n "${2:-40}" "$file" | sed 's/^/    /' >&2
}

# Minimal HTTP GET against 127.0.0.1:$1 with path $2 (already URL-encoded), using bash's
# /dev/tcp so a fresh machine needs no curl. Prints the response body; fails unless the status
# is 200. HTTP/1.0 keeps the reply unchunked and the connection closed after one response.
http_get() {
  local port="$1" path="$2" reply status
  reply="$(timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nAccept: */*\r\n\r\n" "$2" "$1" >&3
    cat <&3' _ "$port" "$path" 2>/dev/null)" || return 1
  status="$(printf '%s' "$reply" | head -n1 | awk '{print $2}')"
  [ "$status" = 200 ] || return 1
  # The body starts after the first empty line (CRLF CRLF).
  printf '%s' "$reply" | tr -d '\r' | sed '1,/^$/d'
}

# Milliseconds since $1 (a now_ms value), for "ready after N ms" messages.
elapsed_ms() { echo $(( $(now_ms) - $1 )); }

# --- The commands every service script shares -------------------------------------------------
# A script sets PIDFILE, PROC_MATCH (text its server's command line contains, so a recycled pid
# is never mistaken for ours), ADDRESS (for messages), optionally DATA_DIR and LOG_DIR (for `wipe`),
# defines cmd_start, probe and print_env, and ends with `service_main "$@"`.
service_stop() {
  local pid
  if pid="$(live_pid "$PIDFILE" "$PROC_MATCH")"; then
    # SIGTERM is each server's graceful shutdown: it flushes its data before exiting.
    say "stopping pid $pid"
    stop_pid "$pid"
    say "stopped"
  else
    say "not running"
  fi
  rm -f "$PIDFILE"
}

service_status() {
  local pid
  if pid="$(live_pid "$PIDFILE" "$PROC_MATCH")"; then
    if probe; then say "running (pid $pid) on $ADDRESS"; else say "process $pid is up but does not answer on $ADDRESS"; fi
    return 0
  fi
  say "stopped"
  return 3
}

service_wipe() {
  service_stop
  say "deleting $DATA_DIR${LOG_DIR:+ and $LOG_DIR}"
  rm -rf "$DATA_DIR" ${LOG_DIR:+"$LOG_DIR"}
}

service_main() {
  local wipe=''
  [ -n "${DATA_DIR:-}" ] && wipe='|wipe'
  case "${1:-}" in
    start) cmd_start ;;
    stop) service_stop ;;
    status) service_status ;;
    restart) service_stop; cmd_start ;;
    wipe) [ -n "$wipe" ] || { echo "usage: $0 start|stop|status|restart|env" >&2; exit 2; }; service_wipe ;;
    env) print_env ;;
    *) echo "usage: $0 start|stop|status|restart${wipe}|env" >&2; exit 2 ;;
  esac
}
