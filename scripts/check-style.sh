#!/usr/bin/env bash
# Style checks CI enforces: no banned functions in our C sources, clang-format clean.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tracked and new (untracked, not ignored) files: a new file is checked before its commit.
files=$(git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')
bad=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol)\s*\(' $files || true)
if [ -n "$bad" ]; then
  echo "banned functions (use sized, checked variants):"
  echo "$bad"
  exit 1
fi
if command -v clang-format >/dev/null; then
  # shellcheck disable=SC2086
  if ! clang-format --dry-run --Werror $files 2>/tmp/clang-format.$$; then
    head -40 /tmp/clang-format.$$
    rm -f /tmp/clang-format.$$
    echo "clang-format: run 'clang-format -i' on the files above (.clang-format)"
    exit 1
  fi
  rm -f /tmp/clang-format.$$
fi
echo "style: ok ($(echo "$files" | wc -w) files)"
