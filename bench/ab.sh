#!/usr/bin/env bash
# Before/after for a hot-path change: two iotcloud binaries (e.g. a release build of the
# base commit in a worktree, and this tree's) alternated run by run on the same pub/sub
# scenarios, so a shared machine's drift falls on both. Prints every run and the medians.
#
# Usage: bench/ab.sh A_BIN B_BIN [SECONDS] [REPS]    (defaults 5 s, 3 repetitions)
# Environment: W (worker loops of both servers, default 2), ONLY (regex on scenario names).
# Needs build/release/iotbench (bench/compare.sh builds it). Anonymous, plain MQTT on
# loopback, no persistence beyond the defaults; each run starts a fresh server and data dir.
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,10p "$0"; exit 2; }
A=$1 B=$2 secs=${3:-5} reps=${4:-3} W=${W:-2} only=${ONLY:-.}
bench=./build/release/iotbench
[ -x "$bench" ] || { echo "ab: build/release/iotbench missing (bench/compare.sh builds it)" >&2; exit 1; }
scenarios=(
  "1to1-q0|--pubs 1 --qos 0"
  "1to1-q1|--pubs 1 --qos 1"
  "fanin10-q1|--topic-mode fanin --pubs 10 --qos 1"
  "fanout10-q0|--topic-mode fanout --subs 10 --qos 0"
  "fanout10-q1|--topic-mode fanout --subs 10 --qos 1"
)
# A binary that has a per-address cap gets it off: every bench client comes from 127.0.0.1.
extra() { "$1" --help 2>&1 | grep -q -- --max-conns-per-ip && echo "--max-conns-per-ip 0"; }
declare -A xa=([A]="$(extra "$A")" [B]="$(extra "$B")") bin=([A]="$A" [B]="$B")
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for r in $(seq "$reps"); do
  for s in "${scenarios[@]}"; do
    IFS='|' read -r name args <<<"$s"
    [[ $name =~ $only ]] || continue
    for which in A B; do
      d=$(mktemp -d) port=$((20000 + RANDOM % 12000)) # below the ephemeral range
      # shellcheck disable=SC2086
      "${bin[$which]}" --data-dir "$d" --allow-anonymous --listen "mqtt://127.0.0.1:$port" \
        --workers "$W" --log-level warn ${xa[$which]} 2>/dev/null &
      pid=$!
      for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
      # shellcheck disable=SC2086
      v=$($bench pubsub --port "$port" --duration "$secs" $args 2>&1 | awk '/^delivered/{print $2}')
      kill "$pid"; wait "$pid" 2>/dev/null; rm -rf "$d"
      echo "run $r $name $which ${v:-failed}" | tee -a "$results"
    done
  done
done
echo "medians (delivered msgs/s), workers $W:"
awk '$5 != "failed" {k=$3" "$4; v[k]=v[k]" "$5} END {for (k in v) print k, v[k]}' "$results" |
  sort | while read -r name which vals; do
    med=$(tr ' ' '\n' <<<"$vals" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '  %-12s %s %10s   (%s)\n' "$name" "$which" "$med" "$vals"
  done
