#!/usr/bin/python3
"""Shadow updates per second and latency (issue 17 section 1), durability on (the store's
default synchronous=FULL group commit: every accepted update is on disk before its
answer).

Starts the binary in $IOTCLOUD_BIN with a user and D devices (certificates), then runs P
processes; each connects its devices over mutual TLS (paho) and keeps W updates in flight
per device: `server/{id}/shadow/update` (QoS 0) with a new desired value, which the
server merges, commits, answers on `{id}/shadow/update/accepted` and publishes as a delta
on `{id}/shadow/update/delta` (desired always differs from reported here). Counted: accepted
answers and deltas received per second over the measured window; latency update ->
accepted (p50, p99) from the clientToken.

  IOTCLOUD_BIN=build/ci/iotcloud /usr/bin/python3 bench/shadow.py \\
      [--devices 8] [--procs 2] [--window 32] [--duration 10] [--json out.json]

With --devsim, the devices are the C simulator (build/ci/devsim --shadow-window W, one
process, one loop) instead of paho: throughput only (accepted and deltas per second from
its status line, sampled once a second), no latency; each update there sets desired and
reported, so every update also yields a delta.
"""

import argparse
import json
import multiprocessing as mp
import os
import re
import shutil
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import paho.mqtt.client as mqtt  # noqa: E402
from device_harness import Api, DeviceServer, register_device, scratch_dir, uname  # noqa: E402


def worker(port, cafile, devs, window, duration, q):
    stats = {"accepted": 0, "delta": 0, "rejected": 0, "lat": []}
    sent = {}
    clients = []
    start = [None]
    deadline = [None]

    def send(c, dev, i):
        tok = "%s-%d" % (dev[0][-6:], i)
        sent[tok] = time.perf_counter()
        body = json.dumps({"state": {"desired": {"v": i}}, "clientToken": tok})
        c.publish("server/%s/shadow/update" % dev[0], body, 0)

    def on_message(c, dev, m):
        kind = m.topic.rsplit("/", 1)[1]
        now = time.perf_counter()
        if kind == "delta":
            if start[0] and now >= start[0]:
                stats["delta"] += 1
            return
        doc = json.loads(m.payload)
        if kind == "rejected" and not stats.get("why"):
            stats["why"] = doc
        t0 = sent.pop(doc.get("clientToken"), None)
        if start[0] and now >= start[0] and now < deadline[0]:
            stats["accepted" if kind == "accepted" else "rejected"] += 1
            if t0 is not None:
                stats["lat"].append(now - t0)
        if now < deadline[0]:
            dev[1] += 1
            send(c, dev, dev[1])

    for dev_id, cert, key in devs:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
        ctx.load_cert_chain(cert, key)
        state = [dev_id, 0]
        c = mqtt.Client(client_id=dev_id, userdata=state, clean_session=True)
        c.tls_set_context(ctx)
        c.max_inflight_messages_set(1000)
        c.max_queued_messages_set(0)
        c.on_message = on_message
        c.connect("127.0.0.1", port, 60)
        c.loop_start()
        c.subscribe([("%s/shadow/update/%s" % (dev_id, k), 0)
                     for k in ("accepted", "rejected", "delta")])
        clients.append((c, state))
    time.sleep(1.0)
    start[0] = time.perf_counter() + 1.0  # one second of warm-up
    deadline[0] = start[0] + duration
    for c, state in clients:
        for _ in range(window):
            state[1] += 1
            send(c, state, state[1])
    time.sleep(max(0.0, deadline[0] - time.perf_counter()) + 0.5)
    for c, _ in clients:
        c.disconnect()
        c.loop_stop()
    q.put(stats)


