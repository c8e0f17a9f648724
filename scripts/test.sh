#!/usr/bin/env bash
# Sets up (Debian packages), builds and runs the whole test suite:
#   1. -Wall -Wextra -Wshadow -Werror build, style checks (banned functions, clang-format, the
#      layer map of includes, names quoted in the docs), unit + integration tests (ctest)
#   2. the same suite again under ASan + UBSan
#   3. the integration tests again against a ThreadSanitizer build of the server
#   4. every libFuzzer target: corpus replay (regression) + a short fuzzing run
# Environment: FUZZ_SECONDS (default 20) per target; SKIP_FUZZ=1 / SKIP_ASAN=1 / SKIP_TSAN=1 for quick
# local runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
jobs=$(nproc)

section() { printf '\n==== %s ====\n' "$*"; }

section "style"
bash scripts/check-style.sh
python3 scripts/check-layers.py
python3 scripts/check-doc-names.py

section "build (-Werror)"
cmake -S . -B build/ci -DIOT_WERROR=ON >/dev/null
cmake --build build/ci -j"$jobs"
section "tests"
(cd build/ci && ctest --output-on-failure -j"$jobs")

if [ "${SKIP_ASAN:-0}" != 1 ]; then
  section "build (ASan + UBSan)"
  cmake -S . -B build/asan -DIOT_WERROR=ON -DIOT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build/asan -j"$jobs"
  section "tests under ASan + UBSan"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd build/asan && ctest --output-on-failure -j"$jobs")
fi

if [ "${SKIP_TSAN:-0}" != 1 ]; then
  # Criterion itself does not start under TSan, so this pass runs the integration tests:
  # the real server, two loops, real clients, every cross-loop path.
  section "build (TSan)"
  cmake -S . -B build/tsan -DIOT_TSAN=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build/tsan -j"$jobs" --target iotcloud
  section "integration tests under TSan"
  export TSAN_OPTIONS=halt_on_error=0:second_deadlock_stack=1
  (cd build/tsan && ctest --output-on-failure -j"$jobs" -R '^integration\.')
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  section "fuzz"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
fi

# The last ctest summary above is the suite's verdict; say it plainly once more.
echo
echo "all checks passed"
