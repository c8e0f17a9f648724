"""Device notifications end to end: a real SMTP server (aiosmtpd), a local HTTP SMS
gateway (sms_sink), the owner's allow-list, refusals visible to the owner, the per-device
rate limit, retries after a gateway error, and another user's 404.

The owner's POST /v1/devices/{id}/notifications/direct takes the same path as a device's
trigger_notification (rate limit, recipient check, record + outbox in one job) without
asking the device (POST /v1/devices/{id}/notifications asks the device, which then
publishes trigger_notification: TestDeviceTrigger covers the MQTT half)."""

import json
import os
import time
import unittest
import uuid

from device_harness import (Api, DeviceServer, mqtt_client, register_device, scratch_dir,
                            uname)
from smtp_sink import SmtpSink
from sms_sink import SmsSink, basic

SMS_USER = "gateway-user"
SMS_PASSWORD = "gw-" + uuid.uuid4().hex
BURST = 4
HERE = os.path.dirname(os.path.abspath(__file__))


def own_email(user):
    return user + "@localhost.localdomain"  # `iotcloud user add` default, confirmed


def phone():
    return "+4477%08d" % (uuid.uuid4().int % 10 ** 8)



class NotifyCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = SmtpSink().start()
        cls.gw = SmsSink().start()
        os.environ["IOTCLOUD_SMS_PASSWORD"] = SMS_PASSWORD
        cls.srv = DeviceServer(extra_args=[
            "--smtp-url", cls.sink.url, "--smtp-insecure", "--smtp-from", "noreply@iot.example",
            "--sms-url", cls.gw.url, "--sms-user", SMS_USER, "--sms-from", "IOTCLOUD",
            "--notify-burst", str(BURST), "--notify-rate", "1"])
        cls.alice = cls.srv.add_user(uname("alice"))
        cls.bob = cls.srv.add_user(uname("bob"))
        cls.srv.start()
        cls.addClassCleanup(cls.srv.kill9)  # runs even when setUpClass raises below
        del os.environ["IOTCLOUD_SMS_PASSWORD"]
        cls.api = Api(cls.srv)
        cls.dir = scratch_dir()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.sink.stop()
        cls.gw.stop()

    def setUp(self):
        self.tok = self.api.login(self.alice)

    def tearDown(self):
        self.srv.assert_running()

    def device(self, token=None):
        return register_device(self.api, token or self.tok, self.dir)

    def allow(self, recipients, token=None):
        r = self.api.call("PUT", "/v1/me/notification-recipients", {"recipients": recipients},
                          token=token or self.tok)
        self.assertEqual(r.status, 200, r.raw)
        return r.json

    def notifications(self, dev_id, token=None, query=""):
        r = self.api.call("GET", "/v1/devices/%s/notifications%s" % (dev_id, query),
                          token=token or self.tok)
        self.assertEqual(r.status, 200, r.raw)
        return r.json

    def wait_status(self, dev_id, nid, status, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            rows = [n for n in self.notifications(dev_id)["notifications"] if n["id"] == nid]
            if rows and rows[0]["status"] == status:
                return rows[0]
            if time.monotonic() > deadline:
                raise AssertionError("notification %d never became %s: %r" % (nid, status, rows))
            time.sleep(0.1)

    def mail_with(self, text, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in list(self.sink.messages) if text in m.body]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError("no mail with %r" % text)

    def wait_rows(self, dev_id, n, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            rows = self.notifications(dev_id)["notifications"]
            if len(rows) >= n:
                return rows
            if time.monotonic() > deadline:
                raise AssertionError("expected %d notifications, got %r" % (n, rows))
            time.sleep(0.05)


class TestOwnerPost(NotifyCase):
    def post(self, dev_id, body, token=None):
        return self.api.call("POST", "/v1/devices/%s/notifications/direct" % dev_id, body,
                             token=token or self.tok)

    def test_own_confirmed_email_gets_the_mail(self):
        dev = self.device()
        text = "temperature high: 41.5 °C " + uuid.uuid4().hex
        r = self.post(dev.id, {"recipient": own_email(self.alice), "message": text, "rid": "r1"})
        self.assertEqual(r.status, 202, r.raw)
        self.assertEqual(r.json["status"], "queued")
        mail = self.mail_with(text)
        self.assertIn(own_email(self.alice), mail.rcpt_tos)
        self.assertIn(dev.reg["name"], mail.subject)
        self.assertTrue(mail.subject.startswith("Notification from device"), mail.subject)
        self.assertIn("noreply@iot.example", mail.mail_from)
        row = self.wait_status(dev.id, r.json["id"], "sent")
        self.assertEqual((row["channel"], row["recipient"], row["rid"], row["attempts"]),
                         ("mail", own_email(self.alice), "r1", 1))
        self.assertIsNotNone(row["sent_at"])

    def test_allow_listed_phone_gets_an_sms_with_the_documented_fields(self):
        dev = self.device()
        number = phone()
        view = self.allow([number, "friend@example.org"])
        self.assertEqual(sorted(view["recipients"]), sorted([number, "friend@example.org"]))
        self.assertEqual(view["always_allowed"], [own_email(self.alice)])
        text = "door opened & closed " + uuid.uuid4().hex
        r = self.post(dev.id, {"recipient": number, "message": text})
        self.assertEqual(r.status, 202, r.raw)
        sms = self.gw.wait_for(number)
        self.assertEqual(sms.path, "/send")
        self.assertEqual(sms.form, {"to": number, "from": "IOTCLOUD", "text": text})
        self.assertEqual(sms.auth, basic(SMS_USER, SMS_PASSWORD))
        self.assertTrue(sms.content_type.startswith("application/x-www-form-urlencoded"))
        self.wait_status(dev.id, r.json["id"], "sent")
        self.assertNotIn(SMS_PASSWORD, self.srv.stderr_text())

    def test_recipient_not_allowed_is_refused_and_visible(self):
        dev = self.device()
        self.allow([])
        stranger = "victim-%s@example.com" % uuid.uuid4().hex[:8]
        r = self.post(dev.id, {"recipient": stranger, "message": "buy now"})
        self.assertEqual(r.status, 403, r.raw)
        self.assertEqual(r.json["error"]["code"], "recipient_not_allowed")
        row = self.notifications(dev.id)["notifications"][0]
        self.assertEqual((row["status"], row["reason"], row["recipient"]),
                         ("refused", "recipient_not_allowed", stranger))
        self.assertEqual(self.sink.count(stranger), 0)

    def test_bad_bodies_are_400(self):
        dev = self.device()
        for body in ({"recipient": "not an address", "message": "x"},
                     {"recipient": "+12", "message": "x"},
                     {"recipient": own_email(self.alice), "message": ""},
                     {"recipient": own_email(self.alice), "message": "x" * 1001},
                     {"recipient": own_email(self.alice), "message": "bell\u0007"}):
            r = self.post(dev.id, body)
            self.assertEqual(r.status, 400, (body, r.raw))
        r = self.api.call("PUT", "/v1/me/notification-recipients",
                          {"recipients": ["+1%010d" % i for i in range(51)]}, token=self.tok)
        self.assertEqual(r.status, 429, r.raw)  # the default max-recipients-per-user, 50
        self.assertEqual(r.json["error"]["quota"], "recipients", r.raw)
        r = self.api.call("PUT", "/v1/me/notification-recipients", {"recipients": ["nope"]},
                          token=self.tok)
        self.assertEqual(r.status, 400, r.raw)

    def test_rate_limit_refuses_after_the_burst(self):
        dev = self.device()
        codes = [self.post(dev.id, {"recipient": own_email(self.alice),
                                    "message": "n%d" % i}).status for i in range(BURST + 2)]
        self.assertEqual(codes, [202] * BURST + [429, 429])

    def test_gateway_error_is_retried_then_sent(self):
        dev = self.device()
        number = phone()
        self.allow([number])
        self.gw.plan(500)
        r = self.post(dev.id, {"recipient": number, "message": "retry me"})
        self.assertEqual(r.status, 202, r.raw)
        row = self.wait_status(dev.id, r.json["id"], "sent")
        posts = self.gw.to(number)
        self.assertEqual([p.status for p in posts], [500, 200])
        self.assertEqual(row["attempts"], 2)
        self.assertIsNone(row["last_error"])

    def test_gateway_4xx_fails_for_good(self):
        dev = self.device()
        number = phone()
        self.allow([number])
        self.gw.plan(400)
        r = self.post(dev.id, {"recipient": number, "message": "bad request"})
        row = self.wait_status(dev.id, r.json["id"], "failed")
        self.assertIn("400", row["last_error"])
        self.assertEqual(len(self.gw.to(number)), 1)

    def test_another_user_gets_404(self):
        dev = self.device()
        tok_b = self.api.login(self.bob)
        for method, path, body in (("GET", "", None),
                                   ("POST", "/direct", {"recipient": own_email(self.bob),
                                                        "message": "hi"})):
            r = self.api.call(method, "/v1/devices/%s/notifications%s" % (dev.id, path), body,
                              token=tok_b)
            self.assertEqual(r.status, 404, r.raw)
        r = self.api.call("GET", "/v1/devices/%s/notifications" % ("d" + "0" * 24), token=tok_b)
        self.assertEqual(r.status, 404, r.raw)

    def test_paging_newest_first(self):
        dev = self.device()
        ids = [self.post(dev.id, {"recipient": own_email(self.alice),
                                  "message": "p%d" % i}).json["id"] for i in range(3)]
        page = self.notifications(dev.id, query="?limit=2")
        self.assertEqual([n["id"] for n in page["notifications"]], ids[::-1][:2])
        rest = self.notifications(dev.id, query="?limit=2&before=%d" % page["next"])
        self.assertEqual([n["id"] for n in rest["notifications"]], ids[:1])
        self.assertIsNone(rest["next"])


class TestDeviceTrigger(NotifyCase):
    def connect(self, dev):
        c = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile))
        self.addCleanup(c.close)
        self.assertEqual(c.connect()[0], 0)
        return c

    def trigger(self, c, dev, body, api="trigger_notification"):
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        c.publish("server/%s/%s" % (dev.id, api), payload, qos=1)

    def test_device_mail_and_sms(self):
        dev = self.device()
        number = phone()
        self.allow([number])
        c = self.connect(dev)
        text = "from the device " + uuid.uuid4().hex
        self.trigger(c, dev, {"recipient": own_email(self.alice), "message": text})
        self.trigger(c, dev, {"recipient": number, "message": text, "rid": "x1"},
                     api="trigger_notifications")
        mail = self.mail_with(text)
        self.assertIn(own_email(self.alice), mail.rcpt_tos)
        sms = self.gw.wait_for(number)
        self.assertEqual(sms.form["text"], text)
        rows = self.wait_rows(dev.id, 2)
        self.assertEqual({r["channel"] for r in rows}, {"mail", "sms"})

    def test_device_refused_and_rate_limited(self):
        dev = self.device()
        c = self.connect(dev)
        stranger = "spam-%s@example.com" % uuid.uuid4().hex[:8]
        self.trigger(c, dev, {"recipient": stranger, "message": "spam"})
        rows = self.wait_rows(dev.id, 1)
        self.assertEqual((rows[0]["status"], rows[0]["reason"]),
                         ("refused", "recipient_not_allowed"))
        self.trigger(c, dev, b"not json")
        rows = self.wait_rows(dev.id, 2)
        self.assertEqual(rows[0]["reason"], "invalid_payload")
        for i in range(BURST + 3):  # two tokens were spent above
            self.trigger(c, dev, {"recipient": own_email(self.alice), "message": "m%d" % i})
        rows = self.wait_rows(dev.id, 2 + (BURST - 2) + 1)
        limited = [r for r in rows if r["reason"] == "rate_limited"]
        self.assertEqual(len(limited), 1, rows)  # one record per run of refusals
        self.assertEqual(self.sink.count(stranger), 0)


if __name__ == "__main__":
    unittest.main()
