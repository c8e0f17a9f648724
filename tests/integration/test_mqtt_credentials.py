"""A live MQTT connection ends with the credential it logged in with (issue #14 items 2 and 9):
logout, password change, password reset, account deletion, token expiry and device-secret
rotation each close the connection within 1 s, and the old credential is refused afterwards;
a persistent session keeps its state for the next authenticated CONNECT. Also: MQTT user
names are case-folded like the REST login, device-id-shaped user names are refused at
sign-up, and failed MQTT authentications are limited per client address."""

import shutil
import subprocess
import tempfile
import time
import unittest
import uuid


from device_harness import PW, Api, DeviceServer, mqtt_client, register_device, scratch_dir, uname
from harness import HOST, WAIT, iotcloud_bin

CLOSE_BOUND = 1.0  # seconds, the bound the issue sets for every revocation event
BAD_CREDENTIALS, NOT_AUTHORIZED = 4, 5


class CredCase(unittest.TestCase):
    EXTRA = ()
    USERS = ()

    @classmethod
    def setUpClass(cls):
        cls.srv = DeviceServer(extra_args=cls.EXTRA)
        cls.users = {k: cls.srv.add_user(uname(k)) for k in cls.USERS}
        cls.srv.start()
        cls.api = Api(cls.srv)
        cls.dir = scratch_dir()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.assert_running()

    def login(self, user, password=PW):
        r = self.api.call("POST", "/v1/auth/login", {"username": user, "password": password})
        self.assertEqual(r.status, 200, r.raw)
        return r.json

    def app(self, user, token, client_id=None, clean=True):
        c = mqtt_client(self.srv, client_id or uname("app"), username=user, password=token,
                        clean=clean)
        self.clients.append(c)
        return c

    def connected(self, user, token, **kw):
        c = self.app(user, token, **kw)
        self.assertEqual(c.connect()[0], 0)
        return c

    def assert_closed(self, c, since):
        """The server closed @c within CLOSE_BOUND of @since (time.monotonic())."""
        c.wait_disconnected(max(0.05, since + CLOSE_BOUND - time.monotonic()))
        self.assertNotEqual(c.disconnect_rc, 0, "closed by the server, not by us")

    def assert_refused(self, user, token, rc=BAD_CREDENTIALS):
        self.assertEqual(self.app(user, token).connect()[0], rc)

    def assert_alive(self, c):
        """Still connected: a QoS 1 publish completes (to a topic it may not use: dropped,
        still acknowledged)."""
        c.publish("nobody-%s/x" % uuid.uuid4().hex[:6], b"ping", qos=1, timeout=WAIT)
        self.assertIsNone(c.disconnect_rc)


