"""Device activity over REST (docs/device-control.md, "History and events"): every call on a
device leaves a history row, every connection a connected / disconnected event, and
last_seen survives a restart. Real TLS: curl for REST, bench/devsim as the devices.

  HistoryCase   outcomes 200/422/502/503/504, one row per part, paging, filters, bad
                queries, events with reasons, other users, delete
  RestartCase   last_seen from the store after a restart; the shutdown's disconnect event
"""

import time
import unittest

from device_harness import Api, register_device
from harness import iotcloud_only
from test_device_control import ControlBase

WAIT = 15.0


class ActivityBase(ControlBase):
    def rows(self, dev, query="", token=None, kind="history"):
        r = self.call("GET", "/v1/devices/%s/%s%s" % (dev, kind, query), token=token)
        self.assertEqual(r.status, 200, r.raw)
        return r.json

    def wait_rows(self, dev, n, kind="history", query=""):
        """The list once it holds at least @n rows (records are written asynchronously)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            got = self.rows(dev, query, kind=kind)
            if len(got[kind]) >= n:
                return got
            time.sleep(0.05)
        self.fail("%s of %s never reached %d rows: %s" % (kind, dev, n, got))


@iotcloud_only("device activity is iotcloud's")
class HistoryCase(ActivityBase):
    def test_outcomes(self):
        ok = self.started()[0]
        base = "/v1/devices/" + ok
        self.assertEqual(self.call("GET", base + "/gpio/3").status, 200)
        self.assertEqual(self.call("GET", base + "/gpio/99").status, 422)
        h = self.wait_rows(ok, 2)["history"]
        self.assertEqual([x["api"] for x in h], ["get_gpio", "get_gpio"])
        bad, good = h
        self.assertEqual((good["status"], good["outcome"], good["source"]), (200, "ok", "rest"))
        self.assertEqual(good["params"], {"number": 3})
        self.assertEqual(good["reply"], {"number": 3, "value": 0})
        self.assertIsNone(good["error"])
        self.assertGreater(good["latency_us"], 0)
        self.assertIsInstance(good["actor"], str)
        self.assertIsNone(good["command_id"])
        self.assertEqual((bad["status"], bad["outcome"]), (422, "device_error"))
        self.assertEqual(bad["error"]["code"], "bad_gpio")
        self.assertIsNone(bad["reply"])
        self.assertGreater(bad["id"], good["id"])
        self.assertGreaterEqual(bad["at"], good["at"])

        malformed = self.started("--malformed-every", "1")[0]
        self.assertEqual(self.call("GET", "/v1/devices/%s/mac" % malformed).status, 502)
        x = self.wait_rows(malformed, 1)["history"][0]
        self.assertEqual((x["api"], x["status"], x["outcome"]), ("get_mac", 502, "bad_answer"))

        slow = self.started("--reply-delay-ms", "1500")[0]
        self.assertEqual(self.call("GET", "/v1/devices/%s/rtc?timeout_ms=300" % slow).status, 504)
        x = self.wait_rows(slow, 1)["history"][0]
        self.assertEqual((x["status"], x["outcome"], x["error"]["code"]), (504, "timeout", "timeout"))

        never = self.device()[0]
        self.assertEqual(self.call("GET", "/v1/devices/%s/ip" % never).status, 503)
        x = self.wait_rows(never, 1)["history"][0]
        self.assertEqual((x["status"], x["outcome"], x["latency_us"]), (503, "offline", 0))

    def test_network_is_one_row_per_part(self):
        dev = self.started()[0]
        self.assertEqual(self.call("GET", "/v1/devices/%s/network" % dev).status, 200)
        h = self.wait_rows(dev, 4)["history"]
        self.assertEqual(sorted(x["api"] for x in h),
                         ["get_gateway", "get_ip", "get_mac", "get_subnet"])
        self.assertTrue(all(x["outcome"] == "ok" for x in h), h)

    def test_notification_text_is_not_kept(self):
        dev = self.started()[0]
        r = self.call("POST", "/v1/devices/%s/notifications" % dev,
                      {"recipient": "ops@example.com", "message": "door open"})
        self.assertEqual(r.status, 200, r.raw)
        x = self.wait_rows(dev, 1)["history"][0]
        self.assertEqual((x["api"], x["outcome"], x["params"], x["reply"]),
                         ("trigger_notification", "ok", None, None))

    def test_paging_and_filters(self):
        dev, name, _ = self.started()
        base = "/v1/devices/" + dev
        for i in range(3):
            self.assertEqual(self.call("GET", base + "/gpio/%d" % i).status, 200)
        self.assertEqual(self.call("GET", base + "/gpio/99").status, 422)
        t = self.wait_rows(dev, 4)["history"][0]["at"]
        self.assertEqual(self.call("GET", base + "/rtc").status, 200)
        self.wait_rows(dev, 5)
        seen = []
        query = "?limit=2"
        while True:
            page = self.rows(dev, query)
            self.assertLessEqual(len(page["history"]), 2)
            seen += page["history"]
            if page["next"] is None:
                break
            query = "?limit=2&cursor=%d" % page["next"]
        self.assertEqual([x["api"] for x in seen], ["get_rtc"] + ["get_gpio"] * 4)
        self.assertEqual(len({x["id"] for x in seen}), 5)
        self.assertEqual([x["api"] for x in self.rows(dev, "?api=get_rtc")["history"]],
                         ["get_rtc"])
        self.assertEqual([x["status"] for x in self.rows(dev, "?outcome=ok")["history"]],
                         [200] * 4)
        self.assertEqual(len(self.rows(dev, "?status=422")["history"]), 1)
        since = self.rows(dev, "?since=%d" % t)["history"]
        self.assertTrue(all(x["at"] >= t for x in since), since)
        self.assertIn("get_rtc", [x["api"] for x in since])
        self.assertEqual(self.rows(dev, "?until=%d" % 1)["history"], [])
        # by name, like other device routes
        self.assertEqual(len(self.rows(name, "?limit=100")["history"]), 5)

    def test_bad_queries_are_400(self):
        dev = self.device()[0]
        for kind, q, field in [("history", "limit=0", "limit"), ("history", "limit=101", "limit"),
                               ("history", "cursor=x", "cursor"), ("events", "cursor=-1", "cursor"),
                               ("history", "outcome=great", "outcome"),
                               ("history", "status=99", "status"), ("history", "since=-1", "since"),
                               ("history", "until=soon", "until"), ("history", "api=a%2Fb", "api"),
                               ("events", "limit=abc", "limit")]:
            r = self.call("GET", "/v1/devices/%s/%s?%s" % (dev, kind, q))
            self.assertEqual(r.status, 400, (q, r.raw))
            self.assertEqual(r.json["error"]["field"], field, r.raw)

    def test_events_with_reasons(self):
        d = self.device()
        p = self.run_devsim([d])
        self.wait_online(d[0])
        self.procs.remove(p)
        self.assertEqual(p.stop()[0], 0)  # devsim sends DISCONNECT
        ev = self.wait_rows(d[0], 2, kind="events")["events"]
        self.assertEqual([(e["kind"], e["reason"]) for e in ev],
                         [("disconnected", "disconnect"), ("connected", None)])
        self.assertGreaterEqual(ev[0]["at"], ev[1]["at"])
        v = self.wait_online(d[0], online=False)
        self.assertEqual(v["last_seen"], ev[0]["at"])
        page = self.rows(d[0], "?limit=1", kind="events")
        self.assertEqual(page["next"], ev[0]["id"])
        older = self.rows(d[0], "?limit=1&cursor=%d" % page["next"], kind="events")
        self.assertEqual(older["events"], ev[1:])
        self.assertIsNone(older["next"])

    def test_other_users_device_is_404(self):
        dev, name, _ = self.started()
        self.assertEqual(self.call("GET", "/v1/devices/%s/rtc" % dev).status, 200)
        for kind in ("history", "events"):
            for key in (dev, name, "d000000000000000000000000"):
                r = self.call("GET", "/v1/devices/%s/%s" % (key, kind), token=self.other_token)
                self.assertEqual(r.status, 404, r.raw)
            self.assertEqual(self.call("GET", "/v1/devices/%s/%s" % (dev, kind)).status, 200)

    def test_delete_takes_the_history(self):
        dev, name, _ = self.device()
        self.assertEqual(self.call("GET", "/v1/devices/%s/mac" % dev).status, 503)
        self.wait_rows(dev, 1)
        self.assertEqual(self.call("DELETE", "/v1/devices/" + dev).status, 204)
        self.assertEqual(self.call("GET", "/v1/devices/%s/history" % dev).status, 404)
        again = register_device(self.api, self.token, self.dir, name=name)
        self.assertEqual(self.rows(again.id), {"history": [], "next": None})
        self.assertEqual(self.rows(again.id, kind="events"), {"events": [], "next": None})


@iotcloud_only("device activity is iotcloud's")
class RestartCase(ActivityBase):
    def test_last_seen_survives_a_restart(self):
        gone = self.device()
        p = self.run_devsim([gone])
        self.wait_online(gone[0])
        self.procs.remove(p)
        self.assertEqual(p.stop()[0], 0)
        before = self.wait_online(gone[0], online=False)["last_seen"]
        self.assertIsInstance(before, int)
        self.wait_rows(gone[0], 2, kind="events")
        stays = self.started()  # connected through the restart: devsim reconnects
        self.wait_rows(stays[0], 1, kind="events")

        self.assertEqual(self.srv.signal_and_wait(), 0)
        self.srv.start()
        self.api = Api(self.srv)
        self.token = self.api.login(self.user)
        v = self.call("GET", "/v1/devices/" + gone[0]).json
        self.assertEqual((v["online"], v["last_seen"]), (False, before))
        listed = self.call("GET", "/v1/devices?name=" + gone[1]).json["devices"]
        self.assertEqual([x["last_seen"] for x in listed], [before])
        # the shutdown ended the other device's connection: recorded with its reason
        ev = self.wait_rows(stays[0], 2, kind="events")["events"]
        self.assertIn(("disconnected", "shutdown"), [(e["kind"], e["reason"]) for e in ev])


if __name__ == "__main__":
    unittest.main(verbosity=2)
