"""Device shadows (docs/shadows.md) over mutual TLS: the AWS IoT topics and the native ones,
update / get / delete accepted and rejected, version conflicts, delta, named shadows,
isolation between devices and owners, REST for owners, and a restart keeping shadows."""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))

from device_harness import TwoUserCase, register_device, uname  # noqa: E402


def aws(dev, op, name=None):
    base = "$aws/things/%s/shadow" % dev.id
    return base + ("/name/%s" % name if name else "") + "/" + op


def native_req(dev, op, name=None):
    return "server/%s/shadow%s/%s" % (dev.id, "/" + name if name else "", op)


def native_reply(dev, op, name=None):
    return "%s/shadow%s/%s" % (dev.id, "/" + name if name else "", op)


class ShadowCase(TwoUserCase):
    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.assert_running()

    def device(self, token=None):
        return register_device(self.api, token or self.token, self.dir)

    def connect(self, dev, client_id=None):
        from device_harness import mqtt_client
        c = mqtt_client(self.srv, client_id or dev.id, ctx=dev.ctx(self.srv.cafile))
        self.clients.append(c)
        self.assertEqual(c.connect()[0], 0)
        return c

    def request(self, c, topic, body, reply_base):
        """Publishes @body on @topic, waits for reply_base/accepted|rejected; returns
        (kind, document)."""
        before = len(c.messages)
        c.publish(topic, json.dumps(body).encode() if body is not None else b"", 1)
        acc, rej = reply_base + "/accepted", reply_base + "/rejected"
        c.wait_for(lambda: any(m.topic in (acc, rej) for m in c.messages[before:]), 10,
                   "shadow reply on " + reply_base)
        m = [m for m in c.messages[before:] if m.topic in (acc, rej)][0]
        return m.topic.rsplit("/", 1)[1], json.loads(m.payload)

    # ---- AWS IoT topics ---------------------------------------------------------------

    def test_aws_update_get_delete(self):
        dev = self.device()
        c = self.connect(dev)
        self.assertEqual(c.subscribe("$aws/things/%s/shadow/#" % dev.id, 1), [1])
        kind, doc = self.request(c, aws(dev, "update"),
                                 {"state": {"reported": {"temp": 20, "led": {"on": False}}},
                                  "clientToken": "t1"}, aws(dev, "update"))
        self.assertEqual(kind, "accepted", doc)
        self.assertEqual(doc["version"], 1)
        self.assertEqual(doc["clientToken"], "t1")
        self.assertEqual(doc["state"]["reported"]["temp"], 20)
        self.assertIn("timestamp", doc["metadata"]["reported"]["temp"])
        self.assertIn("timestamp", doc["metadata"]["reported"]["led"]["on"])
        # merge: led.on kept, temp deleted by null, fw added; arrays replace
        kind, doc = self.request(c, aws(dev, "update"),
                                 {"state": {"reported": {"temp": None, "fw": "1.0",
                                                         "list": [1, 2]}}}, aws(dev, "update"))
        self.assertEqual((kind, doc["version"]), ("accepted", 2))
        self.request(c, aws(dev, "update"), {"state": {"reported": {"list": [3]}}},
                     aws(dev, "update"))
        kind, doc = self.request(c, aws(dev, "get"), {"clientToken": "g"}, aws(dev, "get"))
        self.assertEqual(kind, "accepted")
        self.assertEqual(doc["state"]["reported"], {"led": {"on": False}, "fw": "1.0",
                                                    "list": [3]})
        self.assertEqual(doc["version"], 3)
        self.assertEqual(doc["clientToken"], "g")
        self.assertNotIn("temp", doc["metadata"]["reported"])
        kind, doc = self.request(c, aws(dev, "delete"), None, aws(dev, "delete"))
        self.assertEqual((kind, doc["version"]), ("accepted", 3))
        kind, doc = self.request(c, aws(dev, "get"), None, aws(dev, "get"))
        self.assertEqual((kind, doc["code"]), ("rejected", 404))
        self.assertIn("message", doc)
        self.assertIn("timestamp", doc)

    def test_aws_rejections(self):
        dev = self.device()
        c = self.connect(dev)
        c.subscribe("$aws/things/%s/shadow/#" % dev.id, 1)
        up = aws(dev, "update")
        c.publish(up, b"{not json", 1)
        c.wait_for(lambda: any(m.topic == up + "/rejected" for m in c.messages), 10, "rej")
        doc = json.loads([m for m in c.messages if m.topic == up + "/rejected"][0].payload)
        self.assertEqual(doc["code"], 400)
        for body in ({"clientToken": "x"}, {"state": {"other": {}}}, {"state": []},
                     {"state": {"desired": 5}}):
            kind, doc = self.request(c, up, body, up)
            self.assertEqual((kind, doc["code"]), ("rejected", 400), body)
        deep = {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}
        kind, doc = self.request(c, up, {"state": {"desired": deep}}, up)
        self.assertEqual((kind, doc["code"]), ("rejected", 400))
        big = {"state": {"reported": {"blob": "x" * 9000}}, "clientToken": "big"}
        kind, doc = self.request(c, up, big, up)
        self.assertEqual((kind, doc["code"]), ("rejected", 413))
        # optimistic concurrency
        kind, doc = self.request(c, up, {"state": {"reported": {"a": 1}}}, up)
        self.assertEqual(doc["version"], 1)
        kind, doc = self.request(c, up, {"state": {"reported": {"a": 2}}, "version": 7,
                                         "clientToken": "v"}, up)
        self.assertEqual((kind, doc["code"], doc["clientToken"]), ("rejected", 409, "v"))
        kind, doc = self.request(c, up, {"state": {"reported": {"a": 2}}, "version": 1}, up)
        self.assertEqual((kind, doc["version"]), ("accepted", 2))

    def test_delta_and_documents(self):
        dev = self.device()
        c = self.connect(dev)
        c.subscribe("$aws/things/%s/shadow/#" % dev.id, 1)
        up = aws(dev, "update")
        self.request(c, up, {"state": {"reported": {"color": "red", "lvl": 1}}}, up)
        self.request(c, up, {"state": {"desired": {"color": "green", "lvl": 1.0}}}, up)
        msgs = c.wait_messages(1, topic=up + "/delta")
        delta = json.loads(msgs[0].payload)
        self.assertEqual(delta["state"], {"color": "green"})
        self.assertEqual(delta["version"], 2)
        self.assertIn("timestamp", delta["metadata"]["color"])
        docs = c.wait_messages(2, topic=up + "/documents")
        d = json.loads(docs[1].payload)
        self.assertEqual(d["previous"]["version"], 1)
        self.assertEqual(d["current"]["version"], 2)
        self.assertEqual(d["current"]["state"]["desired"]["color"], "green")
        kind, doc = self.request(c, aws(dev, "get"), None, aws(dev, "get"))
        self.assertEqual(doc["state"]["delta"], {"color": "green"})
        # reporting the desired value clears the delta; no new delta message
        self.request(c, up, {"state": {"reported": {"color": "green"}}}, up)
        kind, doc = self.request(c, aws(dev, "get"), None, aws(dev, "get"))
        self.assertNotIn("delta", doc["state"])
        self.assertEqual(len(c.settle(0.3, topic=up + "/delta")), 1)

    def test_named_shadows_native_namespace(self):
        dev = self.device()
        c = self.connect(dev)
        self.assertEqual(c.subscribe("%s/shadow/#" % dev.id, 1), [1])
        kind, doc = self.request(c, native_req(dev, "update", "cfg"),
                                 {"state": {"desired": {"mode": "eco"}}},
                                 native_reply(dev, "update", "cfg"))
        self.assertEqual((kind, doc["version"]), ("accepted", 1))
        c.wait_messages(1, topic=native_reply(dev, "update", "cfg") + "/delta")
        # the classic shadow is another document
        kind, doc = self.request(c, native_req(dev, "get"), None, native_reply(dev, "get"))
        self.assertEqual((kind, doc["code"]), ("rejected", 404))
        # the same named shadow through the AWS topics
        c.subscribe("$aws/things/%s/shadow/name/cfg/get/+" % dev.id, 1)
        kind, doc = self.request(c, aws(dev, "get", "cfg"), None, aws(dev, "get", "cfg"))
        self.assertEqual(doc["state"]["desired"], {"mode": "eco"})
        self.assertEqual(doc["state"]["delta"], {"mode": "eco"})

    def test_policy_isolation(self):
        a, b = self.device(), self.device()
        cb = self.connect(b)
        cb.subscribe("$aws/things/%s/shadow/#" % b.id, 1)
        cb.subscribe("%s/shadow/#" % b.id, 1)
        ca = self.connect(a)
        # another thing's topics: subscription refused (0x80)
        self.assertEqual(ca.subscribe("$aws/things/%s/shadow/#" % b.id, 1), [128])
        self.assertEqual(ca.subscribe("$aws/things/+/shadow/#", 1), [128])
        self.assertEqual(ca.subscribe("$aws/#", 1), [128])
        # publishing to b's shadow: refused by the policy (acknowledged and dropped, as
        # 3.1.1 has no negative acknowledgement), also through a's own uplink
        ca.subscribe("$aws/things/%s/shadow/#" % a.id, 1)
        body = json.dumps({"state": {"desired": {"x": 1}}}).encode()
        for topic in (aws(b, "update"), "server/%s/shadow/update" % b.id,
                      "server/%s/%s" % (a.id, aws(b, "update"))):
            ca.publish(topic, body, 1)
        cb.assert_no_messages(0.5)
        ca.assert_no_messages(0.1)
        # b's shadow was not created
        kind, doc = self.request(cb, aws(b, "get"), None, aws(b, "get"))
        self.assertEqual((kind, doc["code"]), ("rejected", 404))

    def mosq(self, tool, dev, args, **kw):
        return [tool, "-h", "localhost", "-p", str(self.srv.tls_port), "--cafile",
                self.srv.cafile, "--cert", dev.cert, "--key", dev.key, "-i", dev.id] + args

    def test_mosquitto_update_then_get(self):
        dev = self.device()
        p = subprocess.run(self.mosq("mosquitto_pub", dev, [
            "-q", "1", "-t", aws(dev, "update"), "-m", '{"state":{"reported":{"up":true}}}']),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        self.assertEqual(p.returncode, 0, p.stderr)
        c = self.connect(dev)
        c.subscribe("$aws/things/%s/shadow/get/+" % dev.id, 1)
        kind, doc = self.request(c, aws(dev, "get"), None, aws(dev, "get"))
        self.assertEqual(doc["state"]["reported"], {"up": True})
        self.assertEqual(doc["version"], 1)


    # ---- REST for owners -----------------------------------------------------------------

    def rest(self, method, dev, name=None, body=None, token=None):
        path = "/v1/devices/%s/shadows" % dev.id + ("/" + name if name else "")
        return self.api.call(method, path, body, token=token or self.token)

    def test_rest_desired_reaches_online_device_as_delta(self):
        dev = self.device()
        sub = subprocess.Popen(self.mosq("mosquitto_sub", dev, [
            "-q", "1", "-C", "1", "-W", "20", "-t", aws(dev, "update") + "/delta"]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            # wait until the subscription is live: the device shows online
            for _ in range(100):
                r = self.api.call("GET", "/v1/devices/" + dev.id, token=self.token)
                if r.json.get("online"):
                    break
                time.sleep(0.05)
            time.sleep(0.3)
            r = self.rest("PATCH", dev, body={"state": {"desired": {"led": "on"}},
                                              "clientToken": "app"})
            self.assertEqual(r.status, 200, r.raw)
            self.assertEqual(r.json["version"], 1)
            self.assertEqual(r.json["clientToken"], "app")
            out, err = sub.communicate(timeout=25)
        finally:
            if sub.poll() is None:
                sub.kill()
                sub.communicate()
        self.assertEqual(sub.returncode, 0, err)
        delta = json.loads(out)
        self.assertEqual(delta["state"], {"led": "on"})
        self.assertEqual(delta["version"], 1)

    def test_rest_offline_device_gets_delta_later(self):
        dev = self.device()
        # a persistent session, then offline
        c = self.connect(dev)
        c.close()
        from device_harness import mqtt_client
        p = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile), clean=False)
        self.clients.append(p)
        self.assertEqual(p.connect()[0], 0)
        p.subscribe("%s/shadow/update/delta" % dev.id, 1)
        p.close()
        r = self.rest("PATCH", dev, body={"state": {"desired": {"fan": 3}}})
        self.assertEqual(r.status, 200, r.raw)
        # the persistent session gets the delta on reconnect
        p2 = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile), clean=False)
        self.clients.append(p2)
        self.assertEqual(p2.connect()[0], 0)
        m = p2.wait_messages(1, topic="%s/shadow/update/delta" % dev.id)
        self.assertEqual(json.loads(m[0].payload)["state"], {"fan": 3})
        p2.close()
        # a clean session sees it on get
        c = self.connect(dev)
        c.subscribe("$aws/things/%s/shadow/get/+" % dev.id, 1)
        kind, doc = self.request(c, aws(dev, "get"), None, aws(dev, "get"))
        self.assertEqual(doc["state"]["delta"], {"fan": 3})

    def test_rest_owner_checks_and_versions(self):
        dev = self.device()
        r = self.rest("GET", dev)
        self.assertEqual((r.status, r.json["classic"], r.json["shadows"]), (200, None, []))
        r = self.rest("PATCH", dev, "cfg", {"state": {"desired": {"x": 1}}})
        self.assertEqual(r.status, 200, r.raw)
        r = self.rest("PATCH", dev, None, {"state": {"reported": {"y": 2}}})
        self.assertEqual(r.status, 200, r.raw)
        r = self.rest("PATCH", dev, None, {"state": {"reported": {"y": 3}}, "version": 5})
        self.assertEqual((r.status, r.json["error"]["code"]), (409, "version_conflict"))
        r = self.rest("PATCH", dev, None, {"state": {"reported": {"y": 3}}, "version": 1})
        self.assertEqual((r.status, r.json["version"]), (200, 2))
        r = self.rest("GET", dev)
        self.assertEqual(r.json["classic"]["state"]["reported"], {"y": 3})
        self.assertEqual([(s["name"], s["version"]) for s in r.json["shadows"]],
                         [("", 2), ("cfg", 1)])
        r = self.rest("GET", dev, "cfg")
        self.assertEqual(r.json["state"]["delta"], {"x": 1})
        self.assertEqual(self.rest("PATCH", dev, "cfg", {"state": 1}).status, 400)
        self.assertEqual(self.rest("PATCH", dev, "bad/name", {"state": {}}).status, 404)
        self.assertEqual(self.rest("GET", dev, "nope").status, 404)
        # another user: 404 for everything, and nothing changes
        for m, n, b in (("GET", None, None), ("GET", "cfg", None),
                        ("PATCH", "cfg", {"state": {"desired": {"x": 9}}}),
                        ("DELETE", "cfg", None), ("DELETE", None, None)):
            r = self.rest(m, dev, n, b, token=self.other_token)
            self.assertEqual(r.status, 404, (m, n, r.raw))
        self.assertEqual(self.rest("GET", dev, "cfg").json["state"]["desired"], {"x": 1})
        r = self.rest("DELETE", dev, "cfg")
        self.assertEqual((r.status, r.json["version"]), (200, 1))
        self.assertEqual(self.rest("GET", dev, "cfg").status, 404)


