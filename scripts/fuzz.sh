#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan), replays each committed corpus as a
# regression test, then fuzzes each target for SECONDS (default 30) from a scratch copy
# of its corpus. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
shift || true
CC=clang cmake -S . -B build/fuzz -DIOT_FUZZ=ON -DIOT_TESTS=OFF -DIOT_WERROR=ON -DCMAKE_BUILD_TYPE=Debug \
  >/dev/null
cmake --build build/fuzz -j"$(nproc)" >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${targets[@]}"; do
  corpus=fuzz/corpus/$t
  [ -d "$corpus" ] || { echo "fuzz: $t has no corpus in $corpus" >&2; exit 1; }
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  echo "fuzz: $t: replaying $(ls "$corpus" | wc -l) corpus inputs"
  ./build/fuzz/"$t" "${dict[@]}" -runs=0 "$corpus" >/dev/null 2>build/fuzz/"$t".replay.log \
    || { cat build/fuzz/"$t".replay.log; exit 1; }
  scratch=$(mktemp -d)
  cp -r "$corpus"/. "$scratch"/
  echo "fuzz: $t: fuzzing for ${secs}s"
  if ! ./build/fuzz/"$t" "${dict[@]}" -max_total_time="$secs" -max_len=4096 -timeout=10 \
       -artifact_prefix=build/fuzz/"$t"- "$scratch" >build/fuzz/"$t".log 2>&1; then
    tail -50 build/fuzz/"$t".log
    rm -rf "$scratch"
    echo "fuzz: $t FAILED (crash input saved under build/fuzz/)" >&2
    exit 1
  fi
  grep -E "DONE|^Done" build/fuzz/"$t".log | tail -1 || true
  rm -rf "$scratch"
done
echo "fuzz: ${#targets[@]} targets clean"