def cpu_s(pid):
    """The process's user + system CPU seconds (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else 0.0


def devsim_counts(line):
    """(accepted, deltas) from a devsim status line, or None."""
    m = re.search(r"shadow (\d+) sent (\d+) accepted (\d+) rejected (\d+) deltas", line)
    return (int(m.group(2)), int(m.group(4)), int(m.group(3))) if m else None


def run_devsim(srv, devs, d, a):
    certdir = os.path.join(d, "certs")
    os.makedirs(certdir, exist_ok=True)
    for x in devs:
        shutil.copy(x.cert, os.path.join(certdir, x.id + ".crt"))
        shutil.copy(x.key, os.path.join(certdir, x.id + ".key"))
    exe = os.path.join(os.path.dirname(os.environ["IOTCLOUD_BIN"]), "devsim")
    p = subprocess.Popen([exe, "--host", "127.0.0.1", "--port", str(srv.tls_port), "--cafile",
                          srv.cafile, "--certdir", certdir, "--shadow-window", str(a.window),
                          "--rate", "1000"], stderr=subprocess.PIPE, text=True)
    samples = []
    cpu0 = cpu_s(srv.proc.pid)
    t_end = time.time() + 2 + a.duration + 1
    try:
        for line in p.stderr:
            c = devsim_counts(line)
            if c:
                samples.append((time.time(), c))
            if time.time() >= t_end:
                break
    finally:
        p.terminate()
        p.wait(timeout=30)
    server_cpu = cpu_s(srv.proc.pid) - cpu0
    # the window: from the sample 2 s in to the last one
    t0 = samples[0][0] + 2
    first = next(s for s in samples if s[0] >= t0)
    last = samples[-1]
    dt = last[0] - first[0]
    acc = last[1][0] - first[1][0]
    return {"client": "devsim", "devices": a.devices, "window": a.window,
            "duration_s": dt, "accepted_per_s": acc / dt,
            "deltas_per_s": (last[1][1] - first[1][1]) / dt,
            "rejected": last[1][2], "server_cpu_s": server_cpu,
            "server_cpu_us_per_update": server_cpu * 1e6 / max(1, last[1][0])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=8)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--json")
    ap.add_argument("--devsim", action="store_true", help="C devices (throughput only)")
    a = ap.parse_args()
    srv = DeviceServer()
    user = srv.add_user(uname("bench"))
    srv.start()
    d = scratch_dir()
    try:
        api = Api(srv)
        tok = api.login(user)
        devs = [register_device(api, tok, d) for _ in range(a.devices)]
        if a.devsim:
            out = run_devsim(srv, devs, d, a)
            print(json.dumps(out, indent=1))
            if a.json:
                with open(a.json, "w") as f:
                    json.dump(out, f)
            return
        q = mp.Queue()
        groups = [[(x.id, x.cert, x.key) for x in devs[i::a.procs]] for i in range(a.procs)]
        ps = [mp.Process(target=worker, args=(srv.tls_port, srv.cafile, g, a.window,
                                              a.duration, q)) for g in groups if g]
        cpu0 = cpu_s(srv.proc.pid)
        for p in ps:
            p.start()
        res = [q.get(timeout=a.duration + 120) for _ in ps]
        # the server's CPU over the whole run (connect and warm-up included)
        server_cpu = cpu_s(srv.proc.pid) - cpu0
        for p in ps:
            p.join()
        acc = sum(r["accepted"] for r in res)
        lat = [x for r in res for x in r["lat"]]
        out = {"devices": a.devices, "procs": a.procs, "window": a.window,
               "duration_s": a.duration,
               "accepted_per_s": acc / a.duration,
               "deltas_per_s": sum(r["delta"] for r in res) / a.duration,
               "rejected": sum(r["rejected"] for r in res),
               "rejected_example": next((r["why"] for r in res if r.get("why")), None),
               "p50_ms": pct(lat, 50) * 1000, "p99_ms": pct(lat, 99) * 1000,
               "server_cpu_s": server_cpu,
               "server_cpu_us_per_update": server_cpu * 1e6 / max(1, acc)}
        print(json.dumps(out, indent=1))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(out, f)
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