class RevocationTest(CredCase):
    USERS = ("logout", "pwchange", "reset", "delete", "persist", "fold")

    def test_logout_closes_that_family_only(self):
        u = self.users["logout"]
        t, other = self.login(u), self.login(u)
        c = self.connected(u, t["access_token"])
        keep = self.connected(u, other["access_token"])
        r = self.api.call("POST", "/v1/auth/logout", {"refresh_token": t["refresh_token"]},
                          token=t["access_token"])
        self.assertEqual(r.status, 204, r.raw)
        self.assert_closed(c, time.monotonic())
        self.assert_refused(u, t["access_token"])
        self.assert_alive(keep)  # another login (family) of the same user stays

    def test_password_change_closes_every_connection_of_the_user(self):
        u = self.users["pwchange"]
        t1, t2 = self.login(u), self.login(u)
        c1 = self.connected(u, t1["access_token"])
        c2 = self.connected(u, t2["access_token"])
        r = self.api.call("POST", "/v1/me/password",
                          {"current_password": PW, "new_password": "a brand new secret"},
                          token=t1["access_token"])
        self.assertEqual(r.status, 200, r.raw)
        now = time.monotonic()
        self.assert_closed(c1, now)
        self.assert_closed(c2, now)
        self.assert_refused(u, t2["access_token"])
        self.connected(u, r.json["access_token"])  # the fresh pair works

    def test_password_reset_closes_the_connection(self):
        u = self.users["reset"]
        t = self.login(u)
        c = self.connected(u, t["access_token"])
        seen = len(self.srv.mail_codes("password reset"))
        r = self.api.call("POST", "/v1/auth/forgot", {"email": u + "@localhost.localdomain"})
        self.assertEqual(r.status, 202, r.raw)
        code = self.srv.wait_code("password reset", seen)
        r = self.api.call("POST", "/v1/auth/reset", {"username": u, "code": code,
                                                    "new_password": "another long secret"})
        self.assertEqual(r.status, 200, r.raw)
        self.assert_closed(c, time.monotonic())
        self.assert_refused(u, t["access_token"])

    def test_account_deletion_closes_the_connection(self):
        u = self.users["delete"]
        t = self.login(u)
        c = self.connected(u, t["access_token"])
        r = self.api.call("DELETE", "/v1/me", {"password": PW}, token=t["access_token"])
        self.assertEqual(r.status, 204, r.raw)
        self.assert_closed(c, time.monotonic())
        self.assert_refused(u, t["access_token"])

    def test_persistent_session_survives_for_the_next_login(self):
        u = self.users["persist"]
        t = self.login(u)
        dev = register_device(self.api, t["access_token"], self.dir)
        cid = uname("app")
        c = self.connected(u, t["access_token"], client_id=cid, clean=False)
        self.assertEqual(c.subscribe("server/%s/#" % dev.id, 1), [1])
        r = self.api.call("POST", "/v1/auth/logout", token=t["access_token"])
        self.assertEqual(r.status, 204, r.raw)
        self.assert_closed(c, time.monotonic())
        # meanwhile the device answers; the offline session queues it
        d = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile))
        self.clients.append(d)
        self.assertEqual(d.connect()[0], 0)
        d.publish("server/%s/status" % dev.id, b"queued while logged out", qos=1)
        again = self.app(u, self.login(u)["access_token"], client_id=cid, clean=False)
        self.assertEqual(again.connect(), (0, True), "the session is resumed")
        got = again.wait_messages(1)
        self.assertEqual(got[0].payload, b"queued while logged out")

    def test_username_is_case_folded_like_rest_login(self):
        u = self.users["fold"]
        t = self.login(u.upper())  # REST already folds
        self.connected(u.upper(), t["access_token"])
        self.connected(u.capitalize(), t["access_token"])
        self.assert_refused(u + "x", t["access_token"])


