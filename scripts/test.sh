#!/usr/bin/env bash
# Sets up (Debian packages), builds and runs the whole test suite:
#   1. -Wall -Wextra -Wshadow -Werror build, style checks (banned functions, clang-format, the
#      layer map of includes, names quoted in the docs), unit + integration tests (ctest)
#   2. the same suite again under ASan + UBSan
#   3. the integration tests again against ThreadSanitizer builds of iotcloud, devsim and
#      iotbench (every binary the integration tests start)
#   4. every libFuzzer target: corpus replay (regression) + a short fuzzing run
# Every build is warnings-as-errors. After each test stage the number of skipped
# integration tests is printed with their reasons; the suite also fails when a test left a
# process running (ctest's integration.suite_end).
# Environment: FUZZ_SECONDS (default 10) per target; SKIP_FUZZ=1 / SKIP_ASAN=1 / SKIP_TSAN=1
# for quick local runs. CI=true (set by CI services and by .ci/run) refuses the SKIP_*
# shortcuts, so a CI run is always the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${CI:-}" = true ]; then
  for v in SKIP_FUZZ SKIP_ASAN SKIP_TSAN; do
    if [ "${!v:-0}" = 1 ]; then
      echo "test.sh: $v=1 is not allowed when CI=true (CI runs the whole suite)" >&2
      exit 2
    fi
  done
fi

bash scripts/deps.sh --test
jobs=$(nproc)

section() { printf '\n==== %s ====\n' "$*"; }
skips() { /usr/bin/python3 tests/integration/suite_check.py skips "build/$1/itest"; }

echo "machine: $(nproc) cores, $(uname -sr), $(cc --version | head -n 1), CI=${CI:-unset}"

section "style"
bash scripts/check-style.sh
python3 scripts/check-layers.py
python3 scripts/check-doc-names.py

section "build (-Werror)"
cmake -S . -B build/ci -DIOT_WERROR=ON >/dev/null
cmake --build build/ci -j"$jobs"
section "tests"
# CongoDB for the store tests on MongoDB (unit.*.mongodb; tests/congodb/run.sh starts one
# per test): installed once here, before ctest -j runs them side by side.
tests/congodb/setup.sh
(cd build/ci && ctest --output-on-failure -j"$jobs")
skips ci

if [ "${SKIP_ASAN:-0}" != 1 ]; then
  section "build (ASan + UBSan)"
  cmake -S . -B build/asan -DIOT_WERROR=ON -DIOT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build/asan -j"$jobs"
  section "tests under ASan + UBSan"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd build/asan && ctest --output-on-failure -j"$jobs")
  skips asan
fi

if [ "${SKIP_TSAN:-0}" != 1 ]; then
  # Criterion itself does not start under TSan, so this pass runs the integration tests:
  # the real server, two loops, real clients, every cross-loop path. The tests start
  # devsim and iotbench too (and fail when they are missing), so all three are built.
  section "build (TSan)"
  cmake -S . -B build/tsan -DIOT_WERROR=ON -DIOT_TSAN=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build/tsan -j"$jobs" --target iotcloud devsim iotbench
  section "integration tests under TSan"
  export TSAN_OPTIONS=halt_on_error=0:second_deadlock_stack=1
  (cd build/tsan && ctest --output-on-failure -j"$jobs" -R '^integration\.')
  skips tsan
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  section "fuzz"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-10}"
fi

# The ctest summaries above are the suite's verdict; say it plainly once more.
echo
skipped=""
[ "${SKIP_ASAN:-0}" = 1 ] && skipped+=" ASan"
[ "${SKIP_TSAN:-0}" = 1 ] && skipped+=" TSan"
[ "${SKIP_FUZZ:-0}" = 1 ] && skipped+=" fuzz"
if [ -n "$skipped" ]; then
  echo "all checks run passed; stages left out:$skipped"
else
  echo "all checks passed"
fi
