"""Device telemetry (docs/telemetry.md): devices publish on server/{id}/telemetry with their
own certificates (mosquitto_pub, paho); users read it over REST (curl) and MQTT (paho with
their access token).

  TelemetryCase  raw and aggregated queries, latest, range delete, bad payloads counted in
                 the device's events, bad query values (400 naming them), isolation between
                 owners (404), live values to the owner's apps, the per-device key limit
  QuotaCase      per-device and per-owner points per day: a message beyond is refused
                 whole, the first refusal of a day is a device event
  RestartCase    points visible to a query (committed) survive a clean stop and a kill -9
  LogsCase       device log lines (server/{id}/log): text and JSON, filters, truncation
                 with a marker, the per-device rate limit, bad lines as events, 404
"""

import json
import subprocess
import time
import unittest

from device_harness import TwoUserCase, mqtt_client, register_device, uname
from harness import iotcloud_only

WAIT = 15.0
H = 3600000
D = 86400000
# A day boundary (so hour buckets fall in one day) inside telemetry-retention (30 days):
# older points are trimmed by the ingest's retention pass at a moment that depends on the
# device id's hash, which made range tests flaky.
T0 = (int(time.time() * 1000) - 10 * D) // D * D


class Base(TwoUserCase):
    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.assert_running()

    def device(self, token=None):
        return register_device(self.api, token or self.token, self.dir)

    def pub(self, dev, payload, qos=1, api="telemetry"):
        """Publishes @payload as the device with mosquitto_pub (its certificate)."""
        if not isinstance(payload, str):
            payload = json.dumps(payload)
        p = subprocess.run(["mosquitto_pub", "-h", "localhost", "-p", str(self.srv.tls_port),
                            "--cafile", self.srv.cafile, "--cert", dev.cert, "--key", dev.key,
                            "-i", dev.id, "-q", str(qos), "-t", "server/%s/%s" % (dev.id, api),
                            "-m", payload], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)

    def get(self, dev_id, query="", token=None, status=200, path="telemetry"):
        r = self.api.call("GET", "/v1/devices/%s/%s%s" % (dev_id, path, query),
                          token=token or self.token)
        self.assertEqual(r.status, status, r.raw)
        return r.json

    def wait_series(self, dev_id, key, n, query=""):
        """The series @key once it holds @n points (ingestion is asynchronous)."""
        q = query or "?keys=%s&from=0" % key
        deadline = time.monotonic() + WAIT
        while True:
            got = self.get(dev_id, q)["series"].get(key, [])
            if len(got) >= n or time.monotonic() > deadline:
                self.assertEqual(len(got), n, got)
                return got
            time.sleep(0.05)


