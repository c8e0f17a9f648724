#!/usr/bin/env bash
# Installs the Debian packages iotcloud needs to build, run and test, when any is missing.
# Usage: scripts/deps.sh [--test]   (--test adds the test clients and fuzzing toolchain)
set -euo pipefail

pkgs=(build-essential cmake pkg-config libuv1-dev libssl-dev openssl libbson-dev libmongoc-dev libsqlite3-dev node-llhttp libargon2-dev libcurl4-openssl-dev libsystemd-dev python3 python3-yaml)
# The clients the README's "Try it" uses (scripts/run.sh installs them with the server's).
try_pkgs=(mosquitto-clients curl jq python3-paho-mqtt)
# util-linux: unshare, for test_cli's default-listener check in a network namespace.
test_pkgs=(libcriterion-dev systemd clang clang-format libclang-rt-14-dev mosquitto-clients python3-paho-mqtt python3 git curl jq util-linux python3-aiosmtpd gnuplot-nox python3-cryptography prometheus)

# The dashboard's build (web/: npm ci + esbuild) needs node and npm; Debian's when there
# are none (a node from elsewhere, e.g. NodeSource, which bundles npm, is used as it is).
# chromium: the browser the dashboard's end-to-end test drives (tests/e2e/).
web_pkgs=()
command -v node >/dev/null 2>&1 || web_pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || web_pkgs+=(npm)
test_pkgs+=(chromium)

want=("${pkgs[@]}" "${try_pkgs[@]}" "${web_pkgs[@]}")
[ "${1:-}" = "--test" ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
# No package may start a system-wide daemon here (prometheus, for its promtool, would
# listen on 9090): policy-rc.d answers "not allowed" while we install, when none exists.
guard=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
  $sudo_cmd chmod +x /usr/sbin/policy-rc.d
  guard=1
fi
rc=0
$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
[ $guard = 1 ] && $sudo_cmd rm -f /usr/sbin/policy-rc.d
exit $rc
