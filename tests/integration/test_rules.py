"""Rules and alarms end to end (docs/rules.md): devices publish with their certificates
(mosquitto_pub, paho), users manage rules and alarms over REST, apps see republished
messages over MQTT, a real SMTP server (aiosmtpd) gets the notify actions.

  CrudCase      create / get / list / patch / enable / disable / delete, malformed rules
                (400 naming the field and the position), republish to another user's
                device refused, another user's 404, the per-user quota, POST /v1/rules/test
  ActionCase    republish with templates to the owner's app, owner isolation, telemetry,
                shadow and notify actions, failed actions counted and dead-lettered, alarms
                raised (de-duplicated, mail on raise), acknowledged, cleared by a rule and
                by hand, filters
  RestartCase   rules and alarms survive a clean stop and a kill -9; the work a rule
                queued before a clean stop is done
  WebhookCase   HTTPS POSTs to a local receiver (http.server + ssl, its own CA): body
                template, HMAC signature, the secret never shown, retries with backoff
                after 500s, the dead letter after the last attempt, and a pending POST
                delivered after a restart (the persisted outbox)
"""

import hashlib
import hmac
import http.server
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

from device_harness import TwoUserCase, mqtt_client, register_device, uname
from harness import iotcloud_only
from smtp_sink import SmtpSink

WAIT = 15.0


def own_email(user):
    return user + "@localhost.localdomain"  # `iotcloud user add` default, confirmed


