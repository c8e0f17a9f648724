#!/usr/bin/env bash
# Connection scaling: K concurrent idle MQTT connections against a fresh release iotcloud
# per run — plain, TLS (full handshakes, server verified with our CA) and TLS resuming the
# first connection's session — and, if mosquitto is installed, plain and TLS against
# mosquitto (its TLS listener uses iotcloud's server certificate from the data dir).
# Prints one table: conn/s, handshake latency, broker RSS and CPU per connection.
#
# Usage: bench/connect.sh [K]     (default 5000; bench/connect.sh 19000 fits under the
#                                  20,000 open-file cap of the broker and of iotbench)
# Environment: PARALLEL (handshakes in flight, default 200), HOLD (idle seconds, default 2).
# Results (JSON per run) go to build/bench-results/connect-*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-5000}
parallel=${PARALLEL:-200}
hold=${HOLD:-2}
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DIOT_TESTS=OFF >/dev/null
cmake --build build/release -j2 --target iotcloud iotbench >/dev/null
out=build/bench-results
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill $(cat "$work"/pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
# The broker needs one descriptor per connection too.
ulimit -n "$(ulimit -Hn)"

plain=$((20000 + RANDOM % 20000))
tls=$((plain + 1))

start_broker() { # name port
  case $1 in
    iotcloud)
      ./build/release/iotcloud --data-dir "$work/data" --allow-anonymous \
        --listen "mqtt://127.0.0.1:$plain" --listen "mqtts://127.0.0.1:$tls" \
        --max-conns-per-ip 0 --max-handshakes 100000 \
        --log-level warn 2>"$work/$1.log" &
      ;;
    mosquitto)
      # "user root": as root mosquitto would switch to user mosquitto, which cannot read
      # the key in our 0700 temp dir.
      printf '%s\n' "user root" "per_listener_settings false" "allow_anonymous true" \
        "persistence false" "log_dest none" "listener $plain 127.0.0.1" \
        "listener $tls 127.0.0.1" "cafile $work/data/ca/ca.crt" \
        "certfile $work/data/ca/server.crt" "keyfile $work/data/ca/server.key" \
        > "$work/mosq.conf"
      mosquitto -c "$work/mosq.conf" 2>"$work/$1.log" &
      ;;
  esac
  echo $! > "$work/pid"
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "connect: $1 did not start" >&2; cat "$work/$1.log" >&2; exit 1
}

stop_broker() { kill "$(cat "$work/pid")"; wait "$(cat "$work/pid")" 2>/dev/null || true; }

field() { # file key -> first number after "key":
  sed -n "s/.*\"$2\": \\([0-9.]*\\).*/\\1/p" "$1" | head -1
}

failed() { # file -> total failures
  sed -n 's/.*"failures": {\(.*\)}.*/\1/p' "$1" | tr ',' '\n' | sed 's/.*: //' |
    awk '{ n += $1 } END { print n + 0 }'
}

# name|broker|port|iotbench options
runs=(
  "iotcloud-plain|iotcloud|plain|"
  "iotcloud-tls|iotcloud|tls|--tls --cafile $work/data/ca/ca.crt"
  "iotcloud-tls-resume|iotcloud|tls|--tls --cafile $work/data/ca/ca.crt --resume"
)
command -v mosquitto >/dev/null && runs+=("mosquitto-plain|mosquitto|plain|"
  "mosquitto-tls|mosquitto|tls|--tls --cafile $work/data/ca/ca.crt")

for r in "${runs[@]}"; do
  IFS='|' read -r name broker which args <<< "$r"
  port=$plain; [ "$which" = tls ] && port=$tls
  start_broker "$broker" "$port"   # fresh per run: RSS growth is this run's only
  sleep 0.5
  echo "connect: $name, $conns connections" >&2
  # shellcheck disable=SC2086
  ./build/release/iotbench connect --port "$port" --conns "$conns" --parallel "$parallel" \
    --hold "$hold" --server-pid "$(cat "$work/pid")" $args --json "$out/connect-$name.json" \
    > "$work/$name.txt" 2>"$work/$name.err" || echo "connect: $name had failures" >&2
  grep '^failed' "$work/$name.txt" >&2 || true
  stop_broker
done

printf '\n%-20s | %6s | %6s | %8s | %8s | %8s | %11s | %13s\n' run conns failed conn/s \
  "p50 ms" "p99 ms" "RSS B/conn" "srv CPU us/c"
printf '%s\n' "---------------------+--------+--------+----------+----------+----------+-------------+--------------"
for r in "${runs[@]}"; do
  name=${r%%|*}
  f="$out/connect-$name.json"
  if [ ! -f "$f" ]; then printf '%-20s | did not run\n' "$name"; continue; fi
  hs=$(sed -n 's/.*"handshake_ms": {\(.*\)}.*/\1/p' "$f")
  p50=$(sed -n 's/.*"p50": \([0-9.]*\).*/\1/p' <<< "$hs")
  p99=$(sed -n 's/.*"p99": \([0-9.]*\).*/\1/p' <<< "$hs")
  printf '%-20s | %6s | %6s | %8.0f | %8.2f | %8.2f | %11s | %13s\n' "$name" \
    "$(field "$f" established)" "$(failed "$f")" "$(field "$f" conn_per_s)" "$p50" "$p99" \
    "$(field "$f" rss_per_conn)" "$(field "$f" cpu_us_per_conn)"
done
