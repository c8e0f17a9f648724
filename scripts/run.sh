#!/usr/bin/env bash
# Sets up (Debian packages), builds and runs iotcloud with its defaults:
#   data in ./data, a self-generated CA and server certificate in ./data/ca,
#   MQTT over TLS on 0.0.0.0:8883, plain MQTT on 127.0.0.1:1883.
# Extra arguments go to iotcloud (see ./scripts/run.sh --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DIOT_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
exec ./build/release/iotcloud "$@"