class Base(TwoUserCase):
    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.assert_running()

    def device(self, token=None):
        return register_device(self.api, token or self.token, self.dir)

    def pub(self, dev, payload, api="telemetry", qos=1):
        if not isinstance(payload, str):
            payload = json.dumps(payload)
        p = subprocess.run(["mosquitto_pub", "-h", "localhost", "-p", str(self.srv.tls_port),
                            "--cafile", self.srv.cafile, "--cert", dev.cert, "--key", dev.key,
                            "-i", dev.id, "-q", str(qos), "-t", "server/%s/%s" % (dev.id, api),
                            "-m", payload], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)

    def call(self, method, path, body=None, token=None, status=200):
        r = self.api.call(method, path, body, token=token or self.token)
        self.assertEqual(r.status, status, r.raw)
        return r.json

    def create(self, body, token=None, status=201):
        body = dict(body)
        body.setdefault("name", uname("rule"))
        return self.call("POST", "/v1/rules", body, token=token, status=status)

    def rule(self, rid, token=None):
        return self.call("GET", "/v1/rules/" + rid, token=token)

    def wait(self, what, fn, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            got = fn()
            if got or time.monotonic() > deadline:
                self.assertTrue(got, "waiting for " + what)
                return got
            time.sleep(0.05)

    def wait_counter(self, rid, name, n, token=None):
        return self.wait("%s >= %d" % (name, n),
                         lambda: self.rule(rid, token)["counters"][name] >= n and
                         self.rule(rid, token))

    def alarms(self, query="", token=None):
        return self.call("GET", "/v1/alarms" + query, token=token)["alarms"]


@iotcloud_only("rules are iotcloud's")
class CrudCase(Base):
    EXTRA = ("--max-rules-per-user", "3")

    def test_create_read_update_delete(self):
        dev = self.device()
        r = self.create({"sql": "SELECT temp FROM 'server/+/telemetry' WHERE temp > 30",
                         "description": "hot",
                         "actions": [{"type": "alarm_raise", "alarm": "hot"}]})
        rid = r["id"]
        self.assertTrue(r["enabled"])
        self.assertEqual(r["counters"], {"matched": 0, "actions_ok": 0, "actions_failed": 0,
                                         "dropped": 0, "last_error": None, "last_error_at": 0})
        self.assertEqual(self.rule(rid)["description"], "hot")
        self.assertIn(rid, [x["id"] for x in self.call("GET", "/v1/rules")["rules"]])
        # another user sees nothing of it
        self.call("GET", "/v1/rules/" + rid, token=self.other_token, status=404)
        self.call("DELETE", "/v1/rules/" + rid, token=self.other_token, status=404)
        self.call("POST", "/v1/rules/%s/disable" % rid, token=self.other_token, status=404)
        self.assertEqual(self.call("GET", "/v1/rules", token=self.other_token)["rules"], [])
        # patch replaces top-level fields; the rest stays
        p = self.call("PATCH", "/v1/rules/" + rid,
                      {"name": "renamed", "sql": "SELECT * FROM 'server/%s/#'" % dev.id})
        self.assertEqual((p["name"], p["description"]), ("renamed", "hot"))
        self.assertEqual(p["actions"], [{"type": "alarm_raise", "alarm": "hot"}])
        self.assertFalse(self.call("POST", "/v1/rules/%s/disable" % rid)["enabled"])
        self.assertFalse(self.rule(rid)["enabled"])
        self.assertTrue(self.call("POST", "/v1/rules/%s/enable" % rid)["enabled"])
        bad = self.call("PATCH", "/v1/rules/" + rid, {"condition": "x >"}, status=400)
        self.assertEqual(bad["error"]["field"], "condition")
        self.assertEqual(self.rule(rid)["name"], "renamed", "a refused patch changes nothing")
        self.call("DELETE", "/v1/rules/" + rid, status=204)
        self.call("GET", "/v1/rules/" + rid, status=404)
        self.call("DELETE", "/v1/rules/" + rid, status=404)

    def test_malformed_rules_name_field_and_position(self):
        act = [{"type": "alarm_clear", "alarm": "x"}]
        cases = [
            ({"sql": "SELECT * FROM 'a/b' WHERE temp >", "actions": act}, "sql",
             "at position 32: unexpected end"),
            ({"sql": "SELECT * FORM 'a'", "actions": act}, "sql", "at position 9: expected FROM"),
            ({"source": "a/#/b", "actions": act}, "source", "filter"),
            ({"source": "a/b", "condition": "abs(1, 2)", "actions": act}, "condition",
             "at position 5: abs takes at most 1"),
            ({"source": "a/b", "condition": "round(x) > 'unterminated", "actions": act},
             "condition", "at position 11: unterminated string"),
            ({"source": "a/b", "actions": []}, "actions", "at least one"),
            ({"source": "a/b", "actions": [{"type": "explode"}]}, "actions[0].type", "expected"),
            ({"source": "a/b", "actions": [{"type": "republish", "topic": "other/x"}]},
             "actions[0].topic", "server/"),
            ({"source": "a/b", "actions": [{"type": "notify", "recipient": "a@b.c"}]},
             "actions[0].message", "required"),
            ({"source": "a/b", "actions": [{"type": "alarm_raise", "alarm": "t",
                                            "severity": "apocalyptic"}]},
             "actions[0].severity", "major"),
            ({"source": "a/b", "actions": [{"type": "alarm_raise", "alarm": "t", "bogus": 1}]},
             "actions[0].bogus", ""),
            ({"sql": "SELECT * FROM 'a'", "source": "a", "actions": act}, "source", "either"),
            ({"source": "a/b", "condition": "(" * 40 + "1" + ")" * 40, "actions": act},
             "condition", "nested deeper than 32"),
            ({"source": "a/b", "condition": "1 = 1 " * 1000, "actions": act}, "condition",
             "4096"),
        ]
        for body, field, text in cases:
            with self.subTest(body=body):
                e = self.create(body, status=400)["error"]
                self.assertEqual(e["field"], field, e)
                self.assertIn(text, e["message"])
        self.assertEqual(self.call("POST", "/v1/rules", "not json", status=400)["error"]["code"],
                         "bad_json")

    def test_republish_only_to_own_devices(self):
        mine = self.device()
        theirs = self.device(self.other_token)
        body = {"source": "server/+/telemetry",
                "actions": [{"type": "republish", "topic": "server/%s/alerts" % theirs.id}]}
        e = self.create(body, status=400)["error"]
        self.assertIn("not one of your devices", e["message"])
        body["actions"][0]["topic"] = "server/no-such-device/alerts"
        self.create(body, status=400)
        body["actions"][0]["topic"] = "server/%s/alerts" % mine.id
        rid = self.create(body)["id"]
        body["actions"][0]["topic"] = "server/%s/alerts" % theirs.id
        self.call("PATCH", "/v1/rules/" + rid, {"actions": body["actions"]}, status=400)
        body["actions"][0]["topic"] = "server/${deviceid()}/alerts"
        self.call("PATCH", "/v1/rules/" + rid, {"actions": body["actions"]})
        self.call("DELETE", "/v1/rules/" + rid, status=204)

    def test_quota(self):
        body = {"source": "server/+/x", "actions": [{"type": "alarm_clear", "alarm": "a"}]}
        tok = self.api.login(self.other)
        ids = [self.create(body, token=tok)["id"] for _ in range(3)]
        e = self.create(body, token=tok, status=409)["error"]
        self.assertEqual(e["code"], "quota_exceeded")
        for rid in ids:
            self.call("DELETE", "/v1/rules/" + rid, token=tok, status=204)

    def test_rule_test_endpoint_has_no_side_effects(self):
        dev = self.device()
        rule = {"sql": "SELECT temp, round(temp * 1.8 + 32, 1) AS f, deviceid() AS dev "
                       "FROM 'server/+/telemetry' WHERE temp > 30 AND startswith(topic(3), 'tele')",
                "actions": [{"type": "republish", "topic": "server/${deviceid()}/hot",
                             "payload": "{\"f\": ${f}, \"d\": \"${dev}\"}"},
                            {"type": "alarm_raise", "alarm": "hot", "severity": "critical"}]}
        t = self.call("POST", "/v1/rules/test",
                      {"rule": rule, "topic": "server/%s/telemetry" % dev.id,
                       "payload": {"temp": 35.5}})
        self.assertTrue(t["matched"])
        self.assertEqual(t["selection"], {"temp": 35.5, "f": 95.9, "dev": dev.id})
        self.assertEqual(t["actions"][0], {"type": "republish", "topic": "server/%s/hot" % dev.id,
                                           "payload": "{\"f\": 95.9, \"d\": \"%s\"}" % dev.id})
        self.assertEqual(t["actions"][1]["severity"], "critical")
        t = self.call("POST", "/v1/rules/test",
                      {"rule": rule, "topic": "server/%s/telemetry" % dev.id,
                       "payload": "{\"temp\": 20}"})
        self.assertEqual((t["matched"], t["selection"], t["actions"]), (False, None, []))
        e = self.call("POST", "/v1/rules/test",
                      {"rule": {"sql": "SELECT * FROM 'a' WHERE", "actions": rule["actions"]},
                       "topic": "a"}, status=400)["error"]
        self.assertEqual(e["field"], "rule.sql")
        self.assertEqual(self.alarms(), [], "test raised nothing")


@iotcloud_only("rules are iotcloud's")
class ActionCase(Base):
    @classmethod
    def setUpClass(cls):
        cls.sink = SmtpSink().start()
        cls.EXTRA = ("--smtp-url", cls.sink.url, "--smtp-insecure", "--smtp-from",
                     "noreply@iot.example", "--notify-burst", "100", "--notify-rate", "100")
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.sink.stop()

    def mail_with(self, text, timeout=WAIT):
        return self.wait("a mail with " + text,
                         lambda: [m for m in list(self.sink.messages) if text in m.body])[0]

    def app(self, user, token, topic):
        c = mqtt_client(self.srv, uname("app"), username=user, password=token)
        self.clients.append(c)
        self.assertEqual(c.connect()[0], 0)
        self.assertEqual(c.subscribe(topic, 1), [1])
        return c

    def test_republish_templates_and_isolation(self):
        sensor, panel = self.device(), self.device()
        rid = self.create({
            "sql": "SELECT temp, temp * 1.8 + 32 AS f FROM 'server/+/telemetry' WHERE temp > 30",
            "actions": [{"type": "republish", "topic": "server/%s/display" % panel.id,
                         "payload": "{\"from\": \"${deviceid()}\", \"f\": ${f}}", "qos": 1},
                        {"type": "republish", "topic": "server/${deviceid()}/echo"}]})["id"]
        spy_rid = self.create({"source": "server/+/telemetry",
                               "actions": [{"type": "alarm_raise", "alarm": "spy"}]},
                              token=self.other_token)["id"]
        app = self.app(self.user, self.token, "server/%s/display" % panel.id)
        echo = self.app(self.user, self.token, "server/%s/echo" % sensor.id)
        self.pub(sensor, {"temp": 20})
        self.pub(sensor, {"temp": 35})
        got = app.wait_messages(1)
        self.assertEqual(json.loads(got[0].payload), {"from": sensor.id, "f": 95})
        self.assertEqual(got[0].topic, "server/%s/display" % panel.id)
        self.assertEqual(json.loads(echo.wait_messages(1)[0].payload), {"temp": 35, "f": 95})
        r = self.wait_counter(rid, "matched", 1)
        self.assertEqual(r["counters"]["actions_ok"], 2)
        time.sleep(0.3)
        self.assertEqual(len(app.messages), 1, "20 does not pass the WHERE")
        # the other user's catch-all rule never saw this user's messages
        self.assertEqual(self.rule(spy_rid, self.other_token)["counters"]["matched"], 0)
        self.assertEqual(self.alarms(token=self.other_token), [])
        # a disabled rule does nothing
        self.call("POST", "/v1/rules/%s/disable" % rid)
        self.pub(sensor, {"temp": 40})
        time.sleep(0.3)
        self.assertEqual(len(app.messages), 1)
        self.assertEqual(self.rule(rid)["counters"]["matched"], 1)

    def test_telemetry_and_shadow_actions(self):
        dev = self.device()
        rid = self.create({
            "sql": "SELECT round((temp - 32) / 1.8, 2) AS c, on FROM 'server/+/raw'",
            "actions": [{"type": "telemetry", "keys": {"temp_c": "c"}},
                        {"type": "shadow", "section": "reported", "keys": ["c", "on"]}]})["id"]
        self.pub(dev, {"temp": 212, "on": True}, api="raw")
        self.wait_counter(rid, "actions_ok", 2)
        series = self.call("GET", "/v1/devices/%s/telemetry?keys=temp_c&from=0" % dev.id)
        self.assertEqual([p["v"] for p in series["series"]["temp_c"]], [100.0])
        shadow = self.call("GET", "/v1/devices/%s/shadows" % dev.id)["classic"]
        self.assertEqual(shadow["state"]["reported"], {"c": 100, "on": True})
        # a desired change reaches the connected device as a delta, like a REST update
        self.create({"sql": "SELECT level AS fan FROM 'server/+/fan'",
                     "actions": [{"type": "shadow", "section": "desired"}]})
        d = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile))
        self.clients.append(d)
        self.assertEqual(d.connect()[0], 0)
        delta = "$aws/things/%s/shadow/update/delta" % dev.id
        self.assertEqual(d.subscribe(delta, 1), [1])
        d.publish("server/%s/fan" % dev.id, b'{"level": 3}', qos=1)
        m = d.wait_messages(1, topic=delta)
        self.assertEqual(json.loads(m[0].payload)["state"], {"fan": 3})

    def test_notify_action_and_failures(self):
        dev = self.device()
        tag = uuid.uuid4().hex
        ok = self.create({"source": "server/+/door", "condition": "open = true",
                          "actions": [{"type": "notify", "recipient": own_email(self.user),
                                       "message": "door ${name} opened " + tag}]})["id"]
        bad = self.create({"source": "server/+/door",
                           "actions": [{"type": "notify", "recipient": "stranger@example.org",
                                        "message": "hello"},
                                       {"type": "telemetry", "keys": {"x": "missing"}}]})["id"]
        self.pub(dev, {"open": True, "name": "front"}, api="door")
        mail = self.mail_with("door front opened " + tag)
        self.assertIn(own_email(self.user), mail.rcpt_tos)
        r = self.wait_counter(bad, "actions_failed", 2)
        self.assertEqual(r["counters"]["actions_ok"], 0)
        self.assertIn("missing", r["counters"]["last_error"])
        self.assertGreater(r["counters"]["last_error_at"], 0)
        dead = self.call("GET", "/v1/rules/%s/deadletters" % bad)["deadletters"]
        self.assertEqual(len(dead), 1)
        self.assertEqual(dead[0]["message"], {"open": True, "name": "front"})
        self.assertEqual(self.wait_counter(ok, "actions_ok", 1)["counters"]["actions_failed"], 0)
        self.call("GET", "/v1/rules/%s/deadletters" % bad, token=self.other_token, status=404)

    def test_alarms_raise_dedup_ack_clear(self):
        dev, dev2 = self.device(), self.device()
        self.create({"source": "server/+/telemetry", "condition": "temp > 30",
                     "actions": [{"type": "alarm_raise", "alarm": "overheat",
                                  "severity": "critical", "details": "temp ${temp}",
                                  "notify": own_email(self.user)}]})
        self.create({"source": "server/+/telemetry", "condition": "temp < 25",
                     "actions": [{"type": "alarm_clear", "alarm": "overheat"}]})
        self.pub(dev, {"temp": 35})
        self.pub(dev, {"temp": 36})
        self.pub(dev2, {"temp": 31})
        q = "?device=" + dev.id
        a = self.wait("count 2", lambda: [x for x in self.alarms(q) if x["count"] == 2])[0]
        self.assertEqual((a["type"], a["severity"], a["state"], a["acknowledged"]),
                         ("overheat", "critical", "active", False))
        self.assertEqual(a["details"], {"text": "temp 36"})
        self.assertEqual(len(self.alarms(q)), 1, "de-duplicated while active")
        self.mail_with("Alarm overheat (critical) raised on device " + dev.id)
        self.wait("dev2's alarm", lambda: self.alarms("?device=" + dev2.id))
        self.assertEqual(len(self.alarms("?state=active&severity=critical")), 2)
        self.assertEqual(self.alarms("?severity=minor"), [])
        # acknowledge, then a rule clears it
        self.call("POST", "/v1/alarms/%d/ack" % a["id"], token=self.other_token, status=404)
        acked = self.call("POST", "/v1/alarms/%d/ack" % a["id"])
        self.assertTrue(acked["acknowledged"])
        self.assertEqual(acked["acked_by"], self.user)
        self.assertEqual(len(self.alarms("?ack=true")), 1)
        self.pub(dev, {"temp": 20})
        c = self.wait("cleared", lambda: self.alarms(q + "&state=cleared"))[0]
        self.assertEqual((c["id"], c["cleared_by"]), (a["id"], "rule"))
        # raised again after the clear: a new alarm, the old one is history
        self.pub(dev, {"temp": 33})
        self.wait("raised again", lambda: self.alarms(q + "&state=active"))
        self.assertEqual(len(self.alarms(q)), 2)
        # cleared by hand; twice is 409; bad filters are 400
        b = self.alarms("?device=" + dev2.id)[0]
        self.call("POST", "/v1/alarms/%d/clear" % b["id"], token=self.other_token, status=404)
        self.assertEqual(self.call("POST", "/v1/alarms/%d/clear" % b["id"])["state"], "cleared")
        self.call("POST", "/v1/alarms/%d/clear" % b["id"], status=409)
        self.call("GET", "/v1/alarms/999999999", status=404)
        self.call("GET", "/v1/alarms/abc", status=404)
        self.call("GET", "/v1/alarms?state=sleepy", status=400)
        self.call("GET", "/v1/alarms?limit=0", status=400)
        self.assertEqual(self.call("GET", "/v1/alarms/%d" % b["id"])["cleared_by"], self.user)


