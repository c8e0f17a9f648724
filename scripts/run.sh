#!/usr/bin/env bash
# Sets up (Debian packages), builds and runs iotcloud with its defaults:
#   data in ./data, a self-generated CA and server certificate in ./data/ca,
#   MQTT over TLS on 0.0.0.0:8883, plain MQTT on 127.0.0.1:1883,
#   HTTPS API on 0.0.0.0:8443, plain HTTP API on 127.0.0.1:8080.
#
# Usage: scripts/run.sh [--build-only | --background | --stop] [IOTCLOUD ARGS...]
#   (no mode)     build, then run in the foreground (Ctrl-C stops it)
#   --build-only  build, link build/bin/iotcloud, stop there
#   --background  build, start in the background, wait until it listens, print where
#                 things are (URLs, CA file, the log with the confirmation codes); the
#                 log is ./data/iotcloud.log, the pid ./data/iotcloud.pid
#   --stop        stop the server --background started (SIGTERM, waits for it to exit)
# Extra arguments go to iotcloud (see build/bin/iotcloud --help).
#
# Environment: IOTCLOUD_BIN=PATH runs that binary instead of building one (no packages,
# no build; the README test uses it); IOTCLOUD_START_TIMEOUT (seconds, default 60).
# Every mode links build/bin/iotcloud to the binary it runs, so after
#   export PATH="$PWD/build/bin:$PATH"
# the README's `iotcloud ...` commands work as written.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=foreground
case "${1:-}" in
  --build-only) mode=build; shift ;;
  --background) mode=background; shift ;;
  --stop) mode=stop; shift ;;
esac

LOG=data/iotcloud.log
PIDFILE=data/iotcloud.pid

say() { printf 'run.sh: %s\n' "$*" >&2; }

build() {
  if [ -n "${IOTCLOUD_BIN:-}" ]; then
    [ -x "$IOTCLOUD_BIN" ] || { say "IOTCLOUD_BIN=$IOTCLOUD_BIN is not an executable"; exit 1; }
    bin=$(readlink -f "$IOTCLOUD_BIN")
    say "using $bin (IOTCLOUD_BIN; nothing built)"
  else
    bash scripts/deps.sh
    say "configuring build/release"
    cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DIOT_TESTS=OFF >/dev/null
    say "building build/release (a minute or two on 2 cores the first time)"
    cmake --build build/release -j"$(nproc)"
    bin=$PWD/build/release/iotcloud
  fi
  mkdir -p build/bin
  ln -sfn "$bin" build/bin/iotcloud
}

# A process that exited but was not yet reaped (a zombie) counts as gone.
alive() {
  kill -0 "$1" 2>/dev/null && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null
}

running_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE")
  [ -n "$pid" ] && alive "$pid" && echo "$pid"
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    say "no server started by run.sh --background is running"
    rm -f "$PIDFILE"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 300); do
    alive "$pid" || { rm -f "$PIDFILE"; say "stopped (pid $pid)"; return 0; }
    sleep 0.1
  done
  say "pid $pid did not stop within 30 s; see $LOG"
  exit 1
}

# The data directory the server will use: --data-dir from the arguments, else ./data.
data_dir() {
  local dir=data prev=""
  for a in "$@"; do
    case "$a" in
      --data-dir=*) dir=${a#--data-dir=} ;;
      *) [ "$prev" = --data-dir ] && dir=$a ;;
    esac
    prev=$a
  done
  echo "$dir"
}

# Waits for the log line the server writes once every listener is bound.
wait_ready() {
  local pid=$1 deadline=$((SECONDS + ${IOTCLOUD_START_TIMEOUT:-60}))
  while ! grep -q 'iotcloud running with' "$LOG"; do
    if ! alive "$pid"; then
      say "iotcloud exited during start-up; the end of $LOG:"
      tail -n 20 "$LOG" >&2
      rm -f "$PIDFILE"
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "iotcloud not ready after ${IOTCLOUD_START_TIMEOUT:-60} s; see $LOG"
      exit 1
    fi
    sleep 0.1
  done
}

summary() {
  local dir=$1
  echo
  echo "iotcloud is running (pid $(cat "$PIDFILE")), listening on:"
  sed -n 's/.*listening on \([^ ]*\).*/  \1/p' "$LOG"
  echo "CA certificate (clients' --cafile / --cacert): $dir/ca/ca.crt"
  echo "log: $LOG; confirmation and reset codes appear there until --smtp-url is set:"
  echo "  grep 'confirmation code' $LOG"
  echo "the iotcloud command: export PATH=\"$PWD/build/bin:\$PATH\""
  echo "stop it: ./scripts/run.sh --stop"
}

background() {
  local pid
  if pid=$(running_pid); then
    say "already running (pid $pid); ./scripts/run.sh --stop first"
    exit 1
  fi
  mkdir -p -m 0700 data
  : >"$LOG"
  nohup build/bin/iotcloud "$@" </dev/null >>"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  wait_ready "$!"
  summary "$(data_dir "$@")"
}

case "$mode" in
  stop) stop ;;
  build) build; say "built: build/bin/iotcloud -> $bin" ;;
  background) build; background "$@" ;;
  foreground)
    build
    say "starting $bin in the foreground; codes and mail appear in the log below"
    exec build/bin/iotcloud "$@" ;;
esac
