"""Reload without dropping connections (issue 22): SIGHUP and `iotcloud reload` re-read the
configuration file and the TLS files; open connections keep theirs, new ones get the new
certificate and settings; a bad certificate or configuration is refused and nothing changes.
Also the systemd notifications (READY, WATCHDOG, RELOADING, STOPPING) on a test
NOTIFY_SOCKET."""

import os
import shutil
import signal
import socket
import sqlite3
import ssl
import stat
import subprocess
import tempfile
import time
import unittest

from harness import (CONNACK, PINGREQ_PKT, PINGRESP, Broker, Client, RawClient, connect_pkt,
                     iotcloud_bin, iotcloud_only, make_test_pki, uniq)


def no_verify():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def pem_der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


class ConfBroker(Broker):
    """A broker whose reloadable settings live in a --config file the test rewrites."""

    def __init__(self, settings):
        self.conf = tempfile.mktemp(prefix="iotcloud-reload-", suffix=".conf")
        self.write_conf(settings)
        super().__init__(extra_args=["--config", self.conf], allow_anonymous=False)

    def write_conf(self, settings):
        with open(self.conf, "w") as f:
            for k, v in settings.items():
                f.write("%s %s\n" % (k, v))

    def reload_cli(self):
        return subprocess.run([iotcloud_bin(), "reload", "--data-dir", self.data_dir],
                              capture_output=True, text=True, timeout=20)

    def cleanup(self):
        super().cleanup()
        if os.path.exists(self.conf):
            os.unlink(self.conf)


def connack_rc(port, ctx=None, keepalive=60):
    c = RawClient(port, ctx)
    try:
        c.send(connect_pkt(uniq("r"), keepalive=keepalive))
        return c.expect_packet(CONNACK).body[1]
    finally:
        c.sock.close()


