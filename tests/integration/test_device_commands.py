"""Queued device commands (?mode=queue, docs/device-control.md) over real TLS: curl for
REST, bench/devsim as the devices (helpers of test_device_control).

  QueueCase     queue for an offline device, delivery on connect (and at once when online),
                states and transitions, device error, timeout, expiry, cancel, lists,
                owners, the per-device cap (429), bad requests, deletion with the device
  BusyCase      more commands than a round and than ctl's window: later rounds send them
  RestartCase   a command queued before a restart is delivered after it (same data dir)
"""

import os
import shutil
import time
import unittest

from device_harness import Api
from harness import iotcloud_only
from test_device_control import ControlBase

FINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "EXPIRED", "CANCELED")
WAIT = 20.0


class QueueBase(ControlBase):
    def queue(self, method, path, body=None, query="", token=None):
        sep = "&" if "?" in path else "?"
        r = self.call(method, path + sep + "mode=queue" + query, body, token=token)
        self.assertEqual(r.status, 202, r.raw)
        cmd = r.json
        self.assertEqual(r.headers.get("location"), "/v1/commands/" + cmd["id"], r.headers)
        return cmd

    def get_cmd(self, cmd_id):
        r = self.call("GET", "/v1/commands/" + cmd_id)
        self.assertEqual(r.status, 200, r.raw)
        return r.json

    def wait_state(self, cmd_id, states=FINAL):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            cmd = self.get_cmd(cmd_id)
            if cmd["state"] in states:
                return cmd
            time.sleep(0.05)
        self.fail("command %s never reached %s: %s" % (cmd_id, states, self.get_cmd(cmd_id)))

    def path_of(self, cmd):
        return [t["state"] for t in cmd["transitions"]]


