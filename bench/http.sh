#!/usr/bin/env bash
# HTTPS API throughput: wrk (Debian) over TLS keep-alive against an authenticated
# GET /v1/me on a release iotcloud with a fresh data dir. Creates a confirmed user with
# `iotcloud user add`, logs in with curl for a bearer token, then runs wrk with
# CONNS connections and 2 threads for SECONDS, once per worker-loop count.
#
# Usage: bench/http.sh [SECONDS] [CONNS]   (default 10 s, 64 connections)
# Prints wrk's figures (requests/s, latency percentiles) and the server's CPU time.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
command -v wrk >/dev/null || {
  [ "$(id -u)" -eq 0 ] || { echo "http.sh: wrk missing: apt-get install wrk" >&2; exit 1; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DIOT_TESTS=OFF >/dev/null
cmake --build build/release -j2 --target iotcloud >/dev/null
work=$(mktemp -d)
trap 'kill "$(cat "$work"/pid 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
pass="bench-password-$RANDOM$RANDOM"

cat > "$work/auth.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
LUA

for workers in 1 2; do
  rm -rf "$work/data"
  mkdir -p "$work/data"
  echo "$pass" | ./build/release/iotcloud user add --data-dir "$work/data" \
    --email bench@example.com bench >/dev/null
  ./build/release/iotcloud --data-dir "$work/data" --workers "$workers" --no-access-log \
    --listen "https://127.0.0.1:$port" --max-conns-per-ip 0 --max-handshakes 100000 \
    2>"$work/server.log" &
  echo $! > "$work/pid"
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  token=$(curl -sS --cacert "$work/data/ca/ca.crt" -H 'Content-Type: application/json' \
    --data "{\"username\":\"bench\",\"password\":\"$pass\"}" \
    "https://localhost:$port/v1/auth/login" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  pid=$(cat "$work/pid")
  cpu0=$(awk '{print $14+$15}' "/proc/$pid/stat")
  echo "== workers $workers, $conns connections, ${secs}s: GET /v1/me over HTTPS keep-alive"
  TOKEN="$token" wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/auth.lua" \
    "https://localhost:$port/v1/me"
  cpu1=$(awk '{print $14+$15}' "/proc/$pid/stat")
  echo "server CPU: $(( (cpu1 - cpu0) * 10 )) ms over ${secs}s"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
