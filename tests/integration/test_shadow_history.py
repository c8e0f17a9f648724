"""Shadow version history (docs/shadows.md, shadow-history): the last N accepted versions
of a shadow, newest first, over REST for the owner; updates from the device (AWS topics)
and from REST both recorded, rejected ones not; paging; the cap; a deleted shadow's history
goes with it; another user gets 404; history off records nothing."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))

from device_harness import TwoUserCase, mqtt_client, register_device, uname  # noqa: E402


class ShadowHistoryTest(TwoUserCase):
    EXTRA = ("--shadow-history", "3")

    def hist(self, dev_key, name=None, query="", token=None):
        path = ("/v1/devices/%s/shadows/%s/history" % (dev_key, name) if name
                else "/v1/devices/%s/shadow/history" % dev_key)
        return self.api.call("GET", path + query, token=token or self.token)

    def patch(self, dev, body, name=None):
        path = "/v1/devices/%s/shadows" % dev.id + ("/" + name if name else "")
        return self.api.call("PATCH", path, body, token=self.token)

    def device_update(self, dev, reported):
        c = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile))
        self.addCleanup(c.close)
        self.assertEqual(c.connect()[0], 0)
        base = "$aws/things/%s/shadow/update" % dev.id
        c.subscribe(base + "/accepted", 1)
        c.publish(base, json.dumps({"state": {"reported": reported}}).encode(), 1)
        c.wait_messages(1, topic=base + "/accepted")
        c.close()

    def test_versions_newest_first_capped_and_paged(self):
        name = uname("thing")
        dev = register_device(self.api, self.token, self.dir, name=name)
        self.assertEqual(self.hist(dev.id).json, {"versions": [], "next": None})
        self.device_update(dev, {"t": 1})
        for t in (2, 3, 4):
            self.assertEqual(self.patch(dev, {"state": {"desired": {"t": t}}}).status, 200)
        # a rejected update (version conflict) is no version
        self.assertEqual(self.patch(dev, {"state": {"desired": {"t": 9}}, "version": 1}).status,
                         409)
        r = self.hist(dev.id)
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual([v["version"] for v in r.json["versions"]], [4, 3, 2])
        self.assertIsNone(r.json["next"])
        newest = r.json["versions"][0]
        self.assertEqual(newest["state"], {"desired": {"t": 4}, "reported": {"t": 1}})
        self.assertIn("timestamp", newest["metadata"]["desired"]["t"])
        self.assertEqual(r.json["versions"][2]["state"]["desired"], {"t": 2})
        # paging, and the device's name works as {id}
        r = self.hist(name, query="?limit=2")
        self.assertEqual(([v["version"] for v in r.json["versions"]], r.json["next"]), ([4, 3], 3))
        r = self.hist(dev.id, query="?limit=2&cursor=3")
        self.assertEqual(([v["version"] for v in r.json["versions"]], r.json["next"]), ([2], None))
        for q in ("?limit=0", "?limit=101", "?limit=x", "?cursor=0"):
            self.assertEqual(self.hist(dev.id, query=q).status, 400, q)

    def test_named_shadow_history_and_delete(self):
        dev = register_device(self.api, self.token, self.dir)
        self.assertEqual(self.patch(dev, {"state": {"desired": {"a": 1}}}, "cfg").status, 200)
        self.assertEqual(self.patch(dev, {"state": {"desired": {"a": 2}}}, "cfg").status, 200)
        self.assertEqual([v["version"] for v in self.hist(dev.id, "cfg").json["versions"]], [2, 1])
        self.assertEqual(self.hist(dev.id).json["versions"], [], "the classic shadow is apart")
        r = self.api.call("DELETE", "/v1/devices/%s/shadows/cfg" % dev.id, token=self.token)
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(self.hist(dev.id, "cfg").json["versions"], [])
        self.assertEqual(self.patch(dev, {"state": {"desired": {"a": 3}}}, "cfg").status, 200)
        r = self.hist(dev.id, "cfg")
        self.assertEqual([(v["version"], v["state"]["desired"]) for v in r.json["versions"]],
                         [(1, {"a": 3})])
        self.assertEqual(self.hist(dev.id, "bad:name/x").status, 404)

    def test_owner_checked(self):
        dev = register_device(self.api, self.token, self.dir)
        self.assertEqual(self.patch(dev, {"state": {"desired": {"a": 1}}}).status, 200)
        self.assertEqual(self.hist(dev.id, token=self.other_token).status, 404)
        self.assertEqual(self.hist(dev.id, "x", token=self.other_token).status, 404)
        self.assertEqual(self.hist("d" + "0" * 24).status, 404)
        self.assertEqual(self.api.call("GET", "/v1/devices/%s/shadow/history" % dev.id).status,
                         401)


class ShadowHistoryOffTest(TwoUserCase):
    EXTRA = ("--shadow-history", "0")

    def test_off_records_nothing(self):
        dev = register_device(self.api, self.token, self.dir)
        r = self.api.call("PATCH", "/v1/devices/%s/shadows" % dev.id,
                          {"state": {"desired": {"a": 1}}}, token=self.token)
        self.assertEqual(r.status, 200, r.raw)
        r = self.api.call("GET", "/v1/devices/%s/shadow/history" % dev.id, token=self.token)
        self.assertEqual((r.status, r.json), (200, {"versions": [], "next": None}))


if __name__ == "__main__":
    unittest.main()
