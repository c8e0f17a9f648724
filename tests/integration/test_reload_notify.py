"""Reload of the mail settings (issue 22): SIGHUP / `iotcloud reload` hands the notifier new
SMTP settings; the next mail goes to the new server, a bad value is refused with the whole
reload (the old settings stay), and the SMTP password never reaches the log or the answer."""

import os
import subprocess
import tempfile
import unittest
import uuid

from device_harness import Api, DeviceServer, register_device, scratch_dir, uname
from harness import iotcloud_bin, iotcloud_only
from http_harness import Http, HttpServer
from sms_sink import SmsSink, basic
from smtp_sink import SmtpSink

PW = "correct horse battery"
SECRET = "smtp-secret-" + uuid.uuid4().hex[:8]


def new_user():
    n = "r" + uuid.uuid4().hex[:10]
    return {"username": n, "password": PW, "email": n + "@example.com",
            "given_name": "Ada", "family_name": "Lovelace"}


@iotcloud_only("reload through the admin socket")
class ReloadMailSettings(unittest.TestCase):
    def setUp(self):
        self.a = SmtpSink().start()
        self.b = SmtpSink().start()
        self.conf = tempfile.mktemp(prefix="iotcloud-ntfreload-", suffix=".conf")
        self.write_conf(self.a.url)
        self.srv = HttpServer(extra_args=["--config", self.conf]).start()
        self.http = Http(self.srv)

    def tearDown(self):
        self.srv.stop()
        self.a.stop()
        self.b.stop()
        if os.path.exists(self.conf):
            os.unlink(self.conf)

    def write_conf(self, url, **extra):
        settings = {"smtp-url": url, "smtp-insecure": "true", "smtp-from": "a@iot.example",
                    "smtp-user": "mailer"}
        settings.update(extra)
        with open(self.conf, "w") as f:
            for k, v in settings.items():
                f.write("%s %s\n" % (k, v))

    def reload(self):
        return subprocess.run([iotcloud_bin(), "reload", "--data-dir", self.srv.data_dir],
                              capture_output=True, text=True, timeout=20)

    def signup(self):
        u = new_user()
        r = self.http.call("POST", "/v1/auth/signup", u)
        self.assertEqual(r.status, 202, r.raw)
        return u["email"]

    def test_next_mail_goes_to_the_new_server(self):
        to = self.signup()
        self.a.wait_for(to)
        self.write_conf(self.b.url, **{"smtp-from": "b@iot.example", "smtp-password": SECRET})
        r = self.reload()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("kept until a restart", r.stdout)
        to = self.signup()
        mail = self.b.wait_for(to)
        self.assertIn("b@iot.example", mail.mail_from)
        self.assertEqual(self.a.count(to), 0)
        self.assertNotIn(SECRET, r.stdout + r.stderr)
        self.assertNotIn(SECRET, self.srv.stderr_text())
        self.srv.assert_running()

    def test_bad_smtp_url_is_refused_and_the_old_server_stays(self):
        self.write_conf("ftp://127.0.0.1:1")
        r = self.reload()
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("smtp-url must start with smtp://", r.stderr)
        to = self.signup()
        self.a.wait_for(to)
        self.srv.assert_running()

    def test_bad_from_is_refused(self):
        self.write_conf(self.b.url, **{"smtp-from": "not an address"})
        r = self.reload()
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("from must be one plain e-mail address", r.stderr)
        to = self.signup()
        self.a.wait_for(to)
        self.assertEqual(self.b.count(to), 0)


def write_conf(path, settings):
    with open(path, "w") as f:
        for k, v in settings.items():
            f.write("%s %s\n" % (k, v))


@iotcloud_only("reload through the admin socket")
class ReloadSmsGateway(unittest.TestCase):
    def setUp(self):
        self.a = SmsSink().start()
        self.b = SmsSink().start()
        self.conf = tempfile.mktemp(prefix="iotcloud-ntfreload-", suffix=".conf")
        write_conf(self.conf, {"sms-url": self.a.url, "sms-user": "old-user",
                               "sms-password": "old-" + SECRET, "sms-from": "OLDFROM"})
        self.srv = DeviceServer(extra_args=["--config", self.conf])
        self.alice = self.srv.add_user(uname("alice"))
        self.srv.start()
        self.api = Api(self.srv)
        self.tok = self.api.login(self.alice)
        self.dir = scratch_dir()

    def tearDown(self):
        self.srv.stop()
        self.a.stop()
        self.b.stop()
        if os.path.exists(self.conf):
            os.unlink(self.conf)

    def sms(self, dev, number, text):
        r = self.api.call("POST", "/v1/devices/%s/notifications/direct" % dev.id,
                          {"recipient": number, "message": text}, token=self.tok)
        self.assertEqual(r.status, 202, r.raw)

    def test_next_sms_goes_to_the_new_gateway_with_new_credentials(self):
        dev = register_device(self.api, self.tok, self.dir)
        number = "+4477%08d" % (uuid.uuid4().int % 10 ** 8)
        r = self.api.call("PUT", "/v1/me/notification-recipients", {"recipients": [number]},
                          token=self.tok)
        self.assertEqual(r.status, 200, r.raw)
        self.sms(dev, number, "before")
        self.assertEqual(self.a.wait_for(number).form["from"], "OLDFROM")
        write_conf(self.conf, {"sms-url": self.b.url, "sms-user": "new-user",
                               "sms-password": "new-" + SECRET, "sms-from": "NEWFROM"})
        r = subprocess.run([iotcloud_bin(), "reload", "--data-dir", self.srv.data_dir],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("kept until a restart", r.stdout)
        self.sms(dev, number, "after")
        sms = self.b.wait_for(number)
        self.assertEqual(sms.form["text"], "after")
        self.assertEqual(sms.form["from"], "NEWFROM")
        self.assertEqual(sms.auth, basic("new-user", "new-" + SECRET))
        self.assertEqual([s.form["text"] for s in self.a.to(number)], ["before"])
        self.assertNotIn(SECRET, r.stdout + r.stderr + self.srv.stderr_text())


if __name__ == "__main__":
    unittest.main()
