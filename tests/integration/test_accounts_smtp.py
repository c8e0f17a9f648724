"""Accounts with a real SMTP server (aiosmtpd in the test process): codes travel by mail,
and an administrator created with `iotcloud user add --admin` lists users."""

import re
import subprocess
import time
import unittest
import uuid

from harness import iotcloud_bin
from http_harness import Http, HttpServer
from smtp_sink import SmtpSink

PW = "correct horse battery"


def new_user():
    n = "m" + uuid.uuid4().hex[:10]
    return {"username": n, "password": PW, "email": n + "@example.com",
            "given_name": "Grace", "family_name": "Hopper"}


def code_in(mail):
    m = re.search(r"\b(\d{6,8})\b", mail.body)
    assert m, "no code in the mail: %r" % mail.body
    return m.group(1)


class TestSignupBySmtp(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.sink = SmtpSink().start()
        cls.srv = HttpServer(extra_args=["--smtp-url", cls.sink.url, "--smtp-insecure",
                                         "--smtp-from", "noreply@iot.example"]).start()
        cls.http = Http(cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.sink.stop()

    def call(self, *a, **kw):
        return self.http.call(*a, **kw)

    def test_signup_confirm_login_forgot_reset_by_mail(self):
        u = new_user()
        r = self.call("POST", "/v1/auth/signup", u)
        self.assertEqual(r.status, 202, r.raw)
        mail = self.sink.wait_for(u["email"])
        self.assertIn("noreply@iot.example", mail.mail_from)
        code = code_in(mail)
        # The code went by mail, not into the log.
        self.assertNotIn(code, self.srv.stderr_text())
        r = self.call("POST", "/v1/auth/confirm", {"username": u["username"], "code": code})
        self.assertEqual(r.status, 200, r.raw)
        r = self.call("POST", "/v1/auth/login", {"username": u["username"], "password": PW})
        self.assertEqual(r.status, 200, r.raw)
        old = r.json

        n = self.sink.count(u["email"])
        r = self.call("POST", "/v1/auth/forgot", {"email": u["email"]})
        self.assertEqual(r.status, 202, r.raw)
        unknown = self.call("POST", "/v1/auth/forgot", {"email": "nobody-%s@example.com"
                                                        % uuid.uuid4().hex[:6]})
        self.assertEqual((unknown.status, unknown.raw), (r.status, r.raw))
        deadline_mail = None
        for _ in range(100):
            if self.sink.count(u["email"]) > n:
                deadline_mail = [m for m in self.sink.messages if u["email"] in m.rcpt_tos][-1]
                break
            time.sleep(0.05)
        self.assertIsNotNone(deadline_mail, "no reset mail")
        reset = code_in(deadline_mail)
        new_pw = "a brand new password"
        r = self.call("POST", "/v1/auth/reset", {"username": u["username"], "code": reset,
                                                 "new_password": new_pw})
        self.assertIn(r.status, (200, 204), r.raw)
        self.assertEqual(self.call("GET", "/v1/me", token=old["access_token"]).status, 401)
        r = self.call("POST", "/v1/auth/refresh", {"refresh_token": old["refresh_token"]})
        self.assertEqual(r.status, 401, r.raw)
        r = self.call("POST", "/v1/auth/login", {"username": u["username"], "password": new_pw})
        self.assertEqual(r.status, 200, r.raw)
        # The code is single use.
        r = self.call("POST", "/v1/auth/reset", {"username": u["username"], "code": reset,
                                                 "new_password": "yet another password"})
        self.assertEqual(r.status, 400, r.raw)


class TestAdminList(unittest.TestCase):

    def test_admin_lists_users_and_others_get_403(self):
        srv = HttpServer()
        admin_pw = "admin password 123"
        p = subprocess.run([iotcloud_bin(), "user", "add", "--admin", "--data-dir", srv.data_dir,
                            "--email", "root@iot.example", "root"],
                           input=(admin_pw + "\n").encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run([iotcloud_bin(), "user", "add", "--data-dir", srv.data_dir,
                            "--email", "plain@iot.example", "plainuser"],
                           input=b"plain password 123\n", stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        srv.start()
        try:
            http = Http(srv)
            r = http.call("POST", "/v1/auth/login", {"username": "root", "password": admin_pw})
            self.assertEqual(r.status, 200, r.raw)
            tok = r.json["access_token"]
            me = http.call("GET", "/v1/me", token=tok)
            self.assertTrue(me.json["admin"])
            r = http.call("GET", "/v1/admin/users", token=tok)
            self.assertEqual(r.status, 200, r.raw)
            names = {u["username"] for u in r.json["users"]}
            self.assertEqual(names, {"root", "plainuser"})
            for u in r.json["users"]:
                self.assertNotIn("password", u)
            r = http.call("GET", "/v1/admin/users?limit=1", token=tok)
            self.assertEqual(len(r.json["users"]), 1)
            self.assertTrue(r.json["next"])
            r2 = http.call("GET", "/v1/admin/users?limit=1&after=" + r.json["next"], token=tok)
            self.assertEqual(len(r2.json["users"]), 1)
            self.assertNotEqual(r2.json["users"][0]["id"], r.json["users"][0]["id"])
            r = http.call("POST", "/v1/auth/login", {"username": "plainuser",
                                                     "password": "plain password 123"})
            r = http.call("GET", "/v1/admin/users", token=r.json["access_token"])
            self.assertEqual(r.status, 403, r.raw)
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
