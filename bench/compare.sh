#!/usr/bin/env bash
# iotcloud (--workers 1 and 2) against Debian's mosquitto, same scenarios, same settings,
# on loopback, in one run: pub/sub throughput plain, TLS and WebSocket (ws://, mosquitto's
# "protocol websockets" listener), MQTT request/response round
# trips at 1,000/s, and connection ramps (plain, TLS). Prints one table with each broker's
# figure and the ratio iotcloud/mosquitto per scenario.
#
# Usage: bench/compare.sh [SECONDS]   (default 5 s measured per pub/sub run, 1 s warm-up)
# Environment: CONNS (connect scenarios, default 5000), ONLY (regex on scenario names),
# FLASHMQ_BIN (a FlashMQ binary built outside this tree, see bench/README.md: adds two
# columns, FlashMQ with one thread and tcp_nodelay true, and FlashMQ with its defaults).
# Pub/sub cells also give the broker's CPU per delivered message (utime+stime from
# /proc/PID/stat over the whole run, warm-up included, / messages received).
# Runs alternate: for every scenario each broker is started fresh, measured and stopped
# before the next one starts, so slow drift of a shared machine spreads over all three.
# Results (JSON per run) go to build/bench-results/compare-<broker>-<scenario>.json.
#
# Both brokers: loopback, no persistence, anonymous clients, the same server certificate (ECDSA P-256, made by
# iotcloud in its data dir; mosquitto's TLS listener is given the same files), TLS 1.2+
# with the version and ciphers both negotiate by default (TLS 1.3 with OpenSSL 3).
# iotcloud keeps its default limits, mosquitto its defaults (max_queued_messages 1000).
# TCP_NODELAY: iotcloud always sets it (it batches its writes itself). mosquitto writes
# each packet with its own send(), so TCP_NODELAY halves its QoS 0 throughput here: it
# gets its default (Nagle on) for throughput and connect scenarios and
# "set_tcp_nodelay true" for the round-trip scenarios, its best case for each.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
conns=${CONNS:-5000}
only=${ONLY:-.}
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
ulimit -n "$(ulimit -Hn)" # connect scenarios: one descriptor per connection on both sides

# below the ephemeral range (32768+ here), where the clients' own ports would collide
plain=$((20000 + RANDOM % 12000))
tls=$((plain + 1))
ws=$((plain + 2))
wsopt="--ws /mqtt"
ca=$work/data/ca
bench=./build/release/iotbench
tlsopt="--tls --cafile $ca/ca.crt"

# name|kind|options; kind: pubsub (msgs/s), rtt (round trip p50/p99), connect (conn/s, RSS)
scenarios=(
  "1to1-q0|pubsub|--pubs 1 --qos 0"
  "1to1-q1|pubsub|--pubs 1 --qos 1"
  "fanin10-q0|pubsub|--topic-mode fanin --pubs 10 --qos 0"
  "fanin10-q1|pubsub|--topic-mode fanin --pubs 10 --qos 1"
  "fanout10-q0|pubsub|--topic-mode fanout --subs 10 --qos 0"
  "fanout10-q1|pubsub|--topic-mode fanout --subs 10 --qos 1"
  "tls-1to1-q0|pubsub|--pubs 1 --qos 0 $tlsopt"
  "tls-1to1-q1|pubsub|--pubs 1 --qos 1 $tlsopt"
  "tls-fanin10-q1|pubsub|--topic-mode fanin --pubs 10 --qos 1 $tlsopt"
  "tls-fanout10-q1|pubsub|--topic-mode fanout --subs 10 --qos 1 $tlsopt"
  "ws-1to1-q0|pubsub|--pubs 1 --qos 0 $wsopt"
  "ws-1to1-q1|pubsub|--pubs 1 --qos 1 $wsopt"
  "ws-fanout10-q0|pubsub|--topic-mode fanout --subs 10 --qos 0 $wsopt"
  "mqtt5-1to1-q0|pubsub|--pubs 1 --qos 0 --mqtt5"
  "mqtt5-1to1-q1|pubsub|--pubs 1 --qos 1 --mqtt5"
  "reqrep-1k-q0|rtt|--topic-mode reqrep --rate 1000 --qos 0"
  "reqrep-1k-q1|rtt|--topic-mode reqrep --rate 1000 --qos 1"
  "tls-reqrep-1k-q1|rtt|--topic-mode reqrep --rate 1000 --qos 1 $tlsopt"
  "conn-plain|connect|"
  "conn-tls|connect|$tlsopt"
)
brokers=(iotcloud-w1 iotcloud-w2 mosquitto)
fmq=${FLASHMQ_BIN:-}
if [ -n "$fmq" ]; then
  [ -x "$fmq" ] || { echo "compare: FLASHMQ_BIN=$fmq is not executable" >&2; exit 2; }
  brokers+=(flashmq-t1 flashmq)
fi