@iotcloud_only("queued commands are iotcloud's")
class QueueCase(QueueBase):
    EXTRA = ("--device-max-commands-queued", "3")

    def test_queued_for_offline_device_delivered_on_connect(self):
        d = self.device()
        base = "/v1/devices/" + d[0]
        first = self.queue("PUT", base + "/gpio/3", {"value": 1}, "&ttl_s=600")
        self.assertEqual(first["state"], "QUEUED")
        self.assertEqual(first["device_id"], d[0])
        self.assertEqual(first["api"], "set_gpio")
        self.assertEqual(first["params"], {"number": 3, "value": 1})
        self.assertEqual(first["expires_at"] - first["created_at"], 600 * 1000)
        self.assertEqual(self.path_of(first), ["QUEUED"])
        second = self.queue("POST", base + "/commands/get_gpio", {"params": {"number": 3}})
        self.assertEqual(self.get_cmd(first["id"])["state"], "QUEUED")
        self.run_devsim([d])
        done = self.wait_state(first["id"])
        self.assertEqual(done["state"], "SUCCEEDED", done)
        self.assertEqual(done["status"], 200)
        self.assertEqual(done["result"]["value"], 1)
        self.assertEqual(self.path_of(done), ["QUEUED", "SENT", "DELIVERED", "SUCCEEDED"])
        ats = [t["at"] for t in done["transitions"]]
        self.assertEqual(ats, sorted(ats))
        # sent in creation order: the read after the write sees the write
        later = self.wait_state(second["id"])
        self.assertEqual((later["state"], later["result"]["value"]), ("SUCCEEDED", 1), later)

    def test_online_device_gets_it_at_once(self):
        dev_id = self.started()[0]
        cmd = self.queue("GET", "/v1/devices/%s/status" % dev_id)
        done = self.wait_state(cmd["id"])
        self.assertEqual((done["state"], done["result"]["value"]), ("SUCCEEDED", "running"))

    def test_device_error_is_failed_with_its_code(self):
        dev_id = self.started()[0]
        cmd = self.queue("GET", "/v1/devices/%s/gpio/99" % dev_id)
        done = self.wait_state(cmd["id"])
        self.assertEqual(done["state"], "FAILED", done)
        self.assertEqual(done["status"], 422)
        self.assertEqual(done["error"]["code"], "bad_gpio")
        self.assertEqual(self.path_of(done), ["QUEUED", "SENT", "DELIVERED", "FAILED"])
        # the delivery is in the device's history, with its command id
        deadline = time.monotonic() + 10
        while True:
            r = self.call("GET", "/v1/devices/%s/history" % dev_id)
            self.assertEqual(r.status, 200, r.raw)
            rows = [h for h in r.json["history"] if h.get("command_id") == cmd["id"]]
            if rows or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(len(rows), 1, r.json)
        self.assertEqual((rows[0]["source"], rows[0]["status"], rows[0]["outcome"],
                          rows[0]["api"]), ("queue", 422, "device_error", "get_gpio"), rows[0])
        self.assertEqual(rows[0]["error"]["code"], "bad_gpio")

    def test_no_answer_is_timed_out(self):
        dev_id = self.started("--reply-delay-ms", "3000")[0]
        cmd = self.queue("GET", "/v1/devices/%s/rtc" % dev_id, query="&timeout_ms=300")
        done = self.wait_state(cmd["id"])
        self.assertEqual(done["state"], "TIMED_OUT", done)
        self.assertEqual(done["error"]["code"], "timeout")
        self.assertEqual(self.path_of(done), ["QUEUED", "SENT", "TIMED_OUT"])

    def test_expiry(self):
        d = self.device()
        cmd = self.queue("GET", "/v1/devices/%s/mac" % d[0], query="&ttl_s=1")
        done = self.wait_state(cmd["id"])
        self.assertEqual(done["state"], "EXPIRED", done)
        self.assertEqual(self.path_of(done), ["QUEUED", "EXPIRED"])
        # an expired command is never sent: the next one is, and the expired one stays
        nxt = self.queue("GET", "/v1/devices/%s/mac" % d[0])
        self.run_devsim([d])
        self.assertEqual(self.wait_state(nxt["id"])["state"], "SUCCEEDED")
        self.assertEqual(self.get_cmd(cmd["id"])["state"], "EXPIRED")

    def test_cancel(self):
        d = self.device()
        cmd = self.queue("GET", "/v1/devices/%s/ip" % d[0])
        r = self.call("DELETE", "/v1/commands/" + cmd["id"])
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(r.json["state"], "CANCELED")
        self.assertEqual(self.path_of(r.json), ["QUEUED", "CANCELED"])
        r = self.call("DELETE", "/v1/commands/" + cmd["id"])
        self.assertEqual((r.status, r.json["state"]), (409, "CANCELED"), r.raw)
        nxt = self.queue("GET", "/v1/devices/%s/ip" % d[0])
        self.run_devsim([d])
        self.assertEqual(self.wait_state(nxt["id"])["state"], "SUCCEEDED")
        self.assertEqual(self.get_cmd(cmd["id"])["state"], "CANCELED")
        r = self.call("DELETE", "/v1/commands/" + nxt["id"])
        self.assertEqual((r.status, r.json["state"]), (409, "SUCCEEDED"), r.raw)

    def test_list_filters_and_pages(self):
        d = self.device()
        base = "/v1/devices/" + d[0]
        ids = [self.queue("GET", base + "/mac")["id"] for _ in range(3)]
        self.assertEqual(self.call("DELETE", "/v1/commands/" + ids[1]).status, 200)
        r = self.call("GET", base + "/commands?limit=2")
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual([c["id"] for c in r.json["commands"]], ids[:2])
        self.assertEqual(r.json["next"], ids[1])
        r = self.call("GET", base + "/commands?limit=2&cursor=" + r.json["next"])
        self.assertEqual(([c["id"] for c in r.json["commands"]], r.json["next"]),
                         ([ids[2]], None))
        r = self.call("GET", base + "/commands?state=QUEUED")
        self.assertEqual([c["id"] for c in r.json["commands"]], [ids[0], ids[2]])
        # by name too
        r = self.call("GET", "/v1/devices/%s/commands?state=CANCELED" % d[1])
        self.assertEqual([c["id"] for c in r.json["commands"]], [ids[1]])

    def test_other_users_commands_are_404(self):
        d = self.device()
        cmd = self.queue("GET", "/v1/devices/%s/mac" % d[0])
        for method, path in (("GET", "/v1/commands/" + cmd["id"]),
                             ("DELETE", "/v1/commands/" + cmd["id"]),
                             ("GET", "/v1/devices/%s/commands" % d[0]),
                             ("GET", "/v1/devices/%s/mac?mode=queue" % d[0]),
                             ("GET", "/v1/commands/cnosuch")):
            r = self.call(method, path, token=self.other_token)
            self.assertEqual(r.status, 404, (path, r.raw))
        self.assertEqual(self.get_cmd(cmd["id"])["state"], "QUEUED")

    def test_cap_is_429(self):
        d = self.device()
        path = "/v1/devices/%s/mac" % d[0]
        ids = [self.queue("GET", path)["id"] for _ in range(3)]
        r = self.call("GET", path + "?mode=queue")
        self.assertEqual(r.status, 429, r.raw)
        self.assertEqual(r.json["error"]["code"], "too_many_queued")
        self.assertIn("retry-after", r.headers)
        self.assertEqual(self.call("DELETE", "/v1/commands/" + ids[0]).status, 200)
        self.queue("GET", path)

    def test_bad_requests_are_400(self):
        d = self.device()
        base = "/v1/devices/" + d[0]
        for method, path in (("GET", base + "/mac?mode=later"),
                             ("GET", base + "/mac?mode=queue&ttl_s=0"),
                             ("GET", base + "/mac?mode=queue&ttl_s=604801"),
                             ("GET", base + "/mac?mode=queue&ttl_s=x"),
                             ("GET", base + "/mac?mode=queue&timeout_ms=5"),
                             ("GET", base + "/network?mode=queue"),
                             ("GET", base + "/commands?state=DONE"),
                             ("GET", base + "/commands?limit=0"),
                             ("GET", base + "/commands?limit=201")):
            r = self.call(method, path)
            self.assertEqual(r.status, 400, (path, r.raw))
        r = self.call("GET", "/v1/devices/%s/commands" % d[0])
        self.assertEqual(r.json["commands"], [])

    def test_deleting_the_device_deletes_its_commands(self):
        d = self.device()
        cmd = self.queue("GET", "/v1/devices/%s/mac" % d[0])
        self.assertEqual(self.call("DELETE", "/v1/devices/" + d[0]).status, 204)
        self.assertEqual(self.call("GET", "/v1/commands/" + cmd["id"]).status, 404)


