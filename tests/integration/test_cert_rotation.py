"""Certificate rotation and registration limits, and how fast a revocation takes effect
(issue 14 item 3).

  - rotations beyond --device-rotate-per-hour answer 429 rate_limited with Retry-After; the
    limit is per user;
  - registrations beyond --device-register-per-hour likewise;
  - a certificate revoked by a rotation is refused by TLS at once, while the CRL, re-signed
    off the store thread at most once per --crl-interval, lists it only later.
"""

import ssl
import subprocess
import time
import unittest

from device_harness import (CRL_WAIT, Api, DeviceServer, mqtt_client, register_device,
                            scratch_dir, uname)


def rotate(api, token, dev_id):
    return api.call("POST", "/v1/devices/%s/certificate" % dev_id, {"generate_key": True},
                    token=token)


class LimitCase(unittest.TestCase):
    """One server with low limits and two users."""

    @classmethod
    def setUpClass(cls):
        cls.srv = DeviceServer(extra_args=["--device-rotate-per-hour", "3",
                                           "--device-register-per-hour", "4"])
        cls.alice = cls.srv.add_user(uname("alice"))
        cls.bob = cls.srv.add_user(uname("bob"))
        cls.carol = cls.srv.add_user(uname("carol"))
        cls.srv.start()
        cls.api = Api(cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def assert_limited(self, r, what):
        self.assertEqual(r.status, 429, r.raw)
        self.assertEqual(r.json["error"]["code"], "rate_limited", r.raw)
        self.assertIn(what, r.json["error"]["message"])
        retry = int(r.headers["retry-after"])
        self.assertGreater(retry, 0)
        self.assertLessEqual(retry, 3600)

    def test_rotation_beyond_the_limit_is_429_per_user(self):
        tok = self.api.login(self.alice)
        dev = self.api.register(tok, generate_key=True)["id"]
        for i in range(3):
            self.assertEqual(rotate(self.api, tok, dev).status, 201, "rotation %d" % i)
        self.assert_limited(rotate(self.api, tok, dev), "rotation")
        # the refused rotation changed nothing: the device keeps its last certificate
        cur = self.api.call("GET", "/v1/devices/" + dev, token=tok)
        self.assertEqual(cur.status, 200)
        # bob is not limited by alice's rotations
        btok = self.api.login(self.bob)
        bdev = self.api.register(btok, generate_key=True)["id"]
        self.assertEqual(rotate(self.api, btok, bdev).status, 201)

    def test_registration_beyond_the_limit_is_429(self):
        tok = self.api.login(self.carol)
        for i in range(4):
            self.api.register(tok, generate_key=True)  # asserts 201
        r = self.api.call("POST", "/v1/devices", {"name": uname("r"), "generate_key": True},
                          token=tok)
        self.assert_limited(r, "registration")
        listed = self.api.call("GET", "/v1/devices", token=tok).json["devices"]
        self.assertEqual(len(listed), 4, "the refused registration made nothing")


class RevocationSpeedCase(unittest.TestCase):
    INTERVAL = 8  # --crl-interval, seconds

    @classmethod
    def setUpClass(cls):
        cls.srv = DeviceServer(extra_args=["--crl-interval", str(cls.INTERVAL)])
        cls.user = cls.srv.add_user(uname("dave"))
        cls.srv.start()
        cls.api = Api(cls.srv)
        cls.dir = scratch_dir()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def crl_text(self):
        r = self.api.call("GET", "/v1/ca/crl")
        self.assertEqual(r.status, 200)
        return subprocess.run(["openssl", "crl", "-noout", "-text"], input=r.raw,
                              stdout=subprocess.PIPE, check=True).stdout.decode().lower()

    def on_crl(self, serial):
        return serial.lower().lstrip("0") in self.crl_text().replace(":", "")

    def tls_refused(self, dev):
        c = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile))
        try:
            with self.assertRaises((ssl.SSLError, OSError, AssertionError)):
                c.connect(timeout=3)
        finally:
            c.close()

    def test_revoked_at_once_for_tls_and_on_the_crl_within_the_interval(self):
        tok = self.api.login(self.user)
        first = register_device(self.api, tok, self.dir)
        second = register_device(self.api, tok, self.dir)
        c = mqtt_client(self.srv, second.id, ctx=second.ctx(self.srv.cafile))
        self.assertEqual(c.connect()[0], 0, "the certificate works before the rotation")
        c.close()
        # the first rotation may build at once (the last build is old); the second comes
        # right after it and has to wait for the interval: its CRL build is coalesced
        self.assertEqual(rotate(self.api, tok, first.id).status, 201)
        t0 = time.monotonic()
        self.assertEqual(rotate(self.api, tok, second.id).status, 201)
        self.tls_refused(second)
        serial = second.reg["certificate"]["serial"]
        listed_early = self.on_crl(serial)
        if time.monotonic() - t0 < self.INTERVAL - 2:
            self.assertFalse(listed_early, "the CRL is re-signed at most once per interval")
        deadline = time.monotonic() + self.INTERVAL + CRL_WAIT
        while not self.on_crl(serial) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertTrue(self.on_crl(serial), "the CRL lists the revoked certificate")
        self.assertTrue(self.on_crl(first.reg["certificate"]["serial"]))
        self.tls_refused(second)


if __name__ == "__main__":
    unittest.main()
