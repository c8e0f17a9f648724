#!/usr/bin/env bash
# Durable QoS 1 throughput: a release iotcloud on a fresh temp data dir per run, 1, 10
# and 100 publishers (fanin, QoS 1, 64-byte payload, as fast as PUBACKs allow) into one
# persistent subscriber (clean session 0) that is either online or offline during the
# run (offline: it subscribes, disconnects, and drains its queue after the publishers).
# Prints publishers, msgs/s PUBACKed, PUBACK latency p50/p99 (publisher side: with a
# durable store, the commit latency clients see) and loss.
#
# Usage: [STORE_SYNC=full|normal] bench/durable.sh [SECONDS]   (default 5 s measured per run, 1 s warm-up)
# Results (JSON per run) go to build/bench-results/durable-*.json.
# Memory: an offline run queues everything it publishes, so the broker holds
# SECONDS x rate messages at the end (~1 GB for 5 s at 700k msg/s without durability).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DIOT_TESTS=OFF >/dev/null
cmake --build build/release -j2 --target iotcloud iotbench >/dev/null
out=build/bench-results
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill "$(cat "$work"/pid 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))

start_broker() { # run name
  rm -rf "$work/data"
  mkdir -p "$work/data"
  ./build/release/iotcloud --data-dir "$work/data" --allow-anonymous \
    --listen "mqtt://127.0.0.1:$port" --max-queued 10000000 --log-level info \
    --store-sync "${STORE_SYNC:-full}" --max-conns-per-ip 0 \
    2>"$work/$1.log" &
  echo $! > "$work/pid"
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "durable: broker did not start for $1" >&2; cat "$work/$1.log" >&2; exit 1
}

stop_broker() { kill "$(cat "$work/pid")"; wait "$(cat "$work/pid")" 2>/dev/null || true; }

row() { # json-file publishers mode broker-log
  /usr/bin/python3 - "$@" <<'PY'
import json, re, sys
path, pubs, mode, log = sys.argv[1:5]
commit = ("?", "?", "?")
try:
    for line in open(log, errors="replace"):
        m = re.search(r"store: (\d+) jobs .* in (\d+) commits .*commit p50 (\d+) us p99 (\d+) us", line)
        if m:
            commit = ("%.0f" % (int(m.group(1)) / max(1, int(m.group(2)))), m.group(3), m.group(4))
except OSError:
    pass
try:
    r = json.load(open(path))
except (OSError, ValueError):
    print("%10s  %-8s  %s" % (pubs, mode, "failed (see stderr)"))
    sys.exit(0)
lat = r["puback_latency_us"]
print("%10s  %-8s  %12.0f  %10.1f  %10.1f  %8d  %8d  %8s  %8s  %8s  %s" % (
    pubs, mode, r["acked_per_s"], lat["p50"] / 1e3, lat["p99"] / 1e3, r["lost"], r["dups"],
    commit[0], commit[1], commit[2], "session lost" if r["sessions_lost"] else ""))
PY
}

rows=()
for mode in online offline; do
  for pubs in 1 10 100; do
    name=durable-$mode-p$pubs
    flag=--persistent; [ $mode = offline ] && flag=--offline
    start_broker "$name"
    ./build/release/iotbench pubsub --port "$port" --topic-mode fanin --pubs "$pubs" --qos 1 \
      --size 64 --duration "$secs" $flag --json "$out/$name.json" >/dev/null \
      2>"$work/$name.bench.log" || { echo "durable: $name failed:" >&2; tail -3 "$work/$name.bench.log" >&2; rm -f "$out/$name.json"; }
    stop_broker
    cp "$work/$name.log" "$out/$name.broker.log"
    rows+=("$out/$name.json|$pubs|$mode|$out/$name.broker.log")
  done
done

echo
echo "PUBACK latency as publishers see it; jobs/commit and commit p50/p99 (us, incl. fsync)"
echo "from the broker's store counters."
printf '%10s  %-8s  %12s  %10s  %10s  %8s  %8s  %8s  %8s  %8s\n' publishers sub "PUBACKed/s" \
  "p50 ms" "p99 ms" lost dups jobs/cmt "cmt p50" "cmt p99"
printf '%s\n' "----------  --------  ------------  ----------  ----------  --------  --------  --------  --------  --------"
for r in "${rows[@]}"; do
  IFS='|' read -r f p m l <<<"$r"
  row "$f" "$p" "$m" "$l"
done