@iotcloud_only("queued commands are iotcloud's")
class BusyCase(QueueBase):
    """More commands than one round (32) and than ctl's window + queue (4 + 4): the rest go
    back to QUEUED and later rounds send them; all of them succeed."""
    EXTRA = ("--device-max-inflight", "4", "--device-max-queued", "4")

    def test_many_commands_all_delivered(self):
        d = self.device()
        ids = [self.queue("PUT", "/v1/devices/%s/gpio/%d" % (d[0], i % 32), {"value": 1})["id"]
               for i in range(36)]
        self.run_devsim([d])
        for cmd_id in ids:
            done = self.wait_state(cmd_id)
            self.assertEqual((done["state"], done["result"]["value"]), ("SUCCEEDED", 1), done)


@iotcloud_only("queued commands are iotcloud's")
class RestartCase(QueueBase):
    def test_queued_command_survives_a_restart(self):
        d = self.device()
        cmd = self.queue("PUT", "/v1/devices/%s/gpio/5" % d[0], {"value": 1})
        rc = self.srv.signal_and_wait()
        self.assertEqual(rc, 0, self.srv.stderr_text())
        self.srv.start()
        type(self).api = Api(self.srv)  # the ports may change on a clash
        self.assertEqual(self.get_cmd(cmd["id"])["state"], "QUEUED")
        self.run_devsim([d])
        done = self.wait_state(cmd["id"])
        self.assertEqual(done["state"], "SUCCEEDED", done)
        self.assertEqual((done["result"]["number"], done["result"]["value"]), (5, 1))
        self.assertEqual(self.path_of(done), ["QUEUED", "SENT", "DELIVERED", "SUCCEEDED"])


if __name__ == "__main__":
    unittest.main()
