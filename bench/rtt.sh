#!/usr/bin/env bash
# Device-control round trips: a REST call becomes an MQTT request to a device and its answer
# comes back (docs/device-control.md). Starts a release iotcloud with a fresh data dir,
# registers DEVICES devices with secrets, runs them in one bench/devsim process, then
# hammers GET /v1/devices/{id}/gpio/{n} over CONNS HTTPS keep-alive connections (Python
# http.client, one thread per connection, devices taken round-robin) for SECONDS.
#
# Usage: bench/rtt.sh [SECONDS] [CONNS] [DEVICES] [WORKERS]   (default 10 32 100 2)
# Prints calls/s, status counts and percentiles of latency_us (server time: publish to
# answer) and of the client's round trip.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
ndev=${3:-100}
workers=${4:-2}
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DIOT_TESTS=OFF >/dev/null
cmake --build build/release -j4 --target iotcloud devsim >/dev/null
work=$(mktemp -d)
cleanup() {
  for f in sim.pid pid; do
    [ -f "$work/$f" ] && kill "$(cat "$work/$f")" 2>/dev/null || true
  done
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT
hport=$((20000 + RANDOM % 20000))
mport=$((hport + 1))
pass="bench-password-$RANDOM$RANDOM"
mkdir -p "$work/data"
echo "$pass" | ./build/release/iotcloud user add --data-dir "$work/data" \
  --email bench@example.com bench >/dev/null
./build/release/iotcloud --data-dir "$work/data" --workers "$workers" --no-access-log \
  --listen "https://127.0.0.1:$hport" --listen "mqtts://127.0.0.1:$mport" \
  --device-max-inflight 64 --device-max-queued 256 2>"$work/server.log" &
echo $! > "$work/pid"
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$hport") 2>/dev/null && break
  sleep 0.1
done

/usr/bin/python3 - "$hport" "$work" "$pass" "$ndev" <<'PY'
import http.client, json, ssl, sys
port, work, pw, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = ssl.create_default_context(cafile=work + "/data/ca/ca.crt")
c = http.client.HTTPSConnection("localhost", port, context=ctx)
def call(method, path, body=None, token=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse()
    return r.status, json.loads(r.read() or b"null")
s, j = call("POST", "/v1/auth/login", {"username": "bench", "password": pw})
tok = j["access_token"]
with open(work + "/secrets", "w") as f, open(work + "/ids", "w") as g:
    for i in range(n):
        s, d = call("POST", "/v1/devices", {"name": "bench-%d" % i, "generate_key": True}, tok)
        assert s == 201, d
        s, sec = call("POST", "/v1/devices/%s/secret" % d["id"], None, tok)
        assert s == 201, sec
        f.write("%s %s\n" % (d["id"], sec["secret"]))
        g.write(d["id"] + "\n")
open(work + "/token", "w").write(tok)
PY

./build/release/devsim --host 127.0.0.1 --port "$mport" --cafile "$work/data/ca/ca.crt" \
  --secrets "$work/secrets" --quiet 2>"$work/devsim.log" &
echo $! > "$work/sim.pid"

/usr/bin/python3 - "$hport" "$work" "$secs" "$conns" <<'PY'
import http.client, json, ssl, sys, threading, time
port, work, secs, conns = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
tok = open(work + "/token").read()
ids = open(work + "/ids").read().split()
ctx = ssl.create_default_context(cafile=work + "/data/ca/ca.crt")
hdr = {"Authorization": "Bearer " + tok}

def online(c, dev):
    c.request("GET", "/v1/devices/" + dev, headers=hdr)
    r = c.getresponse()
    return json.loads(r.read()).get("online")

c = http.client.HTTPSConnection("localhost", port, context=ctx)
deadline = time.monotonic() + 60
while not all(online(c, d) for d in ids[-1:] + ids[:1]):
    if time.monotonic() > deadline:
        sys.exit("rtt.sh: devices did not come online")
    time.sleep(0.2)
time.sleep(0.5)  # the last ones subscribe

server_us, client_us, codes = [], [], {}
lock = threading.Lock()
stop_at = time.monotonic() + secs

def worker(k):
    c = http.client.HTTPSConnection("localhost", port, context=ctx)
    i, s_l, c_l, cd = k, [], [], {}
    while time.monotonic() < stop_at:
        dev = ids[i % len(ids)]
        i += conns
        t0 = time.perf_counter()
        c.request("GET", "/v1/devices/%s/gpio/%d" % (dev, i % 32), headers=hdr)
        r = c.getresponse()
        body = r.read()
        c_l.append((time.perf_counter() - t0) * 1e6)
        cd[r.status] = cd.get(r.status, 0) + 1
        if r.status == 200:
            s_l.append(json.loads(body)["latency_us"])
    with lock:
        server_us.extend(s_l)
        client_us.extend(c_l)
        for k2, v in cd.items():
            codes[k2] = codes.get(k2, 0) + v

t0 = time.monotonic()
ts = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
for t in ts:
    t.start()
for t in ts:
    t.join()
el = time.monotonic() - t0

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else 0

total = sum(codes.values())
print("== %d devices, %d keep-alive connections, %.1fs: GET /v1/devices/{id}/gpio/{n}"
      % (len(ids), conns, el))
print("calls: %d (%.0f/s)  status: %s" % (total, total / el, dict(sorted(codes.items()))))
for name, v in (("latency_us (server)", server_us), ("round trip us (client)", client_us)):
    print("%-24s p50 %7.0f  p90 %7.0f  p99 %7.0f  p99.9 %7.0f  max %7.0f"
          % (name, pct(v, 50), pct(v, 90), pct(v, 99), pct(v, 99.9), max(v) if v else 0))
PY
kill -INT "$(cat "$work/sim.pid")" 2>/dev/null || true
kill "$(cat "$work/pid")"; wait "$(cat "$work/pid")" 2>/dev/null || true
grep -h -e "device control:" -e "device activity:" "$work/server.log" || true