@iotcloud_only("rules are iotcloud's")
class RestartCase(Base):
    def test_rules_alarms_and_queued_work_survive(self):
        dev = self.device()
        rid = self.create({"source": "server/+/telemetry", "condition": "temp > 30",
                           "actions": [{"type": "alarm_raise", "alarm": "hot"},
                                       {"type": "telemetry", "keys": {"hot_temp": "temp"}}]})["id"]
        self.pub(dev, {"temp": 40})
        self.wait("alarm", lambda: self.alarms())
        # a burst, then a clean stop at once: what the rule queued is done before exit
        for t in range(31, 41):
            self.pub(dev, {"temp": t}, qos=1)
        self.assertEqual(self.srv.signal_and_wait(), 0)
        self.srv.start()
        self.token = self.api.login(self.user)
        r = self.rule(rid)
        self.assertEqual(r["counters"]["matched"], 11)
        series = self.call("GET", "/v1/devices/%s/telemetry?keys=hot_temp&from=0" % dev.id)
        self.assertEqual(len(series["series"]["hot_temp"]), 11)
        self.assertEqual(self.alarms()[0]["count"], 11)
        # the reloaded rule runs; after a kill -9 the committed state is there
        self.pub(dev, {"temp": 50})
        self.wait_counter(rid, "matched", 12)
        self.srv.kill9()
        self.srv.start()
        self.token = self.api.login(self.user)
        self.assertEqual(self.rule(rid)["counters"]["matched"], 12)
        self.assertEqual(self.alarms()[0]["count"], 12)