class ShadowLimitsTest(TwoUserCase):
    EXTRA = ("--shadow-max-named", "1", "--shadow-max-size", "300")

    def test_configured_limits(self):
        dev = register_device(self.api, self.token, self.dir)
        base = "/v1/devices/%s/shadows" % dev.id
        ok = {"state": {"desired": {"a": 1}}}
        self.assertEqual(self.api.call("PATCH", base + "/one", ok, token=self.token).status, 200)
        r = self.api.call("PATCH", base + "/two", ok, token=self.token)
        self.assertEqual((r.status, r.json["error"]["code"]), (400, "bad_request"), r.raw)
        # the classic shadow is not a named one; updating an existing named one is fine
        self.assertEqual(self.api.call("PATCH", base, ok, token=self.token).status, 200)
        self.assertEqual(self.api.call("PATCH", base + "/one", ok, token=self.token).status, 200)
        big = {"state": {"desired": {"b": "x" * 300}}}
        r = self.api.call("PATCH", base, big, token=self.token)
        self.assertEqual((r.status, r.json["error"]["code"]), (413, "too_large"), r.raw)


class ShadowRestartTest(unittest.TestCase):
    def test_restart_keeps_shadows(self):
        from device_harness import Api, DeviceServer, scratch_dir
        import shutil
        srv = DeviceServer()
        user = srv.add_user(uname("owner"))
        srv.start()
        self.addCleanup(srv.kill9)
        d = scratch_dir()
        self.addCleanup(shutil.rmtree, d, True)
        api = Api(srv)
        tok = api.login(user)
        dev = register_device(api, tok, d)
        path = "/v1/devices/%s/shadows/cfg" % dev.id
        for v in range(3):
            r = api.call("PATCH", path, {"state": {"desired": {"v": v}}}, token=tok)
            self.assertEqual(r.status, 200, r.raw)
        srv.signal_and_wait()
        srv.start()
        tok = api.login(user)
        r = api.call("GET", path, token=tok)
        self.assertEqual((r.status, r.json["version"], r.json["state"]["desired"]),
                         (200, 3, {"v": 2}), r.raw)


if __name__ == "__main__":
    unittest.main()
