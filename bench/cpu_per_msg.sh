#!/usr/bin/env bash
# Server CPU per delivered message, before/after: two iotcloud binaries alternated run by
# run at a FIXED publish rate, so the figure (µs of server user+system CPU per delivered
# message, whole run including warm-up) does not depend on how much CPU the shared machine
# left the load generator, as msg/s does.
#
# Usage: bench/cpu_per_msg.sh A_BIN B_BIN [SECONDS] [REPS]   (defaults 4 s, 3 repetitions)
# Environment: W (worker loops, default 2), ONLY (regex on scenario names).
# Needs build/release/iotbench. Anonymous, plain MQTT 3.1.1 on loopback.
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,9p "$0"; exit 2; }
A=$1 B=$2 secs=${3:-4} reps=${4:-3} W=${W:-2} only=${ONLY:-.}
bench=./build/release/iotbench
[ -x "$bench" ] || { echo "cpu_per_msg: build/release/iotbench missing" >&2; exit 1; }
scenarios=(
  "1to1-q0|--pubs 1 --qos 0 --rate 50000"
  "1to1-q1|--pubs 1 --qos 1 --rate 20000"
  "fanout10-q0|--topic-mode fanout --subs 10 --qos 0 --rate 10000"
)
tck=$(getconf CLK_TCK)
declare -A bin=([A]="$A" [B]="$B")
results=$(mktemp)
trap 'rm -f "$results"' EXIT
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for r in $(seq "$reps"); do
  for s in "${scenarios[@]}"; do
    IFS='|' read -r name args <<<"$s"
    [[ $name =~ $only ]] || continue
    for which in A B; do
      d=$(mktemp -d) port=$((30000 + RANDOM % 10000))
      "${bin[$which]}" --data-dir "$d" --allow-anonymous --listen "mqtt://127.0.0.1:$port" \
        --workers "$W" --log-level warn --max-conns-per-ip 0 2>/dev/null &
      pid=$!
      for _ in $(seq 150); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
      # shellcheck disable=SC2086
      got=$($bench pubsub --port "$port" --duration "$secs" $args 2>&1 | awk '/^whole run/{print $6}')
      got=${got%,}
      ticks=$(cpu_ticks "$pid" 2>/dev/null || echo "")
      kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$d"
      if [ -n "$ticks" ] && [ -n "$got" ] && [ "$got" -gt 0 ]; then
        v=$(awk -v t="$ticks" -v k="$tck" -v n="$got" 'BEGIN {printf "%.2f", t / k * 1e6 / n}')
      else
        v=failed
      fi
      echo "run $r $name $which $v" | tee -a "$results"
    done
  done
done
echo "medians (server CPU us per delivered message), workers $W:"
awk '$5 != "failed" {k=$3" "$4; v[k]=v[k]" "$5} END {for (k in v) print k, v[k]}' "$results" |
  sort | while read -r name which vals; do
    med=$(tr ' ' '\n' <<<"$vals" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '  %-12s %s %8s   (%s)\n' "$name" "$which" "$med" "$vals"
  done