class Receiver:
    """A local HTTPS server recording every POST; answers statuses.pop(0) (200 when empty)."""

    def __init__(self, directory):
        self.cert = os.path.join(directory, "hook.crt")
        key = os.path.join(directory, "hook.key")
        p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
                            self.cert, "-days", "1", "-subj", "/CN=localhost", "-addext",
                            "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert p.returncode == 0, p.stderr
        self.key = key
        self.posts = []
        self.statuses = []
        self.lock = threading.Lock()
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with rec.lock:
                    rec.posts.append((self.path, dict(self.headers), body))
                    status = rec.statuses.pop(0) if rec.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path):
        return "https://localhost:%d%s" % (self.port, path)

    def on(self, path):
        with self.lock:
            return [p for p in self.posts if p[0] == path]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@iotcloud_only("rules are iotcloud's")
class WebhookCase(Base):
    @classmethod
    def setUpClass(cls):
        cls.hookdir = tempfile.mkdtemp(prefix="iotcloud-hook-")
        cls.recv = Receiver(cls.hookdir)
        cls.EXTRA = ("--rule-webhook-ca", cls.recv.cert)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.recv.stop()
        shutil.rmtree(cls.hookdir, ignore_errors=True)

    def hook(self, path, **kw):
        a = {"type": "webhook", "url": self.recv.url(path)}
        a.update(kw)
        return a

    def test_delivery_signature_and_secret_hidden(self):
        dev = self.device()
        secret = "s3cret-" + uuid.uuid4().hex
        rid = self.create({"source": "server/+/hook_a", "condition": "temp > 30",
                           "actions": [self.hook("/a", body="{\"t\": ${temp}, \"d\": "
                                                           "\"${deviceid()}\"}", secret=secret)]})["id"]
        self.assertEqual(self.rule(rid)["actions"][0]["secret"], "***")
        self.assertNotIn(secret, json.dumps(self.call("GET", "/v1/rules")))
        self.pub(dev, {"temp": 31}, api="hook_a")
        path, headers, body = self.wait("a POST", lambda: self.recv.on("/a"))[0]
        self.assertEqual(json.loads(body), {"t": 31, "d": dev.id})
        want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        self.assertEqual(headers["X-Iotcloud-Signature"], want)
        self.assertEqual(headers["X-Iotcloud-Rule"], rid)
        self.assertEqual(headers["Content-Type"], "application/json")
        r = self.wait_counter(rid, "actions_ok", 1)
        self.assertEqual(r["counters"]["actions_failed"], 0)
        e = self.create({"source": "a/b", "actions": [{"type": "webhook",
                                                       "url": "http://localhost/x"}]},
                        status=400)["error"]
        self.assertEqual(e["field"], "actions[0].url")

    def test_retries_with_backoff_then_delivered(self):
        dev = self.device()
        self.recv.statuses[:] = [500, 503]
        rid = self.create({"source": "server/+/hook_b",
                           "actions": [self.hook("/b", retries=3)]})["id"]
        self.pub(dev, {"temp": 5}, api="hook_b")
        posts = self.wait("3 attempts", lambda: len(self.recv.on("/b")) >= 3 and
                          self.recv.on("/b"))
        self.assertEqual([json.loads(p[2]) for p in posts], [{"temp": 5}] * 3)
        r = self.wait_counter(rid, "actions_ok", 1)
        self.assertEqual(r["counters"]["actions_failed"], 0)
        self.assertEqual(self.call("GET", "/v1/rules/%s/deadletters" % rid)["deadletters"], [])

    def test_dead_letter_after_the_last_attempt(self):
        dev = self.device()
        rid = self.create({"source": "server/+/hook_d",
                           "actions": [{"type": "webhook", "url": "https://127.0.0.1:1/none",
                                        "retries": 1, "timeout_ms": 1000}]})["id"]
        self.pub(dev, {"temp": 7}, api="hook_d")
        r = self.wait_counter(rid, "actions_failed", 1)
        self.assertIn("after 2 attempt(s)", r["counters"]["last_error"])
        dead = self.call("GET", "/v1/rules/%s/deadletters" % rid)["deadletters"]
        self.assertEqual(len(dead), 1)
        self.assertEqual(dead[0]["message"]["url"], "https://127.0.0.1:1/none")
        self.assertEqual(json.loads(dead[0]["message"]["body"]), {"temp": 7})

    def test_pending_post_survives_a_restart(self):
        dev = self.device()
        self.recv.statuses[:] = [503]
        rid = self.create({"source": "server/+/hook_c",
                           "actions": [self.hook("/c", retries=5)]})["id"]
        self.pub(dev, {"temp": 9}, api="hook_c")
        self.wait("a first attempt", lambda: self.recv.on("/c"))
        self.assertEqual(self.srv.signal_and_wait(), 0)  # the retry is due in ~1 s
        self.srv.start()
        self.token = self.api.login(self.user)
        posts = self.wait("the retry", lambda: len(self.recv.on("/c")) >= 2 and self.recv.on("/c"))
        self.assertEqual(json.loads(posts[1][2]), {"temp": 9})
        self.wait_counter(rid, "actions_ok", 1)


if __name__ == "__main__":
    unittest.main()
