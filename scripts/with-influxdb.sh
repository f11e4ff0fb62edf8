#!/usr/bin/env bash
# Run a command with a real InfluxDB (Debian's `influxd`, v1 HTTP API) on a free loopback port.
# Exports FILETRAIL_TEST_INFLUXDB_URL; the server's data lives in a temporary directory that is
# removed, and the server stopped, however the command ends.
# Usage: scripts/with-influxdb.sh <command> [args...]   (chains: scripts/with-emulator.sh scripts/with-influxdb.sh cargo ...)
set -euo pipefail

command -v influxd >/dev/null || { echo "with-influxdb: influxd not found; install Debian's 'influxdb' package (make test does)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
rpc_port=$(free_port)
dir=$(mktemp -d "${TMPDIR:-/tmp}/filetrail-influxdb.XXXXXX")
log_dir=${EMULATOR_LOG_DIR:-target/emulator}
mkdir -p "$log_dir"
log="$log_dir/influxd-$http_port.log"

cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc_port"
[meta]
  dir = "$dir/meta"
  logging-enabled = false
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$http_port"
  auth-enabled = false
  log-enabled = false
CONF

influxd run -config "$dir/influxdb.conf" >"$log" 2>&1 &
pid=$!
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap stop EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 200); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$http_port/ping', timeout=1)" 2>/dev/null; then
    ready=1; break
  fi
  kill -0 "$pid" 2>/dev/null || { echo "with-influxdb: influxd exited; see $log" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ "${ready:-0}" = 1 ] || { echo "with-influxdb: influxd did not answer on port $http_port; see $log" >&2; exit 1; }

export FILETRAIL_TEST_INFLUXDB_URL="http://127.0.0.1:$http_port"
echo "with-influxdb: influxd $(influxd version 2>/dev/null | awk '{print $2}') on $FILETRAIL_TEST_INFLUXDB_URL (log: $log)" >&2
"$@"
