#!/usr/bin/python3
"""Telemetry probes for bench/telemetry.sh (docs/benchmarks.md "Telemetry").

  latency  one device (its certificate) publishes a reading with a fresh ts, QoS 1, and
           polls GET .../telemetry/latest on a keep-alive HTTPS connection until the
           reading is there: publish -> queryable, N times, under whatever load runs
  fill     writes DAYS days of one key at 1 point/s straight into the (stopped) server's
           database, with the rollups the server would have computed (the same SQL as
           the store's rebuild)
  query    times GET ...?keys=K&from=&to=&agg=avg&interval=1h over those DAYS days, N times

Prints one line of figures per run; exits non-zero when a probe never became visible.
"""
import argparse
import http.client
import json
import sqlite3
import ssl
import statistics
import sys
import time

import paho.mqtt.client as mqtt


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def https(a):
    ctx = ssl.create_default_context(cafile=a.cafile)
    return http.client.HTTPSConnection("127.0.0.1", a.https_port, context=ctx, timeout=30)


def get(conn, path, token):
    conn.request("GET", path, headers={"Authorization": "Bearer " + token})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit("GET %s: %d %s" % (path, r.status, body[:200]))
    return json.loads(body)


def latency(a, token):
    ctx = ssl.create_default_context(cafile=a.cafile)
    ctx.load_cert_chain(a.cert, a.key)
    c = mqtt.Client(client_id=a.device, protocol=mqtt.MQTTv311)
    c.tls_set_context(ctx)
    c.connect("127.0.0.1", a.mqtt_port, 60)
    c.loop_start()
    conn = https(a)
    path = "/v1/devices/%s/telemetry/latest" % a.device
    lat = []
    for i in range(a.n):
        ts = int(time.time() * 1000)
        t0 = time.monotonic()
        c.publish("server/%s/telemetry" % a.device, json.dumps({"ts": ts, "probe": i}), qos=1)
        while True:
            got = get(conn, path, token)["latest"].get("probe")
            if got and got["ts"] == ts:
                lat.append(time.monotonic() - t0)
                break
            if time.monotonic() - t0 > 30:
                raise SystemExit("probe %d never became queryable" % i)
            time.sleep(0.002)
        time.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))
    c.loop_stop()
    print("publish->queryable over %d probes: p50 %.1f ms, p99 %.1f ms, max %.1f ms"
          % (len(lat), pct(lat, 50) * 1e3, pct(lat, 99) * 1e3, max(lat) * 1e3))


def fill(a):
    db = sqlite3.connect(a.db)
    end = int(time.time()) * 1000 // 3600000 * 3600000
    start = end - a.days * 86400000
    t0 = time.monotonic()
    rows = ((a.device, a.keyname, ts, 20.0 + (ts // 1000) % 100 / 10.0)
            for ts in range(start, end, 1000))
    db.execute("BEGIN")
    db.executemany("INSERT OR IGNORE INTO telemetry (device_id, key, ts, v) VALUES (?,?,?,?)",
                   rows)
    for res in (60000, 3600000):
        db.execute(
            "INSERT OR REPLACE INTO telemetry_rollup (device_id, key, res, bucket, cnt, vsum,"
            " vmin, vmax, vlast, last_ts) SELECT g.device_id, g.key, ?2, g.b, g.c, g.s, g.mn,"
            " g.mx, t.v, g.lts FROM (SELECT device_id, key, (ts / ?2) * ?2 AS b, count(*) AS c,"
            " sum(v) AS s, min(v) AS mn, max(v) AS mx, max(ts) AS lts FROM telemetry"
            " WHERE device_id = ?1 AND key = ?3 GROUP BY key, b) AS g JOIN telemetry AS t"
            " ON t.device_id = g.device_id AND t.key = g.key AND t.ts = g.lts",
            (a.device, res, a.keyname))
    db.execute("COMMIT")
    n = db.execute("SELECT count(*) FROM telemetry WHERE device_id = ? AND key = ?",
                   (a.device, a.keyname)).fetchone()[0]
    db.close()
    print("filled %d points (%d days of %s at 1/s) in %.1f s; from=%d to=%d"
          % (n, a.days, a.keyname, time.monotonic() - t0, start, end))


def query(a, token):
    end = int(time.time()) * 1000 // 3600000 * 3600000
    start = end - a.days * 86400000
    conn = https(a)
    path = ("/v1/devices/%s/telemetry?keys=%s&from=%d&to=%d&agg=avg&interval=1h&limit=10000"
            % (a.device, a.keyname, start, end))
    got = get(conn, path, token)  # warm: first connection and page cache
    buckets = len(got["series"][a.keyname])
    lat = []
    for _ in range(a.n):
        t0 = time.monotonic()
        get(conn, path, token)
        lat.append(time.monotonic() - t0)
    print("agg=avg interval=1h over %d days (%d buckets), %d queries on one keep-alive HTTPS"
          " connection: p50 %.2f ms, p99 %.2f ms, max %.2f ms, mean %.2f ms"
          % (a.days, buckets, len(lat), pct(lat, 50) * 1e3, pct(lat, 99) * 1e3,
             max(lat) * 1e3, statistics.mean(lat) * 1e3))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["latency", "fill", "query"])
    p.add_argument("--https-port", type=int)
    p.add_argument("--mqtt-port", type=int)
    p.add_argument("--cafile")
    p.add_argument("--token-file")
    p.add_argument("--device")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--db")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--keyname", default="month")
    p.add_argument("-n", type=int, default=100)
    a = p.parse_args()
    token = open(a.token_file).read().strip() if a.token_file else ""
    {"latency": lambda: latency(a, token), "fill": lambda: fill(a),
     "query": lambda: query(a, token)}[a.mode]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
