"""Idempotency-Key on device commands (api/idem.h) and cancelling a call whose client went
away. Real TLS both sides: curl for REST, a paho device that the test answers by hand, so
it can count what reached the device and hold an answer back.
"""

import json
import shutil
import subprocess
import threading
import time
import unittest

from device_harness import (Api, DeviceServer, TwoUserCase, mqtt_client, register_device,
                            scratch_dir, uname)
from harness import HOST, iotcloud_only, sanitizer_findings

UP = 15.0


class HandDevice:
    """A device on paho whose requests the test reads and answers itself."""

    def __init__(self, srv, dev_id, secret):
        self.id = dev_id
        self.c = mqtt_client(srv, dev_id, username=dev_id, password=secret)
        rc, _ = self.c.connect()
        assert rc == 0, rc
        self.c.subscribe(dev_id + "/#", 1)

    def requests(self):
        return [json.loads(m.payload) for m in self.c.messages]

    def wait_requests(self, n, timeout=UP):
        self.c.wait_for(lambda: len(self.c.messages) >= n, timeout, "%d request(s)" % n)
        return self.requests()

    def answer(self, req, value, api="set_gpio"):
        doc = {"rid": req["rid"], "value": value}
        self.c.c.publish("server/%s/%s" % (self.id, api), json.dumps(doc), qos=1)

    def close(self):
        self.c.c.disconnect()
        self.c.c.loop_stop()


@iotcloud_only("Idempotency-Key is iotcloud's")
class IdempotencyCase(TwoUserCase):
    def setUp(self):
        self.devices = []

    def tearDown(self):
        for d in self.devices:
            d.close()
        self.srv.assert_running()
        self.assertEqual(sanitizer_findings(self.srv.stderr_text()), [])

    def device(self, online=True):
        dev = register_device(self.api, self.token, self.dir)
        r = self.api.call("POST", "/v1/devices/%s/secret" % dev.id, token=self.token)
        self.assertEqual(r.status, 201, r.raw)
        secret = r.json["secret"]
        if online:
            self.connect(dev.id, secret)
        return dev.id, secret

    def connect(self, dev_id, secret):
        d = HandDevice(self.srv, dev_id, secret)
        self.devices.append(d)
        self.wait_online(dev_id)
        return d

    def wait_online(self, dev_id):
        deadline = time.monotonic() + UP
        while time.monotonic() < deadline:
            r = self.api.call("GET", "/v1/devices/" + dev_id, token=self.token)
            if r.status == 200 and r.json["online"]:
                return
            time.sleep(0.05)
        self.fail("device %s never came online" % dev_id)

    def post(self, dev_id, key, body=None, token=None, query=""):
        hs = ["Idempotency-Key: " + key] if key is not None else []
        return self.api.call("POST", "/v1/devices/%s/commands/set_gpio%s" % (dev_id, query),
                             body if body is not None else {"params": {"number": 5, "value": 1}},
                             token=token or self.token, headers=hs)

    def answer_next(self, d, n, value):
        reqs = d.wait_requests(n)
        d.answer(reqs[n - 1], value)

    def test_repeat_is_answered_from_the_first_call(self):
        dev_id, _ = self.device()
        d = self.devices[-1]
        key = "k-" + uname()
        first = self.call_answered(d, dev_id, key, 1, "first")
        self.assertEqual(first.status, 200, first.raw)
        self.assertEqual(first.json["value"], "first")
        self.assertNotIn("idempotent-replayed", first.headers)
        again = self.post(dev_id, key)
        self.assertEqual(again.status, 200, again.raw)
        self.assertEqual(again.raw, first.raw, "the replay is byte for byte the first answer")
        self.assertEqual(again.headers.get("idempotent-replayed"), "true")
        self.assertEqual(again.headers.get("cache-control"), "no-store")
        time.sleep(0.3)
        self.assertEqual(len(d.requests()), 1, "the device must have been asked once")
        # Without the key, or with another one, the device is asked again.
        fresh = self.call_answered(d, dev_id, "k-" + uname(), 2, "second")
        self.assertEqual(fresh.json["value"], "second")

    def call_answered(self, d, dev_id, key, n, value, body=None):
        """POSTs in a thread, answers the device's n-th request with @value."""
        out = {}
        t = threading.Thread(target=lambda: out.setdefault("r", self.post(dev_id, key, body)))
        t.start()
        self.answer_next(d, n, value)
        t.join(30)
        return out["r"]

    def test_same_key_other_request_is_422(self):
        dev_id, _ = self.device()
        d = self.devices[-1]
        key = "k-" + uname()
        self.assertEqual(self.call_answered(d, dev_id, key, 1, 1).status, 200)
        r = self.post(dev_id, key, {"params": {"number": 6, "value": 1}})
        self.assertEqual(r.status, 422, r.raw)
        self.assertEqual(r.json["error"]["code"], "idempotency_key_reused")
        r = self.post(dev_id, key, query="?timeout_ms=2000")
        self.assertEqual(r.status, 422, "the query is part of the request")

    def test_keys_belong_to_their_user(self):
        dev_id, _ = self.device()
        d = self.devices[-1]
        key = "k-" + uname()
        self.assertEqual(self.call_answered(d, dev_id, key, 1, 1).status, 200)
        r = self.post(dev_id, key, token=self.other_token)
        self.assertEqual(r.status, 404, "another user's key space: no replay of the owner's 200")
        self.assertNotIn("idempotent-replayed", r.headers)

    def test_running_request_gets_409(self):
        dev_id, _ = self.device()
        d = self.devices[-1]
        key = "k-" + uname()
        out = {}
        t = threading.Thread(target=lambda: out.setdefault("r", self.post(dev_id, key)))
        t.start()
        reqs = d.wait_requests(1)
        r = self.post(dev_id, key)
        self.assertEqual(r.status, 409, r.raw)
        self.assertEqual(r.json["error"]["code"], "idempotency_in_progress")
        self.assertEqual(r.headers.get("retry-after"), "1")
        d.answer(reqs[0], "done")
        t.join(30)
        self.assertEqual(out["r"].status, 200)
        self.assertEqual(self.post(dev_id, key).json["value"], "done")

    def test_offline_answer_is_not_kept(self):
        dev_id, secret = self.device(online=False)
        key = "k-" + uname()
        r = self.post(dev_id, key)
        self.assertEqual(r.status, 503, r.raw)
        d = self.connect(dev_id, secret)
        r = self.call_answered(d, dev_id, key, 1, "now")
        self.assertEqual(r.status, 200, "a 503 must not be replayed: " + r.raw.decode())
        self.assertNotIn("idempotent-replayed", r.headers)

    def test_bad_keys_are_400(self):
        dev_id, _ = self.device(online=False)
        for bad in ["x" * 256, "caf\u00e9".encode().decode("latin-1"), "a b"]:
            r = self.post(dev_id, bad)
            self.assertEqual(r.status, 400, (bad, r.raw))
            self.assertEqual(r.json["error"]["field"], "Idempotency-Key")

    def test_quoted_key_is_the_same_key(self):
        dev_id, _ = self.device()
        d = self.devices[-1]
        key = "k-" + uname()
        self.assertEqual(self.call_answered(d, dev_id, key, 1, 7).status, 200)
        r = self.post(dev_id, '"%s"' % key)
        self.assertEqual(r.headers.get("idempotent-replayed"), "true", r.raw)

    def test_closed_client_cancels_its_call(self):
        dev_id, secret = self.device(online=False)
        url = "https://%s:%d/v1/devices/%s/commands/set_gpio?wait_online_ms=30000&timeout_ms=30000" % (
            HOST, self.srv.https_port, dev_id)
        p = subprocess.run(["curl", "-s", "-o", "/dev/null", "--cacert", self.srv.cafile,
                            "--max-time", "1", "-H", "Authorization: Bearer " + self.token,
                            "-H", "Content-Type: application/json",
                            "--data", '{"params":{"number":1,"value":1}}', url])
        self.assertEqual(p.returncode, 28, "curl should have given up waiting")
        deadline = time.monotonic() + 5
        while " 499 " not in self.srv.stderr_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn(" 499 ", self.srv.stderr_text(), "the access log shows the dropped call")
        d = self.connect(dev_id, secret)
        time.sleep(1.0)
        self.assertEqual(d.requests(), [], "a cancelled call must not reach the device")


