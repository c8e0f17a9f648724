#!/usr/bin/env bash
# Style checks CI enforces: no banned functions in our C sources.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')
bad=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol)\s*\(' $files || true)
if [ -n "$bad" ]; then
  echo "banned functions (use sized, checked variants):"
  echo "$bad"
  exit 1
fi
echo "style: ok ($(echo "$files" | wc -w) files)"
