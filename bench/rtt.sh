#!/usr/bin/env bash
# Device-control round trips at scale (docs/device-control.md): a REST call becomes an MQTT
# request to a device and its answer comes back.
#
# Builds build/release, starts iotcloud on a fresh data dir, registers DEVICES devices with
# per-device certificates (`iotbench register`: keys and CSRs made in C, POSTed over
# keep-alive HTTPS), runs them all in one bench/devsim process (mutual TLS, --certdir),
# waits until every one is online, calls every device once (priming, not measured), then
# runs `iotbench rtt` (CONNS HTTPS keep-alive connections calling GET
# /v1/devices/{id}/gpio/3, devices round-robin) and stops everything.
#
# Usage: bench/rtt.sh [--devices 100] [--rate 0] [--conns 32] [--duration 10] [--warmup 2]
#                     [--depth N] [--workers 2] [--json FILE] [--keep-devices DIR]
#   --rate R     calls/s, open loop (latency from the intended send time); 0 = as fast as
#                possible, closed loop with --depth calls per connection
#   --workers N  server worker loops
#   --json FILE  iotbench rtt's JSON (default build/bench-results/rtt-D-R-C.json)
# e.g. bench/rtt.sh --devices 10000 --rate 5000 --conns 64 --duration 20
#      bench/rtt.sh --devices 10000 --rate 0 --conns 64 --duration 20
set -euo pipefail
cd "$(dirname "$0")/.."
ndev=100 rate=0 conns=32 secs=10 warm=2 depth="" workers=2 json=""
while [ $# -gt 0 ]; do
  case "$1" in
    --devices) ndev=$2 ;;
    --rate) rate=$2 ;;
    --conns) conns=$2 ;;
    --duration) secs=$2 ;;
    --warmup) warm=$2 ;;
    --depth) depth=$2 ;;
    --workers) workers=$2 ;;
    --json) json=$2 ;;
    *) echo "rtt.sh: unknown option $1 (see the header of bench/rtt.sh)" >&2; exit 2 ;;
  esac
  shift 2
done
mkdir -p build/bench-results
json=${json:-build/bench-results/rtt-$ndev-$rate-$conns.json}

# The server holds DEVICES device connections + CONNS HTTP ones; devsim holds DEVICES.
ulimit -n "$(ulimit -Hn)"
if [ $((ndev + conns + 64)) -gt "$(ulimit -n)" ]; then
  echo "rtt.sh: $ndev devices + $conns conns do not fit the open-file limit $(ulimit -n)" >&2
  exit 2
fi

cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DIOT_TESTS=OFF >/dev/null
cmake --build build/release -j2 --target iotcloud devsim iotbench >/dev/null
bin=build/release
work=$(mktemp -d)
cleanup() {
  if [ -f "$work/sim.pid" ]; then kill -INT "$(cat "$work/sim.pid")" 2>/dev/null || true; fi
  if [ -f "$work/pid" ]; then kill "$(cat "$work/pid")" 2>/dev/null || true; fi
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT

# below the ephemeral range (32768+), so no outgoing connection holds the port
hport=$((20000 + RANDOM % 12000))
mport=$((hport + 1))
pass="bench-password-$RANDOM$RANDOM"
mkdir -p "$work/data" "$work/certs"
echo "$pass" | $bin/iotcloud user add --data-dir "$work/data" \
  --email bench@example.com bench >/dev/null
$bin/iotcloud --data-dir "$work/data" --workers "$workers" --no-access-log \
  --listen "https://127.0.0.1:$hport" --listen "mqtts://127.0.0.1:$mport" \
  --device-max-inflight 256 --device-max-queued 4096 --http-max-conns-per-ip 4096 \
  --max-conns-per-ip 0 --max-handshakes 100000 \
  2>"$work/server.log" &
echo $! >"$work/pid"
spid=$(cat "$work/pid")
for i in $(seq 300); do
  (exec 3<>"/dev/tcp/127.0.0.1/$hport") 2>/dev/null && break
  if ! kill -0 "$spid" 2>/dev/null || [ "$i" = 300 ]; then
    echo "rtt.sh: the server did not start:" >&2
    tail -5 "$work/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
ca="$work/data/ca/ca.crt"
api="https://127.0.0.1:$hport"

# The access token goes to a 0600 file, never onto a command line.
umask 077
jq -n --arg u bench --arg p "$pass" '{username: $u, password: $p}' |
  curl -sS --cacert "$ca" -H 'Content-Type: application/json' --data-binary @- \
    "$api/v1/auth/login" | jq -er .access_token >"$work/token"
curl_auth=(-sS --cacert "$ca" -H "@$work/auth.hdr")
printf 'Authorization: Bearer %s\n' "$(cat "$work/token")" >"$work/auth.hdr"

echo "== registering $ndev devices (certificates)" >&2
$bin/iotbench register --port "$hport" --cafile "$ca" --token-file "$work/token" \
  --count "$ndev" --certdir "$work/certs" --ids "$work/ids" --conns 8 --name-prefix bench- \
  2>"$work/register.log" || { tail -5 "$work/register.log" >&2; exit 1; }

echo "== starting $ndev devices (mutual TLS)" >&2
$bin/devsim --host 127.0.0.1 --port "$mport" --cafile "$ca" --certdir "$work/certs" \
  --rate 2000 --parallel 256 2>"$work/devsim.log" &
echo $! >"$work/sim.pid"
t0=$SECONDS
until grep -q " $ndev connected," "$work/devsim.log" 2>/dev/null; do
  if [ $((SECONDS - t0)) -gt $((60 + ndev / 200)) ]; then
    echo "rtt.sh: devices did not come online: $(tail -c 300 "$work/devsim.log")" >&2
    exit 1
  fi
  sleep 0.5
done
# The server's view: the first and the last device must show online.
for id in $(head -1 "$work/ids") $(tail -1 "$work/ids"); do
  until curl "${curl_auth[@]}" "$api/v1/devices/$id" | jq -e .online >/dev/null; do sleep 0.2; done
done
echo "== $ndev devices online after $((SECONDS - t0)) s; server RSS" \
  "$(awk '/VmRSS/ {print $2, $3}' "/proc/$spid/status")" >&2

# Prime: the first call to a device cost the server far more than the next ones (about
# 350 us; the 35 KiB it also kept per device is gone, docs/benchmarks.md), so call every
# device once, closed loop, before the measured run; its summary is printed, not its JSON.
prime_s=$((ndev / 2000 + 2))
$bin/iotbench rtt --port "$hport" --cafile "$ca" --token-file "$work/token" \
  --devices "$work/ids" --conns "$conns" --rate 0 --duration "$prime_s" --warmup 0 \
  --server-pid "$spid" >"$work/prime.txt" 2>&1 || true
echo "== primed ($prime_s s closed loop): $(grep -E '^(calls|server cpu)' "$work/prime.txt" | tr '\n' ' ')" >&2

rc=0
$bin/iotbench rtt --port "$hport" --cafile "$ca" --token-file "$work/token" \
  --devices "$work/ids" --conns "$conns" --rate "$rate" ${depth:+--depth "$depth"} \
  --duration "$secs" --warmup "$warm" --server-pid "$spid" --json "$json" || rc=$?
echo "$(tail -1 "$work/devsim.log" | tr -d '\r')"
kill -INT "$(cat "$work/sim.pid")" 2>/dev/null || true
kill "$spid"
wait "$spid" 2>/dev/null || true
grep -h -e "device control:" -e "device activity:" "$work/server.log" || true
echo "json: $json"
exit $rc
