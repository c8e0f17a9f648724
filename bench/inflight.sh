#!/usr/bin/env bash
# Default in-flight window sweep (issue #23 item 1): one iotcloud binary started with each
# --max-inflight in turn, alternated window by window inside every repetition so a shared
# machine's drift falls on all of them, on the QoS 1 scenarios the window governs. Reports
# delivered msg/s and broker CPU per delivered message (utime+stime of the broker from
# /proc/PID/stat over the whole pubsub run, warm-up included, divided by the messages the
# subscribers received in that run), then the medians per scenario and window.
#
# Usage: bench/inflight.sh [SECONDS] [REPS]     (defaults 3 s measured, 3 repetitions)
# Environment: WINDOWS (default "32 64 128 256 1024"), W (worker loops, default 1),
# BIN (default build/release/iotcloud), ONLY (regex on scenario names),
# PUBWIN (iotbench --inflight per publisher, default 200: enough that the broker's
# window, not the publisher's, is what limits).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
secs=${1:-3} reps=${2:-3}
windows=${WINDOWS:-32 64 128 256 1024} W=${W:-1} only=${ONLY:-.} pubwin=${PUBWIN:-200}
BIN=${BIN:-build/release/iotcloud}
bench=./build/release/iotbench
[ -x "$bench" ] && [ -x "$BIN" ] || {
  echo "inflight: $BIN or $bench missing (bench/compare.sh builds them)" >&2
  exit 1
}
scenarios=(
  "1to1-q1|--pubs 1 --qos 1"
  "fanin10-q1|--topic-mode fanin --pubs 10 --qos 1"
)
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
field() { sed -n "s/.*\"$2\": \\([0-9.]*\\).*/\\1/p" "$1" | head -1; }
results=$(mktemp) json=$(mktemp)
trap 'rm -f "$results" "$json"' EXIT
for r in $(seq "$reps"); do
  for s in "${scenarios[@]}"; do
    IFS='|' read -r name args <<<"$s"
    [[ $name =~ $only ]] || continue
    for win in $windows; do
      d=$(mktemp -d) port=$((20000 + RANDOM % 12000)) # below the ephemeral range
      "$BIN" --data-dir "$d" --allow-anonymous --listen "mqtt://127.0.0.1:$port" \
        --workers "$W" --max-inflight "$win" --max-conns-per-ip 0 --log-level warn 2>/dev/null &
      pid=$!
      for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
      c0=$(cpu_ticks "$pid")
      # shellcheck disable=SC2086
      $bench pubsub --port "$port" --duration "$secs" --inflight "$pubwin" $args \
        --json "$json" >/dev/null 2>&1
      c1=$(cpu_ticks "$pid")
      kill "$pid"
      wait "$pid" 2>/dev/null
      rm -rf "$d"
      rate=$(field "$json" delivered_per_s) got=$(field "$json" received) lost=$(field "$json" lost)
      us=$(awk -v a="$c0" -v b="$c1" -v n="${got:-0}" -v t="$tck" \
        'BEGIN { if (n > 0) printf "%.3f", (b - a) * 1e6 / t / n; else print "failed" }')
      printf 'run %s %s %s %s %s %s\n' "$r" "$name" "$win" "${rate:-failed}" "$us" "${lost:-?}" |
        tee -a "$results"
    done
  done
done
echo "medians, workers $W (msg/s delivered, broker CPU us per delivered message):"
awk '$5 != "failed" {k=$3" "$4; v[k]=v[k]" "$5; u[k]=u[k]" "$6} END {for (k in v) print k"|"v[k]"|"u[k]}' \
  "$results" | sort -t' ' -k1,1 -k2,2n | while IFS='|' read -r key vals us; do
  med() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  # shellcheck disable=SC2086
  printf '  %-12s window %-5s %10.0f msg/s  %6s us/msg   (%s)\n' ${key} "$(med "$vals")" \
    "$(med "$us")" "$(echo $vals)"
done