wait_port() { # port
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start_broker() { # name [nodelay]: a broker that does not come up gets a second try
  launch_broker "$@" && return 0
  kill "$(cat "$work/pid")" 2>/dev/null; wait "$(cat "$work/pid")" 2>/dev/null
  echo "compare: $1 did not start, retrying:" >&2; cat "$work/$1.log" >&2
  sleep 1
  launch_broker "$@" && return 0
  echo "compare: $1 did not start" >&2; cat "$work/$1.log" >&2; exit 1
}

launch_broker() { # name [nodelay]
  case $1 in
    iotcloud-*)
      ./build/release/iotcloud --data-dir "$work/data" --allow-anonymous \
        --listen "mqtt://127.0.0.1:$plain" --listen "mqtts://127.0.0.1:$tls" \
        --listen "ws://127.0.0.1:$ws/mqtt" \
        --workers "${1#iotcloud-w}" --max-conns-per-ip 0 --max-handshakes 100000 \
        --log-level warn 2>"$work/$1.log" &
      ;;
    mosquitto)
      # "user root": as root mosquitto would switch to user mosquitto, which cannot read
      # the key in our 0700 temp dir.
      printf '%s\n' "user root" "per_listener_settings false" "allow_anonymous true" \
        "persistence false" "log_dest none" "set_tcp_nodelay ${2:-false}" \
        "listener $plain 127.0.0.1" "listener $tls 127.0.0.1" "cafile $ca/ca.crt" \
        "certfile $ca/server.crt" "keyfile $ca/server.key" \
        "listener $ws 127.0.0.1" "protocol websockets" > "$work/mosq.conf"
      mosquitto -c "$work/mosq.conf" 2>"$work/$1.log" &
      ;;
    flashmq*)
      flashmq_conf "$1" > "$work/fmq.conf"
      "$fmq" --config-file "$work/fmq.conf" >"$work/$1.log" 2>&1 &
      ;;
  esac
  echo $! > "$work/pid"
  wait_port "$plain" && wait_port "$tls" && wait_port "$ws"
}

# FlashMQ: "flashmq-t1" one thread and TCP_NODELAY on every listener (its best setting on
# two cores), "flashmq" its defaults (a thread per CPU, Nagle on); no persistence.
flashmq_conf() { # name
  local nd="" l
  [ "$1" = flashmq-t1 ] && printf 'thread_count 1\n' && nd="  tcp_nodelay true"
  printf '%s\n' "allow_anonymous true" "log_level error" "log_file $work/fmq-file.log"
  for l in "mqtt $plain" "mqtt $tls tls" "websockets $ws"; do
    # shellcheck disable=SC2086
    set -- $l
    printf 'listen {\n  protocol %s\n  inet_protocol ip4\n  inet4_bind_address 127.0.0.1\n' "$1"
    printf '  port %s\n%s\n' "$2" "$nd"
    [ "${3:-}" = tls ] && printf '  fullchain %s\n  privkey %s\n' "$ca/server.crt" "$ca/server.key"
    printf '}\n'
  done
}

stop_broker() { # a broker that exited during the run is reported, not fatal
  kill "$(cat "$work/pid")" 2>/dev/null || echo "compare: the broker had exited" >&2
  wait "$(cat "$work/pid")" 2>/dev/null || true
}

field() { # file key -> first number after "key":
  sed -n "s/.*\"$2\": \\([0-9.]*\\).*/\\1/p" "$1" | head -1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

run_one() { # broker name kind args
  local b=$1 name=$2 kind=$3 args=$4 port=$plain json="$out/compare-$1-$2.json" c0
  [[ $args == *--tls* ]] && port=$tls
  [[ $args == *--ws* ]] && port=$ws
  rm -f "$json" "${json%.json}.cpu"
  c0=$(cpu_ticks "$(cat "$work/pid")")
  # shellcheck disable=SC2086
  case $kind in
    pubsub|rtt)
      $bench pubsub --port "$port" --duration "$secs" $args --json "$json" \
        >"$work/run.txt" 2>&1 ;;
    connect)
      $bench connect --port "$port" --conns "$conns" --hold 1 \
        --server-pid "$(cat "$work/pid")" $args --json "$json" >"$work/run.txt" 2>&1 ;;
  esac || { echo "compare: $b $name failed:" >&2; tail -3 "$work/run.txt" >&2; }
  # broker CPU us per received message, beside the JSON
  if [ -f "$json" ]; then
    awk -v a="$c0" -v b="$(cpu_ticks "$(cat "$work/pid")")" \
      -v n="$(field "$json" received)" -v t="$(getconf CLK_TCK)" \
      'BEGIN { if (n > 0) printf "%.2f\n", (b - a) * 1e6 / t / n }' > "${json%.json}.cpu"
  fi
}

# Bootstrap: iotcloud makes the CA and server certificate mosquitto's listener uses too.
start_broker iotcloud-w1
stop_broker

