#!/usr/bin/env bash
# Telemetry ingest and query (docs/telemetry.md, figures in docs/benchmarks.md).
#
# Builds build/release, starts iotcloud on a fresh data dir, registers DEVICES + 1 devices
# (certificates, `iotbench register`), runs DEVICES of them in one bench/devsim process
# publishing one reading of KEYS values per second each (--telemetry-ms 1000), and while
# they run, the last device probes publish -> queryable latency (bench/telemetry_probe.py
# latency). Then it stops the server (its log line counts the points stored and dropped),
# writes DAYS days of one key at 1 point/s into the database (probe fill), restarts the
# server and times agg=avg interval=1h over those days (probe query).
#
# Usage: bench/telemetry.sh [--devices 1000] [--keys 5] [--duration 30] [--days 30]
#                           [--workers 2] [--probes 100] [--connect-wait S]
# --connect-wait: seconds allowed for every device to connect (default 60 + devices/200;
# a busy shared box needs more for 10,000 TLS handshakes).
set -euo pipefail
cd "$(dirname "$0")/.."
ndev=1000 keys=5 secs=30 days=30 workers=2 probes=100 cwait=
while [ $# -gt 0 ]; do
  case "$1" in
    --devices) ndev=$2 ;;
    --keys) keys=$2 ;;
    --duration) secs=$2 ;;
    --days) days=$2 ;;
    --workers) workers=$2 ;;
    --probes) probes=$2 ;;
    --connect-wait) cwait=$2 ;;
    *) echo "telemetry.sh: unknown option $1 (see the header)" >&2; exit 2 ;;
  esac
  shift 2
done
ulimit -n "$(ulimit -Hn)"
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

hport=$((20000 + RANDOM % 12000))
mport=$((hport + 1))
pass="bench-password-$RANDOM$RANDOM"
mkdir -p "$work/data" "$work/certs" "$work/probe"
echo "$pass" | $bin/iotcloud user add --data-dir "$work/data" \
  --email bench@example.com bench >/dev/null

start_server() {
  $bin/iotcloud --data-dir "$work/data" --workers "$workers" --no-access-log \
    --listen "https://127.0.0.1:$hport" --listen "mqtts://127.0.0.1:$mport" \
    --http-max-conns-per-ip 4096 --max-conns-per-ip 0 --max-handshakes 100000 \
    --max-devices-per-user 1000000 --device-register-per-hour 0 \
    2>>"$work/server.log" &
  echo $! >"$work/pid"
  spid=$(cat "$work/pid")
  for i in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$hport") 2>/dev/null && break
    if ! kill -0 "$spid" 2>/dev/null || [ "$i" = 300 ]; then
      echo "telemetry.sh: the server did not start:" >&2
      tail -5 "$work/server.log" >&2
      exit 1
    fi
    sleep 0.1
  done
}
login() {
  jq -n --arg u bench --arg p "$pass" '{username: $u, password: $p}' |
    curl -sS --cacert "$ca" -H 'Content-Type: application/json' --data-binary @- \
      "https://127.0.0.1:$hport/v1/auth/login" | jq -er .access_token >"$work/token"
}
umask 077
start_server
ca="$work/data/ca/ca.crt"
login

echo "== registering $((ndev + 1)) devices" >&2
$bin/iotbench register --port "$hport" --cafile "$ca" --token-file "$work/token" \
  --count "$((ndev + 1))" --certdir "$work/certs" --ids "$work/ids" --conns 8 \
  --name-prefix bench- 2>"$work/register.log" || { tail -5 "$work/register.log" >&2; exit 1; }
probe=$(tail -1 "$work/ids")
mv "$work/certs/$probe.crt" "$work/certs/$probe.key" "$work/probe/"

echo "== $ndev devices x 1 reading/s x $keys keys for $secs s" >&2
$bin/devsim --host 127.0.0.1 --port "$mport" --cafile "$ca" --certdir "$work/certs" \
  --rate 2000 --parallel 256 --telemetry-ms 1000 --telemetry-keys "$keys" \
  2>"$work/devsim.log" &
echo $! >"$work/sim.pid"
t0=$SECONDS
until grep -q " $ndev connected," "$work/devsim.log" 2>/dev/null; do
  if [ $((SECONDS - t0)) -gt "${cwait:-$((60 + ndev / 200))}" ]; then
    echo "telemetry.sh: devices did not come online: $(tail -c 300 "$work/devsim.log")" >&2
    exit 1
  fi
  sleep 0.5
done
cpu0=$(awk '{print $14 + $15}' "/proc/$spid/stat")
t_load=$SECONDS
/usr/bin/python3 bench/telemetry_probe.py latency --https-port "$hport" --mqtt-port "$mport" \
  --cafile "$ca" --token-file "$work/token" --device "$probe" --cert "$work/probe/$probe.crt" \
  --key "$work/probe/$probe.key" -n "$probes"
rest=$((secs - (SECONDS - t_load)))
[ "$rest" -gt 0 ] && sleep "$rest"
cpu1=$(awk '{print $14 + $15}' "/proc/$spid/stat")
el=$((SECONDS - t_load))
echo "$(tail -c 400 "$work/devsim.log" | tr '\r' '\n' | tail -1)"
echo "server cpu during the load: $(( (cpu1 - cpu0) * 100 / $(getconf CLK_TCK) / (el > 0 ? el : 1) ))% of one core over $el s"
kill -INT "$(cat "$work/sim.pid")" 2>/dev/null || true
rm -f "$work/sim.pid"
sleep 1
kill "$spid"
wait "$spid" 2>/dev/null || true
grep -h "telemetry:" "$work/server.log" || true
sqlite3 "$work/data/iotcloud.db" "SELECT 'rows stored: ' || count(*) FROM telemetry"

echo "== $days days of one key into the store, then agg=avg interval=1h over them" >&2
/usr/bin/python3 bench/telemetry_probe.py fill --db "$work/data/iotcloud.db" --device "$probe" \
  --days "$days"
start_server
login
/usr/bin/python3 bench/telemetry_probe.py query --https-port "$hport" --cafile "$ca" \
  --token-file "$work/token" --device "$probe" --days "$days" -n 50