@iotcloud_only("Idempotency-Key is iotcloud's")
class RestartCase(unittest.TestCase):
    def test_replay_survives_a_restart(self):
        data = scratch_dir()
        directory = scratch_dir()
        srv = DeviceServer(data_dir=data)
        try:
            user = srv.add_user(uname("owner"))
            srv.start()
            api = Api(srv)
            token = api.login(user)
            dev = register_device(api, token, directory)
            r = api.call("POST", "/v1/devices/%s/secret" % dev.id, token=token)
            d = HandDevice(srv, dev.id, r.json["secret"])
            key = ["Idempotency-Key: restart-" + uname()]
            path = "/v1/devices/%s/commands/get_rtc" % dev.id
            out = {}
            t = threading.Thread(target=lambda: out.setdefault(
                "r", api.call("POST", path, {}, token=token, headers=key)))
            t.start()
            req = d.wait_requests(1)[0]
            d.c.c.publish("server/%s/get_rtc" % dev.id,
                          json.dumps({"rid": req["rid"], "value": 1234}), qos=1)
            t.join(30)
            self.assertEqual(out["r"].status, 200, out["r"].raw)
            d.close()
            srv.stop()
            srv = DeviceServer(data_dir=data)
            srv.start()
            api = Api(srv)
            token = api.login(user)
            again = api.call("POST", path, {}, token=token, headers=key)
            self.assertEqual(again.status, 200, "replayed although the device is offline: "
                             + again.raw.decode())
            self.assertEqual(again.json["value"], 1234)
            self.assertEqual(again.headers.get("idempotent-replayed"), "true")
            srv.stop()
        finally:
            srv.kill9()
            shutil.rmtree(directory, ignore_errors=True)
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
