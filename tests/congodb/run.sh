#!/usr/bin/env bash
# Runs a command with a fresh CongoDB: IOTCLOUD_TEST_MONGO=mongodb://127.0.0.1:PORT in its
# environment, CONGODB_PID the server's pid (a fault test may stop it). The server is
# stopped afterwards; the command's exit status is returned.
#   tests/congodb/run.sh build/ci/test_store --jobs 1
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/setup.sh"
dir=$(mktemp -d /tmp/congodb.XXXXXX)
PORT=0 PORT_FILE="$dir/port" node "$here/congodb.mjs" >"$dir/log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
[ -s "$dir/port" ] || { echo "congodb did not start:" >&2; cat "$dir/log" >&2; exit 1; }
export IOTCLOUD_TEST_MONGO="mongodb://127.0.0.1:$(cat "$dir/port")"
export CONGODB_PID=$pid
set +e
"$@"
rc=$?
exit $rc