def peer_der(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with no_verify().wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.getpeercert(binary_form=True)


@iotcloud_only("SIGHUP reload, admin socket")
class ReloadCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="iotcloud-pki-")
        self.a = os.path.join(self.tmp, "a")
        self.b = os.path.join(self.tmp, "b")
        os.mkdir(self.a)
        os.mkdir(self.b)
        _, self.a_crt, self.a_key = make_test_pki(self.a)
        _, self.b_crt, self.b_key = make_test_pki(self.b)
        self.settings = {"cert": self.a_crt, "key": self.a_key, "allow-anonymous": "true",
                         "max-keepalive": "60"}
        self.srv = ConfBroker(self.settings).start()

    def tearDown(self):
        self.srv.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def reload(self, via_cli=True):
        if via_cli:
            return self.srv.reload_cli()
        self.srv.proc.send_signal(signal.SIGHUP)
        return None

    def test_admin_socket_is_owner_only(self):
        path = os.path.join(self.srv.data_dir, "admin.sock")
        st = os.stat(path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)

    def test_open_session_stays_and_new_connection_sees_new_cert(self):
        old = RawClient(self.srv.tls_port, no_verify())
        old.send(connect_pkt(uniq("old"), keepalive=60))
        self.assertEqual(old.expect_packet(CONNACK).body[1], 0)
        self.assertEqual(old.sock.getpeercert(binary_form=True), pem_der(self.a_crt))
        self.settings.update(cert=self.b_crt, key=self.b_key)
        self.srv.write_conf(self.settings)
        r = self.reload()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ok: reloaded: certificate " + self.b_crt, r.stdout)
        self.assertEqual(peer_der(self.srv.tls_port), pem_der(self.b_crt))
        # the connection made before the reload still talks, on its old session
        old.send(PINGREQ_PKT)
        old.expect_packet(PINGRESP)
        self.assertEqual(old.sock.getpeercert(binary_form=True), pem_der(self.a_crt))
        old.sock.close()
        self.srv.assert_running()

    def test_certificate_renewed_in_place_by_sighup(self):
        shutil.copy(self.b_crt, self.a_crt)
        shutil.copy(self.b_key, self.a_key)
        self.reload(via_cli=False)
        deadline = time.monotonic() + 10
        while peer_der(self.srv.tls_port) != pem_der(self.b_crt):
            self.assertLess(time.monotonic(), deadline, self.srv.stderr_text())
            time.sleep(0.1)
        self.assertIn("admin: SIGHUP, reloading", self.srv.stderr_text())

    def test_bad_certificate_is_refused_and_the_old_one_stays(self):
        bad = os.path.join(self.tmp, "bad.crt")
        with open(bad, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        for cert, key in ((bad, self.a_key), (self.b_crt, self.a_key),
                          (os.path.join(self.tmp, "missing.crt"), self.a_key)):
            self.srv.write_conf(dict(self.settings, cert=cert, key=key, **{"max-keepalive": 300}))
            r = self.reload()
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("error: certificate not loaded, the old one stays", r.stderr)
            self.assertEqual(peer_der(self.srv.tls_port), pem_der(self.a_crt))
            # nothing else was applied either
            self.assertEqual(connack_rc(self.srv.port, keepalive=120), 2)
        self.assertIn("reload refused", self.srv.stderr_text())

    def test_bad_configuration_is_refused(self):
        with open(self.srv.conf, "a") as f:
            f.write("max-keepalive lots\n")
        r = self.reload()
        self.assertEqual(r.returncode, 1)
        self.assertIn("error: configuration:", r.stderr)
        self.assertEqual(connack_rc(self.srv.port, keepalive=120), 2)
        self.srv.assert_running()

    def test_changed_limits_take_effect(self):
        # max-keepalive 60: a keep-alive of 120 is refused (CONNACK 2)
        self.assertEqual(connack_rc(self.srv.port, keepalive=120), 2)
        self.srv.write_conf(dict(self.settings, **{"max-keepalive": 300,
                                                  "allow-anonymous": "false"}))
        r = self.reload()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("allow-anonymous false, max-keepalive 300", r.stdout)
        self.assertEqual(connack_rc(self.srv.port, keepalive=120), 5)  # not authorized now
        self.srv.write_conf(dict(self.settings, **{"max-keepalive": 300}))
        self.assertEqual(self.reload().returncode, 0)
        self.assertEqual(connack_rc(self.srv.port, keepalive=120), 0)

    def test_restart_only_keys_are_named_and_kept(self):
        self.srv.write_conf(dict(self.settings, workers=1, **{"log-level": "debug"}))
        r = self.reload()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("log-level debug", r.stdout)
        self.assertIn("changed but kept until a restart: workers", r.stdout)
        connack_rc(self.srv.port)
        deadline = time.monotonic() + 5
        while " debug " not in self.srv.stderr_text():
            self.assertLess(time.monotonic(), deadline, "no debug line after log-level debug")
            time.sleep(0.1)

    def test_admin_socket_refuses_unknown_commands(self):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(os.path.join(self.srv.data_dir, "admin.sock"))
            s.sendall(b"shutdown\n")
            self.assertTrue(s.recv(1024).startswith(b"error: unknown command"))
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(os.path.join(self.srv.data_dir, "admin.sock"))
            s.sendall(b"x" * 300)
            self.assertTrue(s.recv(1024).startswith(b"error: line too long"))


@iotcloud_only("admin socket")
class LongDataDirCase(unittest.TestCase):
    """A data directory too deep for a unix socket path (108 bytes) still serves: no admin
    socket, a warning, SIGHUP reloads; `iotcloud reload` says why it cannot reach it."""

    def test_long_data_dir(self):
        top = tempfile.mkdtemp(prefix="iotcloud-long-")
        self.addCleanup(shutil.rmtree, top, True)
        data = os.path.join(top, "d" * 60, "e" * 60)
        os.makedirs(data, mode=0o700)
        b = Broker(data_dir=data).start()
        self.addCleanup(b.kill9)
        self.assertIn("no admin socket", b.stderr_text())
        r = subprocess.run([iotcloud_bin(), "reload", "--data-dir", data], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("path too long", r.stderr)
        b.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "reloaded:" not in b.stderr_text():
            self.assertLess(time.monotonic(), deadline, b.stderr_text())
            time.sleep(0.05)
        b.stop()


@iotcloud_only("SIGHUP handling")
class HupDuringStopCase(unittest.TestCase):
    """A SIGHUP that arrives while the server stops (after the admin thread ended) is
    ignored: the stop ends as it would have (here: at --shutdown-timeout, status 1, the
    store's last commit held up by another process's write lock), not killed by SIGHUP."""

    def test_hup_during_stop_does_not_kill(self):
        b = Broker(["--shutdown-timeout", "3000"])
        self.addCleanup(b.kill9)
        b.start()
        topic = "hup/" + uniq("t")
        sub = Client(b.port, client_id=uniq("hsub"), clean_session=False)
        sub.connect()
        sub.subscribe(topic, qos=1)
        sub.disconnect()
        db = sqlite3.connect(os.path.join(b.data_dir, "iotcloud.db"), timeout=10,
                             isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        self.addCleanup(db.close)
        pub = Client(b.port, client_id=uniq("hpub"))
        pub.connect()
        self.addCleanup(pub.close)
        pub.publish(topic, b"stuck", qos=1, wait=False)  # its commit waits for the lock
        time.sleep(0.3)
        b.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while "connections accepted" not in b.stderr_text():
            self.assertLess(time.monotonic(), deadline, b.stderr_text())
            time.sleep(0.02)
        b.proc.send_signal(signal.SIGHUP)  # the admin thread is gone by now
        rc = b.signal_and_wait(signal.SIGCONT, timeout=15)
        db.execute("ROLLBACK")
        self.assertEqual(rc, 1, "killed by SIGHUP? %s\n%s" % (rc, b.stderr_text()))
        self.assertIn("not finished after 3000 ms (shutdown-timeout)", b.stderr_text())
        b.cleanup()


@iotcloud_only("sd_notify")
class NotifyCase(unittest.TestCase):
    """The binary under a NOTIFY_SOCKET as systemd would give it (Type=notify,
    WatchdogSec): READY=1 once the loops run, WATCHDOG=1 regularly, RELOADING=1 then
    READY=1 around a SIGHUP, STOPPING=1 at SIGTERM."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="iotcloud-notify-")
        self.path = os.path.join(self.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(10)
        self.old_env = dict(os.environ)
        os.environ["NOTIFY_SOCKET"] = self.path
        os.environ["WATCHDOG_USEC"] = "400000"
        os.environ.pop("WATCHDOG_PID", None)
        self.srv = Broker()

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.old_env)
        self.sock.close()
        self.srv.kill9()
        self.srv.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def next_state(self, want):
        seen = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            msg = self.sock.recv(4096).decode()
            seen.append(msg)
            if want in msg.split("\n"):
                return seen
        self.fail("no %s within 10 s; got %r" % (want, seen))

    def test_ready_watchdog_reloading_stopping(self):
        self.srv.start()
        first = self.next_state("READY=1")
        self.assertFalse(any("WATCHDOG=1" in m for m in first), first)
        self.next_state("WATCHDOG=1")
        self.next_state("WATCHDOG=1")
        self.srv.proc.send_signal(signal.SIGHUP)
        self.next_state("RELOADING=1")
        self.next_state("READY=1")
        self.srv.proc.send_signal(signal.SIGTERM)
        self.next_state("STOPPING=1")
        self.assertEqual(self.srv.proc.wait(30), 0)


if __name__ == "__main__":
    unittest.main()
