#!/usr/bin/env bash
# Installs CongoDB for the MongoDB store tests into tests/congodb/node_modules (npm
# registry only, no install scripts, nothing downloaded at run time):
#   - the dependencies CongoDB needs, from the committed package-lock.json (npm ci);
#   - @push.rocks/smartmongo@2.2.0 itself unpacked beside them: a plain install of it
#     fails (a dependency of its other parts names a version that does not exist, and it
#     pulls mongodb-memory-server, which downloads mongod). Its tarball is checked against
#     the SHA-256 below. Only dist_ts/congodb is used.
set -euo pipefail
cd "$(dirname "$0")"
pkg=node_modules/@push.rocks/smartmongo
sha=1f9915eb73859a62183e589a699f58b9fd006c972deb5ce6f61fa945defbc22e
# ctest -j starts several tests at once: one installs, the others wait for it.
exec 9>.setup.lock
flock 9
[ -f "$pkg/dist_ts/congodb/index.js" ] && [ -d node_modules/mingo ] && exit 0
npm ci --no-audit --no-fund --ignore-scripts >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @push.rocks/smartmongo@2.2.0 >/dev/null)
echo "$sha  $tmp/push.rocks-smartmongo-2.2.0.tgz" | sha256sum -c --quiet -
mkdir -p "$pkg"
tar xzf "$tmp/push.rocks-smartmongo-2.2.0.tgz" -C "$pkg" --strip-components=1
