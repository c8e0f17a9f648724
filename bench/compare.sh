#!/usr/bin/env bash
# Runs the same iotbench pubsub scenarios against iotcloud (--workers 1 and 2) and
# Debian's mosquitto, one after the other on loopback, and prints one table with the
# delivered rate, loss and latency of each and the ratio iotcloud/mosquitto.
#
# Usage: bench/compare.sh [SECONDS]   (default 5 s measured per scenario, 1 s warm-up)
# Results (JSON per run) go to build/bench-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
bash scripts/deps.sh
if ! command -v mosquitto >/dev/null; then
  # Install without letting the package start a system-wide daemon on 1883.
  created=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    created=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null
  [ $created = 1 ] && rm -f /usr/sbin/policy-rc.d
fi
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DIOT_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" --target iotcloud iotbench >/dev/null
out=build/bench-results
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill $(cat "$work"/pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

port=$((20000 + RANDOM % 20000))
scenarios=(
  "1to1-q0|--pubs 1 --qos 0"
  "1to1-q1|--pubs 1 --qos 1"
  "fanin10-q0|--topic-mode fanin --pubs 10 --qos 0"
  "fanin10-q1|--topic-mode fanin --pubs 10 --qos 1"
  "fanout10-q0|--topic-mode fanout --subs 10 --qos 0"
  "fanout10-q1|--topic-mode fanout --subs 10 --qos 1"
  "lat-1k-q1|--pubs 1 --qos 1 --rate 1000"
)

start_broker() { # name
  case $1 in
    iotcloud-w1|iotcloud-w2)
      ./build/release/iotcloud --data-dir "$work/data" --allow-anonymous \
        --listen "mqtt://127.0.0.1:$port" --workers "${1#iotcloud-w}" --log-level warn \
        2>"$work/$1.log" &
      ;;
    mosquitto)
      printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n' \
        "$port" > "$work/mosq.conf"
      mosquitto -c "$work/mosq.conf" 2>"$work/$1.log" &
      ;;
  esac
  echo $! > "$work/pid"
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "compare: $1 did not start" >&2; cat "$work/$1.log" >&2; exit 1
}

stop_broker() { kill "$(cat "$work/pid")"; wait "$(cat "$work/pid")" 2>/dev/null || true; }

field() { # file key -> number
  sed -n "s/.*\"$2\": \\([0-9.]*\\).*/\\1/p" "$1" | head -1
}

brokers=(iotcloud-w1 iotcloud-w2 mosquitto)
for b in "${brokers[@]}"; do
  start_broker "$b"
  for s in "${scenarios[@]}"; do
    name=${s%%|*}; args=${s#*|}
    # shellcheck disable=SC2086
    ./build/release/iotbench pubsub --port "$port" --duration "$secs" $args \
      --json "$out/$b-$name.json" >/dev/null 2>&1 || echo "compare: $b $name failed" >&2
  done
  stop_broker
done

printf '\n%-12s | %-32s | %-32s | %-24s | %s\n' scenario "iotcloud --workers 1" \
  "iotcloud --workers 2" mosquitto "best/mosq"
printf '%s\n' "-------------+----------------------------------+----------------------------------+--------------------------+----------"
for s in "${scenarios[@]}"; do
  name=${s%%|*}
  row=$(printf '%-12s' "$name")
  best=0; mosq=0
  for b in "${brokers[@]}"; do
    f="$out/$b-$name.json"
    if [ ! -f "$f" ]; then row+=" | $(printf '%-32s' failed)"; continue; fi
    rate=$(field "$f" delivered_per_s); lost=$(field "$f" lost)
    p50=$(field "$f" p50); p99=$(field "$f" p99)
    cell=$(printf '%9.0f/s lost %-6s p50/p99 %s/%s us' "$rate" "$lost" "$p50" "$p99")
    w=32; [ "$b" = mosquitto ] && w=24 && cell=$(printf '%9.0f/s lost %s' "$rate" "$lost")
    row+=" | $(printf "%-${w}s" "$cell")"
    [ "$b" = mosquitto ] && mosq=$rate
    [ "$b" != mosquitto ] && awk -v a="$rate" -v b="$best" 'BEGIN{exit !(a>b)}' && best=$rate
  done
  ratio=$(awk -v a="$best" -v b="$mosq" 'BEGIN{ if (b>0) printf "%.1fx", a/b; else print "-" }')
  echo "$row | $ratio"
done
echo
echo "latency row (lat-1k-q1): one-way publish->deliver at 1,000 msg/s; compare p50/p99 in the JSON:"
for b in "${brokers[@]}"; do
  f="$out/$b-lat-1k-q1.json"
  [ -f "$f" ] && printf '  %-12s p50 %s us  p99 %s us  p99.9 %s us\n' "$b" "$(field "$f" p50)" \
    "$(field "$f" p99)" "$(field "$f" p99_9)"
done