for s in "${scenarios[@]}"; do
  IFS='|' read -r name kind args <<< "$s"
  [[ $name =~ $only ]] || continue
  for b in "${brokers[@]}"; do
    echo "compare: $name on $b" >&2
    nodelay=false; [ "$kind" = rtt ] && nodelay=true
    start_broker "$b" "$nodelay"
    sleep 0.3
    run_one "$b" "$name" "$kind" "$args"
    stop_broker
  done
done

cell() { # file kind -> text
  local f=$1
  [ -f "$f" ] || { echo failed; return; }
  case $2 in
    pubsub) printf '%.0f/s %sus lost %s' "$(field "$f" delivered_per_s)" \
      "$(cat "${f%.json}.cpu" 2>/dev/null)" "$(field "$f" lost)" ;;
    rtt) printf '%s/%s us lost %s' "$(field "$f" p50)" "$(field "$f" p99)" "$(field "$f" lost)" ;;
    connect) printf '%.0f/s %s B/c' "$(field "$f" conn_per_s)" "$(field "$f" rss_per_conn)" ;;
  esac
}

ratio() { # kind best-iotcloud-file mosquitto-file -> text
  local k=$1 i=$2 m=$3
  [ -f "$i" ] && [ -f "$m" ] || { echo -; return; }
  case $k in
    pubsub) awk -v a="$(field "$i" delivered_per_s)" -v b="$(field "$m" delivered_per_s)" \
      'BEGIN { if (b > 0) printf "%.2fx msgs/s", a / b; else print "-" }' ;;
    rtt) awk -v a="$(field "$i" p50)" -v b="$(field "$m" p50)" -v c="$(field "$i" p99)" \
      -v d="$(field "$m" p99)" 'BEGIN { if (b > 0 && d > 0)
        printf "p50 %.2fx p99 %.2fx", a / b, c / d; else print "-" }' ;;
    connect) awk -v a="$(field "$i" conn_per_s)" -v b="$(field "$m" conn_per_s)" \
      -v c="$(field "$i" rss_per_conn)" -v d="$(field "$m" rss_per_conn)" 'BEGIN {
        if (b > 0 && d > 0) printf "%.2fx conn/s, %.2fx RSS", a / b, c / d; else print "-" }' ;;
  esac
}

best() { # kind file1 file2 -> the better iotcloud run
  local k=$1 a=$2 b=$3 key=delivered_per_s
  [ -f "$a" ] || { echo "$b"; return; }
  [ -f "$b" ] || { echo "$a"; return; }
  case $k in
    rtt) awk -v x="$(field "$a" p99)" -v y="$(field "$b" p99)" 'BEGIN { exit !(x <= y) }' \
      && echo "$a" || echo "$b"; return ;;
    connect) key=conn_per_s ;;
  esac
  awk -v x="$(field "$a" $key)" -v y="$(field "$b" $key)" 'BEGIN { exit !(x >= y) }' \
    && echo "$a" || echo "$b"
}

declare -A title=([iotcloud-w1]="iotcloud --workers 1" [iotcloud-w2]="iotcloud --workers 2"
  [mosquitto]=mosquitto [flashmq-t1]="flashmq 1 thread nodelay" [flashmq]="flashmq defaults")
head=$(printf '\n%-17s' scenario) rule=------------------
for b in "${brokers[@]}"; do
  head+=$(printf ' | %-30s' "${title[$b]}") rule+=+--------------------------------
done
head+=" | iotcloud (best) / mosquitto" rule+=+----------------------------
[ -n "$fmq" ] && head+=" | iotcloud (best) / flashmq (best)" rule+=+--------------------------------
printf '%s\n%s\n' "$head" "$rule"
for s in "${scenarios[@]}"; do
  IFS='|' read -r name kind _ <<< "$s"
  [[ $name =~ $only ]] || continue
  row=$(printf '%-17s' "$name")
  for b in "${brokers[@]}"; do
    row+=" | $(printf '%-30s' "$(cell "$out/compare-$b-$name.json" "$kind")")"
  done
  i=$(best "$kind" "$out/compare-iotcloud-w1-$name.json" "$out/compare-iotcloud-w2-$name.json")
  row+=" | $(ratio "$kind" "$i" "$out/compare-mosquitto-$name.json")"
  if [ -n "$fmq" ]; then
    f=$(best "$kind" "$out/compare-flashmq-t1-$name.json" "$out/compare-flashmq-$name.json")
    row+=" | $(ratio "$kind" "$i" "$f")"
  fi
  echo "$row"
done
echo
echo "pubsub: delivered msgs/s, broker CPU us per delivered message and messages lost; reqrep: round trip p50/p99 in us at"
echo "1,000 requests/s (ratio < 1: iotcloud faster); conn: connections/s ramping to $conns"
echo "and broker RSS growth per connection (ratio < 1: iotcloud smaller)."
