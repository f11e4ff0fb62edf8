#!/usr/bin/env bash
# Run a command with the AWS emulator (moto_server) on a free loopback port.
# Exports AWS_ENDPOINT_URL and test credentials; stops the server however the command ends.
# Usage: scripts/with-emulator.sh <command> [args...]
set -euo pipefail

venv=${VENV:-.venv}
moto="$venv/bin/moto_server"
[ -x "$moto" ] || { echo "with-emulator: $moto not found; run 'make venv' first" >&2; exit 1; }

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log_dir=${EMULATOR_LOG_DIR:-target/emulator}
mkdir -p "$log_dir"
log="$log_dir/moto-$port.log"

"$moto" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
pid=$!
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 200); do
  if "$venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/data.json', timeout=1)" 2>/dev/null; then
    ready=1; break
  fi
  kill -0 "$pid" 2>/dev/null || { echo "with-emulator: moto_server exited; see $log" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ "${ready:-0}" = 1 ] || { echo "with-emulator: moto_server did not answer on port $port; see $log" >&2; exit 1; }

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
echo "with-emulator: moto_server on $AWS_ENDPOINT_URL (log: $log)" >&2
"$@"