@iotcloud_only("telemetry is iotcloud's")
class TelemetryCase(Base):
    def test_raw_types_batch_and_latest(self):
        dev = self.device()
        self.pub(dev, {"ts": T0 + 1000, "temp": 21.5, "on": True, "mode": "eco"})
        self.pub(dev, [{"ts": T0 + 2000, "values": {"temp": 22}},
                       {"ts": T0 + 3000, "values": {"temp": 23.25, "on": False}}])
        self.pub(dev, {"temp": 30})  # no ts: stamped on arrival
        temp = self.wait_series(dev.id, "temp", 4)
        self.assertEqual(temp[:3], [{"ts": T0 + 1000, "v": 21.5}, {"ts": T0 + 2000, "v": 22.0},
                                    {"ts": T0 + 3000, "v": 23.25}])
        self.assertEqual(temp[3]["v"], 30.0)
        self.assertLess(abs(temp[3]["ts"] - time.time() * 1000), 60000)
        got = self.get(dev.id, "?keys=on,mode&from=%d&to=%d" % (T0, T0 + 5000))["series"]
        self.assertEqual(got["on"], [{"ts": T0 + 1000, "v": True}, {"ts": T0 + 3000, "v": False}])
        self.assertEqual(got["mode"], [{"ts": T0 + 1000, "v": "eco"}])
        # from/to bound the range; limit the count; no keys= means every key
        got = self.get(dev.id, "?keys=temp&from=%d&to=%d&limit=1" % (T0 + 1500, T0 + 9999))
        self.assertEqual(got["series"]["temp"], [{"ts": T0 + 2000, "v": 22.0}])
        self.assertEqual(sorted(self.get(dev.id, "?from=0")["series"]), ["mode", "on", "temp"])
        # default window: the last 24 h only
        self.assertEqual(len(self.get(dev.id, "?keys=temp")["series"]["temp"]), 1)
        latest = self.get(dev.id, path="telemetry/latest")
        self.assertEqual(latest["device"], dev.id)
        self.assertEqual(latest["latest"]["temp"]["v"], 30.0)
        self.assertEqual(latest["latest"]["on"], {"ts": T0 + 3000, "v": False})
        # the device's name works like its id
        named = self.get(dev.reg["name"], path="telemetry/latest")
        self.assertEqual(named["latest"], latest["latest"])

    def test_aggregates(self):
        dev = self.device()
        # hour 0: 1, 2, 3, 10 (minutes 0, 0, 1, 59); hour 1: 5; hour 2: nothing; hour 3: 7
        pts = [(T0, 1), (T0 + 30000, 2), (T0 + 60000, 3), (T0 + 59 * 60000, 10),
               (T0 + H + 5, 5), (T0 + 3 * H, 7)]
        self.pub(dev, [{"ts": t, "values": {"x": v}} for t, v in pts])
        self.wait_series(dev.id, "x", 6)
        base = "?keys=x&from=%d&to=%d" % (T0, T0 + 4 * H)

        def agg(fn, iv):
            s = self.get(dev.id, base + "&agg=%s&interval=%s" % (fn, iv))
            self.assertEqual(s["agg"], fn)
            return [(p["ts"], p["v"]) for p in s["series"]["x"]]

        self.assertEqual(agg("avg", "1h"), [(T0, 4.0), (T0 + H, 5.0), (T0 + 3 * H, 7.0)])
        self.assertEqual(agg("sum", "1h"), [(T0, 16.0), (T0 + H, 5.0), (T0 + 3 * H, 7.0)])
        self.assertEqual(agg("count", "1h"), [(T0, 4), (T0 + H, 1), (T0 + 3 * H, 1)])
        self.assertEqual(agg("min", "1d"), [(T0, 1.0)])
        self.assertEqual(agg("max", "1d"), [(T0, 10.0)])
        self.assertEqual(agg("last", "1h")[0], (T0, 10.0))
        self.assertEqual(agg("avg", "1m")[:3], [(T0, 1.5), (T0 + 60000, 3.0),
                                                 (T0 + 59 * 60000, 10.0)])
        self.assertEqual(agg("sum", "5m")[:2], [(T0, 6.0), (T0 + 55 * 60000, 10.0)])
        s = self.get(dev.id, base + "&agg=avg&interval=1h&limit=2")["series"]["x"]
        self.assertEqual(len(s), 2)

    def test_delete_range(self):
        dev = self.device()
        self.pub(dev, [{"ts": T0 + i * 1000, "values": {"a": i, "b": -i}} for i in range(10)])
        self.wait_series(dev.id, "a", 10)
        self.wait_series(dev.id, "b", 10)  # a batch may split a message's points
        r = self.api.call("DELETE", "/v1/devices/%s/telemetry?from=%d&to=%d"
                          % (dev.id, T0 + 2000, T0 + 5000), token=self.token)
        self.assertEqual((r.status, r.json), (200, {"deleted": 6}), r.raw)
        a = [p["v"] for p in self.get(dev.id, "?keys=a&from=0")["series"]["a"]]
        self.assertEqual(a, [0, 1, 5, 6, 7, 8, 9])
        s = self.get(dev.id, "?keys=a&from=%d&to=%d&agg=count&interval=1h" % (T0, T0 + H))
        self.assertEqual(s["series"]["a"], [{"ts": T0, "v": 7}])
        r = self.api.call("DELETE", "/v1/devices/%s/telemetry" % dev.id, token=self.token)
        self.assertEqual((r.status, r.json), (200, {"deleted": 14}), r.raw)
        self.assertEqual(self.get(dev.id, path="telemetry/latest")["latest"], {})
        r = self.api.call("DELETE", "/v1/devices/%s/telemetry?from=5&to=5" % dev.id,
                          token=self.token)
        self.assertEqual((r.status, r.json["error"]["field"]), (400, "from"), r.raw)

    def test_bad_payloads_counted_in_events_never_stored(self):
        dev = self.device()
        bad = ["not json", '{"t": null}', '{"ts": "yesterday", "t": 1}', '{"a b": 1}', "{}",
               '[{"values": 3}]']
        for b in bad:
            self.pub(dev, b)
        self.pub(dev, {"ts": T0, "t": 1})  # after the bad ones: the device still flows
        self.wait_series(dev.id, "t", 1)
        deadline = time.monotonic() + WAIT
        while True:
            ev = self.get(dev.id, "?limit=100", path="events")["events"]
            rej = [e["reason"] for e in ev if e["kind"] == "telemetry_rejected"]
            if len(rej) >= len(bad) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(sorted(rej), sorted(["bad_json", "bad_value: t", "bad_ts",
                                              "bad_key: a b", "empty", "bad_json: values"]))
        self.assertEqual(sorted(self.get(dev.id, "?from=0")["series"]), ["t"])

    def test_bad_queries_name_the_field(self):
        dev = self.device()
        for q, field in [("?agg=median&interval=1h", "agg"), ("?agg=avg&interval=2m", "interval"),
                         ("?agg=avg", "interval"), ("?interval=1h", "agg"),
                         ("?keys=a%20b", "keys"), ("?keys=a,,b", "keys"), ("?keys=a,", "keys"),
                         ("?keys=" + ",".join("k%d" % i for i in range(33)), "keys"),
                         ("?from=10&to=10", "from"), ("?from=-1", "from"), ("?to=x", "to"),
                         ("?limit=0", "limit"), ("?limit=10001", "limit")]:
            r = self.api.call("GET", "/v1/devices/%s/telemetry%s" % (dev.id, q), token=self.token)
            self.assertEqual(r.status, 400, q + ": " + r.raw.decode(errors="replace"))
            self.assertEqual(r.json["error"]["field"], field, q)

    def test_other_owner_sees_404(self):
        dev = self.device()
        self.pub(dev, {"ts": T0, "t": 1})
        self.wait_series(dev.id, "t", 1)
        for method, path in [("GET", "telemetry?from=0"), ("GET", "telemetry/latest"),
                             ("DELETE", "telemetry")]:
            r = self.api.call(method, "/v1/devices/%s/%s" % (dev.id, path),
                              token=self.other_token)
            self.assertEqual(r.status, 404, r.raw)
        self.assertEqual(self.get("nosuchdevice", status=404)["error"]["code"], "not_found")
        self.wait_series(dev.id, "t", 1)  # the other user's DELETE did nothing

    def test_live_values_to_the_owner_app_only(self):
        dev = self.device()
        app = mqtt_client(self.srv, uname("app"), username=self.user, password=self.token)
        self.clients.append(app)
        self.assertEqual(app.connect()[0], 0)
        self.assertEqual(app.subscribe("server/%s/telemetry" % dev.id, 1), [1])
        spy = mqtt_client(self.srv, uname("spy"), username=self.other, password=self.other_token)
        self.clients.append(spy)
        self.assertEqual(spy.connect()[0], 0)
        self.assertEqual(spy.subscribe("server/%s/telemetry" % dev.id, 1), [0x80])
        d = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile))
        self.clients.append(d)
        self.assertEqual(d.connect()[0], 0)
        d.publish("server/%s/telemetry" % dev.id, b'{"rpm": 1200}', qos=1)
        got = app.wait_messages(1)
        self.assertEqual(got[0].payload, b'{"rpm": 1200}')
        self.assertEqual(self.wait_series(dev.id, "rpm", 1)[0]["v"], 1200.0)
        spy.assert_no_messages()


