#!/usr/bin/env bash
# The store alone on both backends (bench/bench_store.c): SQLite on a temporary file, then
# MongoDB on CongoDB (tests/congodb/run.sh). Needs build/ci (cmake --build build/ci).
#   bench/store.sh [N]      (default 5000 messages per phase)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5000}
bin=build/ci/bench_store
cc -std=c11 -O2 -D_GNU_SOURCE -I. -o "$bin" bench/bench_store.c build/ci/libiotcore.a \
  build/ci/libllhttp.a $(pkg-config --cflags --libs libmongoc-1.0 libbson-1.0 sqlite3 libuv \
  libargon2 libcurl openssl) -lpthread -lm
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" "$dir/bench.db" "$n"
tests/congodb/run.sh sh -c "\"$bin\" \"\$IOTCLOUD_TEST_MONGO/bench\" $n"
