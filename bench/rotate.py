#!/usr/bin/python3
"""Certificate rotation under load (issue 14 item 3).

Starts the binary in $IOTCLOUD_BIN with a user and one device, fills the certs table with
N revoked certificates of a filler device (straight into SQLite while the server is
stopped: rotating N times over REST would take minutes at the old cost), then:

  1. rotation cost: R sequential rotations over REST; median / p90 of the server's own
     time for each (the access log's request-to-response microseconds: the store job
     dominates it, curl's process start is not in it);
  2. PUBACK latency of a persistent QoS 1 publisher (iotbench pubsub, $IOTBENCH_BIN)
     idle, then while one client rotates the device's certificate in a loop.

  IOTCLOUD_BIN=build/ci/iotcloud IOTBENCH_BIN=build/ci/iotbench \\
      /usr/bin/python3 bench/rotate.py --revoked 1000 6000 [--rotations 40] [--duration 10]

Extra server flags (e.g. a higher rotation limit) go after --server-args.
"""

import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from device_harness import Api, DeviceServer, uname  # noqa: E402


def fill_revoked(db, n, device_id):
    """@n revoked (superseded) certificates of @device_id, as if it had rotated @n times.
    The document is an empty BSON: what reads revoked rows reads their columns."""
    con = sqlite3.connect(db)
    now = int(time.time() * 1000)
    year = 365 * 86400 * 1000
    rows = [("%032x" % (0x1000 + i), device_id, now + year, now - 1000, 4, b"\x05\0\0\0\0")
            for i in range(n)]
    con.executemany("INSERT OR IGNORE INTO certs (serial, device_id, not_after, revoked_at,"
                    " reason, doc) VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def rotate_times(api, token, dev, count):
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        r = api.call("POST", "/v1/devices/%s/certificate" % dev, {"generate_key": True},
                     token=token)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status == 201, r.raw
    return out


def pubsub(srv, duration):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        cmd = [os.environ.get("IOTBENCH_BIN", "build/ci/iotbench"), "pubsub", "--port",
               str(srv.port), "--qos", "1", "--persistent", "--rate", "200", "--inflight",
               "1", "--duration", str(duration), "--json", f.name]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return json.load(open(f.name))


def puback(doc):
    lat = doc.get("puback_latency_us") or {}
    return {k: lat.get(k) for k in ("p50", "p99", "max")}


def run(n, args):
    data = tempfile.mkdtemp(prefix="iotcloud-rotate-")
    srv = DeviceServer(extra_args=args.server_args, allow_anonymous=True, data_dir=data)
    user = srv.add_user(uname("bench"))
    srv.start()
    api = Api(srv)
    token = api.login(user)
    dev = api.register(token, generate_key=True)["id"]
    rotate_times(api, token, dev, 1)
    srv.signal_and_wait()
    fill_revoked(os.path.join(srv.data_dir, "iotcloud.db"), n, dev)
    srv.start()
    token = api.login(user)
    rot = rotate_times(api, token, dev, args.rotations)
    idle = pubsub(srv, args.duration)
    stop = threading.Event()
    loop_times = []

    def loop():
        while not stop.is_set():
            loop_times.extend(rotate_times(api, token, dev, 1))

    t = threading.Thread(target=loop)
    t.start()
    busy = pubsub(srv, args.duration)
    stop.set()
    t.join()
    server_ms = [int(us) / 1000.0 for us in re.findall(
        r"http POST /v1/devices/\S+/certificate 201 \d+ (\d+)us", srv.stderr_text())]
    seq = server_ms[1:1 + args.rotations]  # [0] is the warm-up before the fill
    time.sleep(args.settle)
    crl = api.call("GET", "/v1/ca/crl")
    srv.stop()
    shutil.rmtree(data, ignore_errors=True)
    return {"revoked": n,
            "rotation_server_ms": {"p50": statistics.median(seq), "p90": pct(seq, 90)},
            "rotation_roundtrip_ms": {"p50": statistics.median(rot), "p90": pct(rot, 90)},
            "puback_idle_us": puback(idle), "puback_rotating_us": puback(busy),
            "rotations_during_pubsub": len(loop_times), "crl_bytes": len(crl.raw)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--revoked", type=int, nargs="+", default=[1000, 6000])
    p.add_argument("--rotations", type=int, default=40)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--settle", type=float, default=0, help="seconds before fetching the CRL")
    p.add_argument("--server-args", nargs=argparse.REMAINDER, default=[])
    args = p.parse_args()
    for n in args.revoked:
        print(json.dumps(run(n, args)), flush=True)


if __name__ == "__main__":
    main()