@iotcloud_only("telemetry is iotcloud's")
class KeyLimitCase(Base):
    EXTRA = ("--telemetry-max-keys", "2", "--telemetry-max-points", "3")

    def test_limits(self):
        dev = self.device()
        self.pub(dev, {"ts": T0, "a": 1, "b": 2})
        self.pub(dev, {"ts": T0 + 1, "a": 3, "c": 4})  # c would be a third series
        self.pub(dev, {"ts": T0 + 2, "a": 1, "b": 2, "d": 3, "e": 4})  # 4 points > 3
        self.wait_series(dev.id, "a", 2)
        got = self.get(dev.id, "?from=0")["series"]
        self.assertEqual(sorted(got), ["a", "b"])
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            ev = self.get(dev.id, path="events")["events"]
            if any(e["reason"] == "too_many: e" for e in ev):
                break
            time.sleep(0.05)
        self.assertIn("too_many: e", [e["reason"] for e in ev])


@iotcloud_only("telemetry is iotcloud's")
class QuotaCase(Base):
    EXTRA = ("--telemetry-device-points-per-day", "5", "--telemetry-owner-points-per-day", "8")

    def quota_events(self, dev_id, n):
        deadline = time.monotonic() + WAIT
        while True:
            ev = self.get(dev_id, "?limit=100", path="events")["events"]
            got = [e["reason"] for e in ev if e["kind"] == "telemetry_quota"]
            if len(got) >= n or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    def test_device_and_owner_day_quotas(self):
        a, b = self.device(), self.device()
        self.pub(a, {"ts": T0, "x": 1, "y": 1, "z": 1})  # 3 of 5
        self.pub(a, {"ts": T0 + 1, "x": 2, "y": 2, "z": 2})  # 6 > 5: refused whole
        self.pub(a, {"ts": T0 + 2, "x": 3, "y": 3})  # 5 of 5
        self.pub(a, {"ts": T0 + 3, "x": 4})  # refused again: no second event
        self.wait_series(a.id, "x", 2)
        self.assertEqual([p["ts"] for p in self.get(a.id, "?keys=x&from=0")["series"]["x"]],
                         [T0, T0 + 2])
        self.assertEqual(self.quota_events(a.id, 1), ["device_day: 5"])
        # the owner has 5 of 8 left to b's messages
        self.pub(b, {"ts": T0, "x": 1, "y": 1})  # owner 7 of 8
        self.pub(b, {"ts": T0 + 1, "x": 2, "y": 2})  # owner 9 > 8: refused
        self.pub(b, {"ts": T0 + 2, "x": 3})  # owner 8 of 8
        self.wait_series(b.id, "x", 2)
        self.assertEqual(self.quota_events(b.id, 1), ["owner_day: 8"])
        # another owner's device is not held by this owner's quota
        c = self.device(self.other_token)
        self.pub(c, {"ts": T0, "x": 1, "y": 1, "z": 1})
        r = self.api.call("GET", "/v1/devices/%s/telemetry?keys=x&from=0" % c.id,
                          token=self.other_token)
        deadline = time.monotonic() + WAIT
        while not r.json["series"].get("x") and time.monotonic() < deadline:
            time.sleep(0.05)
            r = self.api.call("GET", "/v1/devices/%s/telemetry?keys=x&from=0" % c.id,
                              token=self.other_token)
        self.assertEqual(len(r.json["series"]["x"]), 1)


