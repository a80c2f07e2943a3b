#!/usr/bin/env bash
# Runs the integration tests against real servers: starts every service the tests need on loopback
# ports (installing it first on a fresh Debian machine), runs `*.integration.test.ts`, stops them.
#   scripts/integration.sh [substring...]   only test files whose path contains a substring
set -euo pipefail
cd "$(dirname "$0")/.."

services=(kafka redis)
for extra in clickhouse elasticsearch; do
  [ -x "scripts/services/$extra.sh" ] && services+=("$extra")
done

stop_all() {
  for s in "${services[@]}"; do scripts/services/$s.sh stop >/dev/null 2>&1 || true; done
}
trap stop_all EXIT

for s in "${services[@]}"; do
  echo "integration: starting $s" >&2
  eval "$(scripts/services/$s.sh start)"
done

# The browser tests (real Snowplow tracker, dashboard) drive Debian's chromium through playwright-core.
if [ ! -x /usr/bin/chromium ]; then
  echo "integration: installing chromium" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

npx tsc -p tsconfig.json
node scripts/run-tests.js integration "$@"