class DeviceSecretTest(CredCase):
    USERS = ("owner",)

    def secret(self, token, dev_id):
        r = self.api.call("POST", "/v1/devices/%s/secret" % dev_id, token=token)
        self.assertEqual(r.status, 201, r.raw)
        return r.json["secret"]

    def test_secret_rotation_closes_secret_sessions_only(self):
        tok = self.login(self.users["owner"])["access_token"]
        dev = register_device(self.api, tok, self.dir)
        old = self.secret(tok, dev.id)
        by_secret = mqtt_client(self.srv, dev.id, username=dev.id, password=old)
        self.clients.append(by_secret)
        self.assertEqual(by_secret.connect()[0], 0)
        new = self.secret(tok, dev.id)
        self.assert_closed(by_secret, time.monotonic())
        self.assert_refused(dev.id, old)
        # the certificate still admits the device, and the new secret does too
        by_cert = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile))
        self.clients.append(by_cert)
        self.assertEqual(by_cert.connect()[0], 0)
        self.secret(tok, dev.id)  # rotating again leaves the certificate's connection alone
        time.sleep(0.5)
        self.assertIsNone(by_cert.disconnect_rc)
        by_cert.close()
        self.assert_refused(dev.id, new)

    def test_aws_sdk_metrics_user_name_is_no_user_name(self):
        # the AWS IoT Device SDKs send their metrics as the user name (docs/device-identity.md)
        tok = self.login(self.users["owner"])["access_token"]
        dev = register_device(self.api, tok, self.dir)
        for name in ("?SDK=Python&Version=1.11.0", "?SDK=JavaScript&Version=2.2.13&Platform=x"):
            c = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile), username=name)
            self.clients.append(c)
            self.assertEqual(c.connect()[0], 0, name)
            c.close()
        # another user name beside the certificate is still refused
        c = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile), username="mallory")
        self.clients.append(c)
        self.assertEqual(c.connect()[0], BAD_CREDENTIALS)
        c.close()
        # without a certificate it is no credential at all, and no token is looked up
        c = mqtt_client(self.srv, uname("app"), username="?SDK=Python", password="x")
        self.clients.append(c)
        self.assertEqual(c.connect()[0], NOT_AUTHORIZED)
        c.close()

    def test_device_id_shaped_usernames_are_reserved(self):
        shaped = "d" + uuid.uuid4().hex[:24]
        r = self.api.call("POST", "/v1/auth/signup",
                          {"username": shaped.upper(), "password": PW,
                           "email": shaped + "@example.com", "given_name": "A",
                           "family_name": "B"})
        self.assertEqual(r.status, 400, r.raw)
        self.assertEqual(r.json["error"]["code"], "invalid_field", r.raw)
        self.assertIn(b"username", r.raw)
        self.assertIn(b"device id", r.raw)
        r = self.api.call("POST", "/v1/auth/signup",
                          {"username": shaped[:-1] + "g", "password": PW,
                           "email": shaped + "@example.com", "given_name": "A",
                           "family_name": "B"})
        self.assertEqual(r.status, 202, r.raw)  # not a device id: an ordinary name
        # the CLI applies the same rule
        data = tempfile.mkdtemp(prefix="iotcloud-ns-")
        try:
            p = subprocess.run([iotcloud_bin(), "user", "add", "--data-dir", data, shaped],
                               input=(PW + "\n").encode(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(b"device id", p.stderr)
        finally:
            shutil.rmtree(data, ignore_errors=True)


class ExpiryTest(CredCase):
    TTL = 2
    EXTRA = ("--access-token-ttl", str(TTL))
    USERS = ("short",)

    def test_connection_closes_when_its_token_expires(self):
        u = self.users["short"]
        t0 = time.monotonic()
        t = self.login(u)
        c = self.connected(u, t["access_token"])
        c.wait_disconnected(self.TTL + CLOSE_BOUND + 0.5)
        self.assertGreater(time.monotonic() - t0, self.TTL - 0.5, "not before the expiry")
        self.assert_refused(u, t["access_token"])


class AuthRateLimitTest(CredCase):
    EXTRA = ("--mqtt-auth-max-fail", "3", "--mqtt-auth-fail-window", "60")
    USERS = ("limited",)

    def attempt(self, user, password, bind=None):
        c = self.app(user, password)
        if bind:
            c.c.connect(HOST, self.srv.tls_port, 60, bind_address=bind)
            c.c.loop_start()
            c._started = True
            c.wait_for(lambda: c.connack is not None, WAIT, "CONNACK")
            return c.connack[0]
        return c.connect()[0]

    def test_failures_per_address_are_limited(self):
        u = self.users["limited"]
        good = self.login(u)["access_token"]
        bad = "A" * 43
        for _ in range(3):
            self.assertEqual(self.attempt(u, bad), BAD_CREDENTIALS)
        # limited now: even the right token is answered "not authorized"
        self.assertEqual(self.attempt(u, good), NOT_AUTHORIZED)
        self.assertEqual(self.attempt("d" + "0" * 24, "x"), NOT_AUTHORIZED)
        # another address is not
        self.assertEqual(self.attempt(u, good, bind="127.0.0.2"), 0)
        # REST login from the limited address is a separate limiter
        self.login(u)


if __name__ == "__main__":
    unittest.main()