@iotcloud_only("telemetry is iotcloud's")
class RestartCase(Base):
    def test_committed_points_survive_stop_and_kill9(self):
        dev = self.device()
        self.pub(dev, [{"ts": T0 + i, "values": {"v": i}} for i in range(100)])
        self.wait_series(dev.id, "v", 100)
        self.assertEqual(self.srv.signal_and_wait(), 0)
        self.srv.start()
        self.token = self.api.login(self.user)
        self.assertEqual(len(self.get(dev.id, "?keys=v&from=0")["series"]["v"]), 100)
        # kill -9 right after the points became visible: visible means committed
        self.pub(dev, [{"ts": T0 + 1000 + i, "values": {"v": i}} for i in range(50)])
        self.wait_series(dev.id, "v", 150)
        self.srv.kill9()
        self.srv.start()
        self.token = self.api.login(self.user)
        self.assertEqual(len(self.get(dev.id, "?keys=v&from=0")["series"]["v"]), 150)
        s = self.get(dev.id, "?keys=v&from=%d&to=%d&agg=count&interval=1h" % (T0, T0 + H))
        self.assertEqual(s["series"]["v"], [{"ts": T0, "v": 150}])


@iotcloud_only("device logs are iotcloud's")
class LogsCase(Base):
    EXTRA = ("--device-log-rate", "5", "--device-log-line-max", "64")

    def logs(self, dev_id, query="", token=None, status=200):
        return self.get(dev_id, query, token=token, status=status, path="logs")

    def wait_logs(self, dev_id, n, query=""):
        deadline = time.monotonic() + WAIT
        while True:
            got = self.logs(dev_id, query)["logs"]
            if len(got) >= n or time.monotonic() > deadline:
                self.assertEqual(len(got), n, got)
                return got
            time.sleep(0.05)

    def test_lines_filters_truncation(self):
        dev = self.device()
        self.pub(dev, "boot ok", api="log")
        self.pub(dev, {"level": "warn", "msg": "temp high", "ts": T0}, api="log")
        self.pub(dev, {"level": "error", "msg": "sensor 3 failed"}, api="log")
        self.pub(dev, "x" * 100, api="log")
        got = self.wait_logs(dev.id, 4)
        self.assertEqual([(x["level"], x["msg"][:15]) for x in got],
                         [("info", "x" * 15), ("error", "sensor 3 failed"), ("warn", "temp high"),
                          ("info", "boot ok")])
        self.assertEqual(len(got[0]["msg"]), 64)
        self.assertTrue(got[0]["msg"].endswith("...[truncated]"), got[0]["msg"])
        self.assertEqual(got[2]["ts"], T0)
        self.assertEqual([x["msg"] for x in self.logs(dev.id, "?level=warn")["logs"]],
                         ["sensor 3 failed", "temp high"])
        self.assertEqual([x["msg"] for x in self.logs(dev.id, "?q=temp")["logs"]], ["temp high"])
        self.assertEqual(len(self.logs(dev.id, "?since=%d" % (T0 + 1))["logs"]), 3)
        page = self.logs(dev.id, "?limit=3")
        self.assertEqual(len(page["logs"]), 3)
        rest = self.logs(dev.id, "?limit=3&cursor=%d" % page["next"])
        self.assertEqual(([x["msg"] for x in rest["logs"]], rest["next"]), (["boot ok"], None))
        for q, field in [("?level=loud", "level"), ("?since=x", "since"), ("?limit=0", "limit"),
                         ("?q=", "q")]:
            r = self.api.call("GET", "/v1/devices/%s/logs%s" % (dev.id, q), token=self.token)
            self.assertEqual((r.status, r.json["error"]["field"]), (400, field), q)
        self.logs(dev.id, token=self.other_token, status=404)

    def test_bad_lines_are_events(self):
        dev = self.device()
        self.pub(dev, '{"msg": 3}', api="log")
        self.pub(dev, '{"level": "loud", "msg": "x"}', api="log")
        deadline = time.monotonic() + WAIT
        while True:
            ev = [(e["kind"], e["reason"]) for e in self.get(dev.id, path="events")["events"]
                  if e["kind"] == "log_rejected"]
            if len(ev) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(sorted(ev), [("log_rejected", "bad_json"), ("log_rejected", "bad_level")])
        self.assertEqual(self.logs(dev.id)["logs"], [])

    def test_rate_limit_per_device(self):
        dev, calm = self.device(), self.device()
        d = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile))
        self.clients.append(d)
        self.assertEqual(d.connect()[0], 0)
        for i in range(20):  # burst of 5 allowed, then one note, the rest dropped
            d.publish("server/%s/log" % dev.id, b"line %d" % i, qos=1)
        self.pub(calm, "calm device unaffected", api="log")
        got = self.wait_logs(dev.id, 6)
        msgs = [x["msg"] for x in reversed(got)]
        self.assertEqual(msgs[:5], ["line %d" % i for i in range(5)])
        self.assertIn("dropped", msgs[5])
        self.assertEqual(got[0]["level"], "warn")
        self.wait_logs(calm.id, 1)
        time.sleep(0.5)
        self.assertEqual(len(self.logs(dev.id)["logs"]), 6)


if __name__ == "__main__":
    unittest.main()
