"""Device identity on MQTT with real clients: certificates from CSRs made by `openssl req`,
the generate_key and device-secret paths, users with access tokens, topic policies, and
revocation closing live sessions (issue #5)."""

import os
import sqlite3
import select
import ssl
import subprocess
import time
import unittest

from device_harness import (CRL_WAIT, TwoUserCase, device_ctx, mqtt_client, register_device,
                            uname, write)
from harness import WAIT

SUBACK_FAIL = 128


class DeviceMqttCase(TwoUserCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice, cls.bob, cls.tok_a, cls.tok_b = cls.user, cls.other, cls.token, cls.other_token

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.assert_running()

    def client(self, *a, **kw):
        c = mqtt_client(self.srv, *a, **kw)
        self.clients.append(c)
        return c

    def device(self, token=None, kind="ec256"):
        return register_device(self.api, token or self.tok_a, self.dir, kind)

    def connect_device(self, dev, client_id=None):
        c = self.client(client_id or dev.id, ctx=dev.ctx(self.srv.cafile))
        return c, c.connect()[0]

    def mosquitto(self, tool, dev, args, client_id=None, timeout=15):
        cmd = [tool, "-h", "localhost", "-p", str(self.srv.tls_port), "--cafile",
               self.srv.cafile, "--cert", dev.cert, "--key", dev.key, "-i",
               client_id or dev.id] + args
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)

    # ---- certificates ---------------------------------------------------------------------

    def test_csr_device_talks_with_its_owner_app(self):
        dev = self.device()
        app_sub = self.client(uname("app"), username=self.alice, password=self.tok_a)
        self.assertEqual(app_sub.connect()[0], 0)
        self.assertEqual(app_sub.subscribe("server/%s/#" % dev.id, 1), [1])
        # the device's answer, published by mosquitto_pub with the device's key
        p = self.mosquitto("mosquitto_pub", dev, ["-t", "server/%s/get_gpio" % dev.id, "-q", "1",
                                                  "-m", '{"value": 1}'])
        self.assertEqual(p.returncode, 0, p.stderr)
        got = app_sub.wait_messages(1)
        self.assertEqual(got[0].payload, b'{"value": 1}')
        # a request from the app reaches mosquitto_sub running as the device
        sub = subprocess.Popen(["mosquitto_sub", "-h", "localhost", "-p", str(self.srv.tls_port),
                                "--cafile", self.srv.cafile, "--cert", dev.cert, "--key",
                                dev.key, "-i", dev.id, "-t", dev.id + "/#", "-q", "1", "-C", "1",
                                "-W", "10"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            app = self.client(uname("app"), username=self.alice, password=self.tok_a)
            self.assertEqual(app.connect()[0], 0)
            deadline = time.monotonic() + WAIT
            while sub.poll() is None and time.monotonic() < deadline:
                app.publish(dev.id + "/get_gpio", b'{"number": 5}', qos=1)
                time.sleep(0.2)
            out, err = sub.communicate(timeout=10)
        finally:
            if sub.poll() is None:
                sub.kill()
        self.assertEqual(sub.returncode, 0, err)
        self.assertIn(b'{"number": 5}', out)

    def test_all_accepted_key_types_connect(self):
        for kind in ("ec256", "ec384", "rsa2048"):
            dev = self.device(kind=kind)
            c, rc = self.connect_device(dev)
            self.assertEqual(rc, 0, kind)
            c.disconnect()

    def test_wrong_client_id_is_refused(self):
        dev = self.device()
        _, rc = self.connect_device(dev, client_id=dev.id + "x")
        self.assertEqual(rc, 2)
        p = self.mosquitto("mosquitto_pub", dev, ["-t", "server/%s/a" % dev.id, "-m", "x"],
                           client_id="someone-else")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"identifier rejected", p.stderr.lower())

    def test_certificate_of_another_ca_fails_the_handshake(self):
        other = os.path.join(self.dir, "other")
        os.makedirs(other, exist_ok=True)
        from harness import make_test_pki
        ca, crt, key = make_test_pki(other)
        c = self.client("x", ctx=device_ctx(self.srv.cafile, crt, key))
        with self.assertRaises((ssl.SSLError, OSError, AssertionError)):
            c.connect(timeout=3)

    def test_device_topics_are_confined(self):
        a, b = self.device(), self.device(self.tok_b)
        ca, rc = self.connect_device(a)
        self.assertEqual(rc, 0)
        granted = ca.subscribe([(a.id + "/#", 1), (b.id + "/#", 1), ("#", 1), ("+/#", 1),
                                ("server/%s/#" % a.id, 1), ("$SYS/#", 0), (a.id + "x/#", 1)])
        self.assertEqual(granted, [1] + [SUBACK_FAIL] * 6)
        # b's owner listens to b's answers; a cannot speak for b
        bob_app = self.client(uname("app"), username=self.bob, password=self.tok_b)
        self.assertEqual(bob_app.connect()[0], 0)
        self.assertEqual(bob_app.subscribe("server/%s/#" % b.id, 1), [1])
        ca.publish("server/%s/get_mac" % b.id, b"forged", qos=1)  # acknowledged, dropped
        ca.publish(b.id + "/set_gpio", b"forged", qos=1)
        bob_app.assert_no_messages(0.5)
        # the refused publishes did not cost the connection
        self.assertEqual(ca.subscribe(a.id + "/x", 0), [0])

    # ---- generate_key and secrets ---------------------------------------------------------

    def test_generate_key_device_connects_with_mosquitto(self):
        reg = self.api.register(self.tok_a, generate_key=True)
        self.assertIn("PRIVATE KEY", reg["private_key"])
        key = write(self.dir, reg["id"] + ".gen.key", reg["private_key"])
        crt = write(self.dir, reg["id"] + ".gen.crt", reg["certificate"]["pem"])
        p = subprocess.run(["mosquitto_pub", "-h", "localhost", "-p", str(self.srv.tls_port),
                            "--cafile", self.srv.cafile, "--cert", crt, "--key", key, "-i",
                            reg["id"], "-t", "server/%s/status" % reg["id"], "-m", "up", "-q",
                            "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=15)
        self.assertEqual(p.returncode, 0, p.stderr)
        again = self.api.call("GET", "/v1/devices/" + reg["id"], token=self.tok_a)
        self.assertEqual(again.status, 200)
        self.assertNotIn(b"PRIVATE KEY", again.raw)

    def test_device_secret(self):
        dev = self.device()
        r = self.api.call("POST", "/v1/devices/%s/secret" % dev.id, token=self.tok_a)
        self.assertEqual(r.status, 201, r.raw)
        secret = r.json["secret"]
        ok = self.client(dev.id, username=dev.id, password=secret)
        self.assertEqual(ok.connect()[0], 0)
        self.assertEqual(ok.subscribe(dev.id + "/#", 1), [1])
        self.assertEqual(ok.subscribe("server/#", 1), [SUBACK_FAIL])
        ok.disconnect()
        self.assertEqual(self.client(dev.id, username=dev.id,
                                     password=secret[:-1] + "A").connect()[0], 4)
        self.assertEqual(self.client(dev.id + "2", username=dev.id,
                                     password=secret).connect()[0], 2)
        self.assertEqual(self.client(dev.id, username=dev.id).connect()[0], 4)
        # a new secret replaces the old one
        r2 = self.api.call("POST", "/v1/devices/%s/secret" % dev.id, token=self.tok_a)
        self.assertEqual(r2.status, 201)
        self.assertEqual(self.client(dev.id, username=dev.id, password=secret).connect()[0], 4)
        self.assertEqual(self.client(dev.id, username=dev.id,
                                     password=r2.json["secret"]).connect()[0], 0)
        # another user cannot mint one
        r3 = self.api.call("POST", "/v1/devices/%s/secret" % dev.id, token=self.tok_b)
        self.assertEqual(r3.status, 404)

    # ---- users and apps -------------------------------------------------------------------

    def test_user_with_access_token(self):
        mine, theirs = self.device(), self.device(self.tok_b)
        app = self.client(uname("app"), username=self.alice, password=self.tok_a)
        self.assertEqual(app.connect()[0], 0)
        self.assertEqual(app.subscribe([("server/%s/#" % mine.id, 1),
                                        ("server/%s/#" % theirs.id, 1), ("server/+/#", 1),
                                        (mine.id + "/#", 1)]),
                         [1, SUBACK_FAIL, SUBACK_FAIL, SUBACK_FAIL])
        dev, rc = self.connect_device(theirs)
        self.assertEqual(rc, 0)
        self.assertEqual(dev.subscribe(theirs.id + "/#", 1), [1])
        app.publish(theirs.id + "/set_gpio", b"{}", qos=1)  # not alice's device
        dev.assert_no_messages(0.5)
        # wrong, malformed or someone else's token
        self.assertEqual(self.client(uname("app"), username=self.alice,
                                     password="x" * 43).connect()[0], 4)
        self.assertEqual(self.client(uname("app"), username=self.alice,
                                     password=self.tok_b).connect()[0], 4)
        self.assertEqual(self.client(uname("app"), username=self.alice).connect()[0], 4)
        # a user cannot take a device's client id
        self.assertEqual(self.client(mine.id, username=self.alice,
                                     password=self.tok_a).connect()[0], 2)
        # nor connect without credentials (anonymous is off)
        self.assertEqual(self.client(uname("anon")).connect()[0], 5)

    def test_logged_out_token_is_refused(self):
        tok = self.api.login(self.alice)
        self.assertEqual(self.api.call("POST", "/v1/auth/logout", token=tok).status, 204)
        self.assertEqual(self.client(uname("app"), username=self.alice,
                                     password=tok).connect()[0], 4)

    # ---- revocation -----------------------------------------------------------------------

    def wait_closed(self, c, within):
        start = time.monotonic()
        c.wait_disconnected(within)
        return time.monotonic() - start

    def test_unregister_closes_the_session_within_a_second(self):
        dev = self.device()
        c, rc = self.connect_device(dev)
        self.assertEqual(rc, 0)
        self.assertEqual(c.subscribe(dev.id + "/#", 1), [1])
        t0 = time.monotonic()
        r = self.api.call("DELETE", "/v1/devices/" + dev.id, token=self.tok_a)
        self.assertEqual(r.status, 204, r.raw)
        c.wait_disconnected(1.0)
        self.assertLess(time.monotonic() - t0, 1.5)
        again = self.client(dev.id, ctx=dev.ctx(self.srv.cafile))
        with self.assertRaises((ssl.SSLError, OSError, AssertionError)):
            again.connect(timeout=3)
        serial = dev.reg["certificate"]["serial"].lower().lstrip("0")
        deadline = time.monotonic() + CRL_WAIT  # the CRL follows within --crl-interval
        while True:
            crl = self.api.call("GET", "/v1/ca/crl")
            self.assertEqual(crl.status, 200)
            text = subprocess.run(["openssl", "crl", "-noout", "-text"], input=crl.raw,
                                  stdout=subprocess.PIPE, check=True).stdout.decode().lower()
            if serial in text.replace(":", "") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertIn(serial, text.replace(":", ""))

    def test_mosquitto_sub_is_cut_off_by_revocation(self):
        dev = self.device()
        # stdbuf: mosquitto_sub's debug lines are stdio-buffered when piped
        sub = subprocess.Popen(["stdbuf", "-oL", "mosquitto_sub", "-d", "-h", "localhost", "-p",
                                str(self.srv.tls_port), "--cafile", self.srv.cafile, "--cert",
                                dev.cert, "--key", dev.key, "-i", dev.id, "-t", dev.id + "/#"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            self.wait_subscribed(sub)
            t0 = time.monotonic()
            self.assertEqual(self.api.call("DELETE", "/v1/devices/" + dev.id,
                                           token=self.tok_a).status, 204)
            # mosquitto_sub gives up once the reconnect's handshake fails
            sub.wait(timeout=10)
            self.assertLess(time.monotonic() - t0, 5.0)
        finally:
            if sub.poll() is None:
                sub.kill()
            out = sub.stdout.read().decode(errors="replace")
        self.assertNotEqual(sub.returncode, 0, out)

    def wait_subscribed(self, proc):
        deadline = time.monotonic() + WAIT
        buf = b""
        fd = proc.stdout.fileno()
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            chunk = os.read(fd, 4096) if ready else b""
            buf += chunk
            if b"SUBACK" in buf:
                return
            if ready and not chunk:
                break
        raise AssertionError("mosquitto_sub did not subscribe: %r" % buf)

    def test_rotation_revokes_the_old_certificate(self):
        dev = self.device()
        c, rc = self.connect_device(dev)
        self.assertEqual(rc, 0)
        from device_harness import make_csr
        key2, csr2 = make_csr(self.dir)
        r = self.api.call("POST", "/v1/devices/%s/certificate" % dev.id, {"csr": csr2},
                          token=self.tok_a)
        self.assertEqual(r.status, 201, r.raw)
        c.wait_disconnected(1.0)
        old = self.client(dev.id, ctx=dev.ctx(self.srv.cafile))
        with self.assertRaises((ssl.SSLError, OSError, AssertionError)):
            old.connect(timeout=3)
        crt2 = write(self.dir, dev.id + ".v2.crt", r.json["certificate"]["pem"])
        new = self.client(dev.id, ctx=device_ctx(self.srv.cafile, crt2, key2))
        self.assertEqual(new.connect()[0], 0)

    def test_unregister_purges_session_queue_and_retained(self):
        dev = self.device()
        c = self.client(dev.id, ctx=dev.ctx(self.srv.cafile), clean=False)
        self.assertEqual(c.connect()[0], 0)
        self.assertEqual(c.subscribe(dev.id + "/#", 1), [1])
        c.publish("server/%s/status" % dev.id, b"online", qos=1, retain=True)
        c.disconnect()
        app = self.client(uname("app"), username=self.alice, password=self.tok_a)
        self.assertEqual(app.connect()[0], 0)
        for i in range(3):
            app.publish(dev.id + "/write_uart", b"queued %d" % i, qos=1)
        app.publish(dev.id + "/config", b"kept", qos=1, retain=True)
        db = os.path.join(self.srv.data_dir, "iotcloud.db")
        self.assertGreater(self.count(db, dev.id), 0, "state exists before")
        self.assertEqual(self.api.call("DELETE", "/v1/devices/" + dev.id,
                                       token=self.tok_a).status, 204)
        deadline = time.monotonic() + WAIT
        while self.count(db, dev.id) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.count(db, dev.id), 0, "session, queue and retained purged")
        # no retained message is handed out for the gone device any more
        app.subscribe("server/%s/#" % dev.id, 1)  # refused anyway: the device is gone
        app.assert_no_messages(0.3)

    @staticmethod
    def count(db, dev_id):
        """Rows about @dev_id in the broker tables (sessions, their messages, retained)."""
        con = sqlite3.connect(db, timeout=5)
        try:
            n = 0
            n += con.execute("SELECT count(*) FROM sessions WHERE client_id = ?",
                             (dev_id,)).fetchone()[0]
            n += con.execute("SELECT count(*) FROM session_msgs WHERE client_id = ?",
                             (dev_id,)).fetchone()[0]
            n += con.execute("SELECT count(*) FROM retained WHERE CAST(topic AS TEXT) LIKE ? "
                             "OR CAST(topic AS TEXT) LIKE ?",
                             (dev_id + "/%", "server/" + dev_id + "/%")).fetchone()[0]
            return n
        finally:
            con.close()


if __name__ == "__main__":
    unittest.main()
