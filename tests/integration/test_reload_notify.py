"""Reload of the mail settings (issue 22): SIGHUP / `iotcloud reload` hands the notifier new
SMTP settings; the next mail goes to the new server, a bad value is refused with the whole
reload (the old settings stay), and the SMTP password never reaches the log or the answer."""

import os
import subprocess
import tempfile
import unittest
import uuid

from harness import iotcloud_bin, iotcloud_only
from http_harness import Http, HttpServer
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


if __name__ == "__main__":
    unittest.main()
