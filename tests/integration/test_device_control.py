"""Device control over REST (docs/device-control.md): the HTTP request becomes an MQTT request
to the device and its answer comes back, in-process. Real TLS on both sides: curl for the
REST calls, bench/devsim (and its test switches) as the devices, registered with secrets.

  ControlCase   every alias, errors, offline/timeout/malformed/legacy, concurrency, owners,
                wait_online_ms, presence in the device views
  BusyCase      a small per-device window and queue: 429 with Retry-After
"""

import json
import os
import shutil
import threading
import time
import unittest
import unittest.mock
import uuid

from device_harness import TwoUserCase, register_device
from harness import HOST, iotcloud_only, sanitizer_findings
from test_devsim import DeviceProc, devsim_bin

UP = 15.0


class ControlBase(TwoUserCase):
    @classmethod
    def setUpClass(cls):
        cls.devsim = devsim_bin()
        super().setUpClass()

    def setUp(self):
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            rc, out = p.stop()
            self.assertEqual(rc, 0, out)
            self.assertEqual(sanitizer_findings(out), [], out)
        self.srv.assert_running()
        self.assertEqual(sanitizer_findings(self.srv.stderr_text()), [])

    # ---- helpers -----------------------------------------------------------------------

    def call(self, method, path, body=None, token=None, headers=()):
        return self.api.call(method, path, body, token=token or self.token, headers=headers)

    def device(self):
        """A registered device with a secret: (id, name, secret)."""
        dev = register_device(self.api, self.token, self.dir)
        r = self.call("POST", "/v1/devices/%s/secret" % dev.id)
        self.assertEqual(r.status, 201, r.raw)
        return dev.id, dev.reg["name"], r.json["secret"]

    def run_devsim(self, devs, *extra):
        path = os.path.join(self.dir, uuid.uuid4().hex + ".secrets")
        with open(path, "w") as f:
            for d in devs:
                f.write("%s %s\n" % (d[0], d[2]))
        p = DeviceProc([self.devsim, "--host", HOST, "--port", str(self.srv.tls_port),
                        "--cafile", self.srv.cafile, "--secrets", path] + list(extra))
        self.procs.append(p)
        return p

    def wait_online(self, dev_id, online=True):
        deadline = time.monotonic() + UP
        while time.monotonic() < deadline:
            r = self.call("GET", "/v1/devices/" + dev_id)
            self.assertEqual(r.status, 200, r.raw)
            if r.json["online"] == online:
                return r.json
            time.sleep(0.05)
        self.fail("device %s never became online=%s" % (dev_id, online))

    def started(self, *extra):
        d = self.device()
        self.run_devsim([d], *extra)
        self.wait_online(d[0])
        return d

    def ok(self, method, path, body=None):
        r = self.call(method, path, body)
        self.assertEqual(r.status, 200, r.raw)
        self.assertIsInstance(r.json["latency_us"], int)
        self.assertGreaterEqual(r.json["latency_us"], 0)
        return r.json

    def parallel(self, calls):
        """Runs [(method, path, body)] at once; the replies in the same order."""
        out = [None] * len(calls)

        def one(i, c):
            out[i] = self.call(*c)

        ts = [threading.Thread(target=one, args=(i, c)) for i, c in enumerate(calls)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        return out


@iotcloud_only("device control is iotcloud's")
class ControlCase(ControlBase):
    def test_every_alias(self):
        dev_id, name, _ = self.started()
        base = "/v1/devices/" + dev_id
        self.assertEqual(self.ok("GET", base + "/gpio/3"), {"number": 3, "value": 0,
                                                             "latency_us": unittest.mock.ANY})
        self.assertEqual(self.ok("PUT", base + "/gpio/3", {"value": 1})["value"], 1)
        self.assertEqual(self.ok("GET", base + "/gpio/3")["value"], 1)
        rtc = self.ok("GET", base + "/rtc")["value"]
        self.assertIsInstance(rtc, int)
        self.assertEqual(self.ok("PUT", base + "/rtc", {"value": 1767225600})["value"],
                         1767225600)
        net = {}
        for k in ("mac", "ip", "subnet", "gateway"):
            net[k] = self.ok("GET", base + "/" + k)["value"]
            self.assertIsInstance(net[k], str)
        self.assertRegex(net["mac"], r"^02:00:5e(:[0-9a-f]{2}){3}$")
        self.assertEqual(net["subnet"], "255.0.0.0")
        both = self.ok("GET", base + "/network")
        self.assertEqual({k: both[k] for k in net}, net)
        self.assertEqual(self.ok("GET", base + "/status")["value"], "running")
        self.assertEqual(self.ok("POST", base + "/uart", {"value": "hello\n"})["value"], "hello\n")
        n = self.ok("POST", base + "/notifications", {"recipient": "ops@example.com",
                                                      "message": "door open"})
        self.assertEqual((n["recipient"], n["message"]), ("ops@example.com", "door open"))
        g = self.ok("POST", base + "/commands/get_gpio", {"params": {"number": 2}})
        self.assertEqual((g["number"], g["value"]), (2, 0))
        self.assertEqual(self.ok("POST", base + "/commands/get_mac")["value"], net["mac"])
        # by name, like other device routes
        self.assertEqual(self.ok("GET", "/v1/devices/%s/ip" % name)["value"], net["ip"])
        self.assertEqual(self.ok("PUT", base + "/status", {"value": "restart"})["value"],
                         "restarting")

    def test_presence_in_views(self):
        d = self.device()
        v = self.call("GET", "/v1/devices/" + d[0]).json
        self.assertEqual((v["online"], v["connected_at"], v["last_seen"]), (False, None, None))
        p = self.run_devsim([d])
        v = self.wait_online(d[0])
        self.assertIsInstance(v["connected_at"], int)
        self.assertGreaterEqual(v["last_seen"], v["connected_at"])
        r = self.call("GET", "/v1/devices?name=" + d[1])
        self.assertEqual(r.status, 200, r.raw)
        mine = [x for x in r.json["devices"] if x["id"] == d[0]]
        self.assertEqual(len(mine), 1, r.raw)
        self.assertTrue(mine[0]["online"])
        self.procs.remove(p)
        self.assertEqual(p.stop()[0], 0)
        v = self.wait_online(d[0], online=False)
        self.assertIsNone(v["connected_at"])
        self.assertIsInstance(v["last_seen"], int)
        # offline now: 503 at once with last_seen
        t0 = time.monotonic()
        r = self.call("GET", "/v1/devices/%s/mac" % d[0])
        self.assertLess(time.monotonic() - t0, 3.0)
        self.assertEqual(r.status, 503, r.raw)
        self.assertEqual(r.json["error"]["code"], "device_offline")
        self.assertEqual(r.json["last_seen"], v["last_seen"])

    def test_never_connected_is_503(self):
        d = self.device()
        r = self.call("GET", "/v1/devices/%s/rtc?timeout_ms=30000" % d[0])
        self.assertEqual(r.status, 503, r.raw)
        self.assertIsNone(r.json["last_seen"])

    def test_device_errors_are_422(self):
        dev_id = self.started()[0]
        r = self.call("GET", "/v1/devices/%s/gpio/99" % dev_id)
        self.assertEqual(r.status, 422, r.raw)
        self.assertEqual(r.json["error"]["code"], "bad_gpio")
        self.assertIn("message", r.json["error"])
        r = self.call("POST", "/v1/devices/%s/commands/no_such_api" % dev_id)
        self.assertEqual(r.status, 422, r.raw)
        self.assertEqual(r.json["error"]["code"], "unknown_api")
        r = self.call("PUT", "/v1/devices/%s/status" % dev_id, {"value": "explode"})
        self.assertEqual((r.status, r.json["error"]["code"]), (422, "bad_value"))

    def test_bad_requests_are_400(self):
        dev_id = self.started()[0]
        base = "/v1/devices/" + dev_id
        for method, path, body in [
                ("PUT", base + "/gpio/3", {"value": 2}),
                ("PUT", base + "/gpio/x", {"value": 1}),
                ("PUT", base + "/rtc", {"value": "soon"}),
                ("POST", base + "/uart", {}),
                ("POST", base + "/notifications", {"recipient": "a@b.c"}),
                ("POST", base + "/commands/get_gpio", {"params": 3}),
                ("GET", base + "/mac?timeout_ms=50", None),
                ("GET", base + "/mac?timeout_ms=30001", None),
                ("GET", base + "/mac?wait_online_ms=30001", None),
                ("GET", base + "/mac?wait_online_ms=-1", None)]:
            r = self.call(method, path, body)
            self.assertEqual(r.status, 400, (path, r.raw))

    def test_other_users_device_is_404(self):
        dev_id, name, _ = self.started()
        for path in ("/v1/devices/%s/mac" % dev_id, "/v1/devices/%s/mac" % name,
                     "/v1/devices/d000000000000000000000000/mac", "/v1/devices/nosuch/mac"):
            r = self.call("GET", path, token=self.other_token)
            self.assertEqual(r.status, 404, r.raw)
        self.assertEqual(self.call("GET", "/v1/devices/%s/mac" % dev_id).status, 200)

    def test_timeout_is_504(self):
        dev_id = self.started("--reply-delay-ms", "1500")[0]
        r = self.call("GET", "/v1/devices/%s/rtc?timeout_ms=300" % dev_id)
        self.assertEqual(r.status, 504, r.raw)
        self.assertEqual(r.json["error"]["code"], "timeout")
        # the late answer goes nowhere; the device still answers the next caller
        self.assertIsInstance(self.ok("GET", "/v1/devices/%s/rtc" % dev_id)["value"], int)

    def test_malformed_answer_is_502(self):
        dev_id = self.started("--malformed-every", "1")[0]
        r = self.call("GET", "/v1/devices/%s/mac" % dev_id)
        self.assertEqual(r.status, 502, r.raw)
        self.assertEqual(r.json["error"]["code"], "bad_answer")

    def test_legacy_device(self):
        dev_id = self.started("--legacy")[0]
        base = "/v1/devices/" + dev_id
        self.assertEqual(self.ok("GET", base + "/gpio/5")["number"], 5)
        # one in flight per (device, api): concurrent calls still get their own answers
        rs = self.parallel([("GET", base + "/gpio/%d" % i, None) for i in range(6)]
                           + [("GET", base + "/mac", None), ("GET", base + "/ip", None)])
        for i in range(6):
            self.assertEqual(rs[i].status, 200, rs[i].raw)
            self.assertEqual(rs[i].json["number"], i)
        self.assertRegex(rs[6].json["value"], r"^02:00:5e")
        self.assertRegex(rs[7].json["value"], r"^10\.")
        # legacy errors are silence: a timeout
        r = self.call("GET", base + "/gpio/99?timeout_ms=300")
        self.assertEqual(r.status, 504, r.raw)

    def test_legacy_late_answer_never_reaches_the_next_caller(self):
        dev_id = self.started("--legacy", "--reply-delay-ms", "700")[0]
        base = "/v1/devices/" + dev_id
        r = self.call("GET", base + "/gpio/3?timeout_ms=200")
        self.assertEqual(r.status, 504, r.raw)
        # the device answers gpio 3 late (about 500 ms from now): not this caller's answer
        r = self.call("GET", base + "/gpio/4")
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(r.json["number"], 4)

    def test_concurrent_calls_answered_exactly(self):
        dev_id = self.started()[0]
        base = "/v1/devices/" + dev_id
        texts = ["text-%d-%s" % (i, uuid.uuid4().hex[:6]) for i in range(20)]
        rs = self.parallel([("POST", base + "/uart", {"value": t}) for t in texts])
        for t, r in zip(texts, rs):
            self.assertEqual(r.status, 200, r.raw)
            self.assertEqual(r.json["value"], t)

    def test_wait_online(self):
        d = self.device()
        out = {}

        def call():
            t0 = time.monotonic()
            out["r"] = self.call("GET", "/v1/devices/%s/mac?wait_online_ms=20000&timeout_ms=25000"
                                 % d[0])
            out["t"] = time.monotonic() - t0

        t = threading.Thread(target=call)
        t.start()
        time.sleep(0.7)
        self.assertTrue(t.is_alive())  # waiting for the device, not answered 503
        self.run_devsim([d])
        t.join(30)
        self.assertEqual(out["r"].status, 200, out["r"].raw)
        self.assertRegex(out["r"].json["value"], r"^02:00:5e")
        # a device that never comes: 503 once the wait is over
        d2 = self.device()
        r = self.call("GET", "/v1/devices/%s/mac?wait_online_ms=300" % d2[0])
        self.assertEqual(r.status, 503, r.raw)


@iotcloud_only("device control is iotcloud's")
class BusyCase(ControlBase):
    EXTRA = ("--device-max-inflight", "1", "--device-max-queued", "2")

    def test_queue_full_is_429(self):
        dev_id = self.started("--reply-delay-ms", "800")[0]
        rs = self.parallel([("GET", "/v1/devices/%s/gpio/%d" % (dev_id, i), None)
                            for i in range(8)])
        codes = sorted(r.status for r in rs)
        self.assertIn(429, codes, [r.raw for r in rs])
        self.assertIn(200, codes)
        for i, r in enumerate(rs):
            if r.status == 429:
                self.assertEqual(r.json["error"]["code"], "device_busy")
                self.assertTrue(int(r.headers["retry-after"]) >= 1, r.headers)
            else:
                self.assertEqual(r.status, 200, r.raw)
                self.assertEqual(r.json["number"], i)


@iotcloud_only("device control is iotcloud's")
class ShutdownCase(ControlBase):
    def test_stop_with_calls_waiting(self):
        """Calls still waiting (offline device, slow device) end cleanly at shutdown."""
        waiting = self.device()
        slow = self.started("--reply-delay-ms", "20000")
        done = []

        def call(path):
            try:
                done.append(self.call("GET", path).status)
            except AssertionError:  # the connection closed under it
                done.append("closed")

        ts = [threading.Thread(target=call, args=(p,)) for p in (
            "/v1/devices/%s/mac?wait_online_ms=20000&timeout_ms=30000" % waiting[0],
            "/v1/devices/%s/mac?timeout_ms=30000" % slow[0])]
        for t in ts:
            t.start()
        time.sleep(1.0)
        self.assertEqual(done, [])  # both still waiting
        for p in self.procs:
            p.stop()
        self.procs = []
        self.srv.stop()  # exit 0, no sanitizer report
        for t in ts:
            t.join(30)
        self.assertEqual(len(done), 2)

    def tearDown(self):
        pass

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
