"""Admission at accept (issue #14 items 1, 6 and the log part of 9): the open-file limit,
the per-IP cap on MQTT/TLS listeners, the cap on TLS handshakes in progress, lazy TLS
state and the rate of malformed-connection log lines.

The flood tests run the server under a low RLIMIT_NOFILE (prlimit) and open more
connections than it allows from several 127.0.0.x source addresses, as in the issue.
"""

import os
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import (HOST, WAIT, Broker, DISCONNECT_PKT, PINGREQ_PKT, connect_pkt,
                     iotcloud_bin, iotcloud_only, uniq)
from http_harness import Http, HttpServer

NOFILE = 256


class LimitedBroker(Broker):
    """A broker whose open-file limit is @nofile (soft and hard)."""

    def __init__(self, extra_args=(), nofile=NOFILE):
        super().__init__(extra_args)
        self.nofile = nofile

    def command(self):
        return ["prlimit", "--nofile=%d:%d" % (self.nofile, self.nofile), "--"] + \
            super().command()

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def wait_fds(self, n, timeout=WAIT):
        """Waits until the server holds at least @n descriptors (it accepted)."""
        deadline = time.monotonic() + timeout
        while self.fd_count() < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.fd_count() >= n

    def quiet_fd_count(self, timeout=WAIT):
        """The descriptor count once it stopped changing (earlier closes are done)."""
        deadline = time.monotonic() + timeout
        last = self.fd_count()
        while time.monotonic() < deadline:
            time.sleep(0.15)
            n = self.fd_count()
            if n == last:
                return n
            last = n
        return last

    def wait_fds_below(self, n, timeout=WAIT):
        """Waits until the server holds at most @n descriptors (it closed)."""
        deadline = time.monotonic() + timeout
        while self.fd_count() > n and time.monotonic() < deadline:
            time.sleep(0.02)

    def log_size(self):
        return os.path.getsize(self.stderr_path)


def connect_from(ip, port, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.bind((ip, 0))
        s.connect((HOST, port))
    except OSError:
        s.close()
        raise
    return s


def read_exact(s, n, timeout=WAIT):
    s.settimeout(timeout)
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed by the server")
        data += chunk
    return data


def connack_rc(ip, port, timeout=WAIT):
    """Connects from @ip, sends CONNECT; the CONNACK return code, or None when the server
    closed the connection (or never answered)."""
    try:
        s = connect_from(ip, port, timeout)
    except OSError:
        return None
    try:
        s.sendall(connect_pkt(uniq("fresh")))
        ack = read_exact(s, 4, timeout)
        s.sendall(DISCONNECT_PKT)
        return ack[3] if ack[0] == 0x20 else None
    except (OSError, ConnectionError):
        return None
    finally:
        s.close()


def flood(port, addrs, per_addr, first_bytes=None):
    """Opens up to @per_addr connections from each address, each sending @first_bytes
    (default: a CONNECT with a client id of its own). Connections the server refuses are
    ignored; returns the open sockets."""
    socks = []
    for ip in addrs:
        failed = 0
        for _ in range(per_addr):
            try:
                s = connect_from(ip, port, 0.3)
            except OSError:  # a full backlog drops SYNs: do not wait for retries
                failed += 1
                if failed == 3:
                    break
                continue
            try:
                s.sendall(first_bytes or connect_pkt(uniq("flood")))
            except OSError:
                s.close()
                continue
            socks.append(s)
    return socks


def close_all(socks):
    for s in socks:
        s.close()


def is_closed(s, timeout=WAIT):
    """True when the server closed @s (EOF or reset) within @timeout."""
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def wait_cpu_idle(b, window=2.0, max_cpu=0.5, deadline=20.0):
    """Waits until the server used less than @max_cpu CPU seconds over @window seconds of
    wall time; returns the last sample (used CPU seconds)."""
    end = time.monotonic() + deadline
    used = None
    while time.monotonic() < end:
        c0 = b.cpu_seconds()
        time.sleep(window)
        used = b.cpu_seconds() - c0
        if used < max_cpu:
            return used
    return used


FLOOD_ADDRS = ["127.0.0.%d" % i for i in range(2, 8)]  # six source addresses


@iotcloud_only("iotcloud accept limits")
class FdLimitFlood(unittest.TestCase):
    """More connections than the descriptor limit allows, no per-IP cap (the issue's
    flood): the server must not spin, must keep serving, recover and stop on SIGTERM."""

    def start(self, *args):
        b = LimitedBroker(["--workers", "2", "--max-conns-per-ip", "0", "--fd-reserve", "32",
                           "--accept-backoff", "100"] + list(args))
        self.addCleanup(b.kill9)
        return b.start()

    def test_flood_then_recover(self):
        b = self.start()
        old = connect_from("127.0.0.1", b.port)
        old.sendall(connect_pkt(uniq("old")))
        self.assertEqual(read_exact(old, 4)[3], 0)
        socks = flood(b.port, FLOOD_ADDRS, 250)
        try:
            self.assertGreater(len(socks), NOFILE, "the flood did not exceed the limit")
            time.sleep(1.0)
            # An existing connection is still served while the limit is reached.
            old.sendall(PINGREQ_PKT)
            self.assertEqual(read_exact(old, 2), b"\xd0\x00", "no PINGRESP during the flood")
        finally:
            close_all(socks)
        used = wait_cpu_idle(b)
        self.assertLess(used, 0.5, "server still burning CPU after the flood closed")
        deadline = time.monotonic() + 10
        rc = None
        while rc != 0 and time.monotonic() < deadline:
            rc = connack_rc("127.0.0.40", b.port, timeout=2.0)
        self.assertEqual(rc, 0, "no CONNACK for a fresh client after the flood")
        old.close()
        self.assertLess(b.log_size(), 64 * 1024, "log grew with the flood")
        text = b.stderr_text()
        self.assertIn("accepting paused", text)
        b.stop()  # SIGTERM: exit 0 within the harness's timeout

    def test_sigterm_during_flood(self):
        b = self.start()
        socks = flood(b.port, FLOOD_ADDRS, 250)
        try:
            self.assertGreater(len(socks), NOFILE)
            time.sleep(0.5)
            b.stop()  # while every descriptor is taken
        finally:
            close_all(socks)


@iotcloud_only("iotcloud accept limits")
class PerIpCap(unittest.TestCase):
    """max-conns-per-ip, counted at accept on MQTT and TLS listeners."""

    @classmethod
    def setUpClass(cls):
        cls.b = LimitedBroker(["--workers", "2", "--max-conns-per-ip", "5",
                               "--fd-reserve", "32"], nofile=1024).start()

    @classmethod
    def tearDownClass(cls):
        cls.b.stop()

    def test_mqtt_cap_per_address(self):
        b = self.b
        held = []
        try:
            for _ in range(5):
                s = connect_from("127.0.0.42", b.port)
                s.sendall(connect_pkt(uniq("ip")))
                self.assertEqual(read_exact(s, 4)[3], 0)
                held.append(s)
            self.assertIsNone(connack_rc("127.0.0.42", b.port), "6th connection was admitted")
            self.assertEqual(connack_rc("127.0.0.43", b.port), 0, "another address refused")
            held.pop().close()
            deadline = time.monotonic() + WAIT
            rc = None
            while rc != 0 and time.monotonic() < deadline:
                rc = connack_rc("127.0.0.42", b.port, timeout=1.0)
            self.assertEqual(rc, 0, "a freed slot was not given back")
        finally:
            close_all(held)

    def test_tls_counted_before_handshake(self):
        b = self.b
        base = b.quiet_fd_count()
        silent = [connect_from("127.0.0.44", b.tls_port) for _ in range(5)]
        try:
            self.assertTrue(b.wait_fds(base + 5), "the server did not accept the sockets")
            extra = connect_from("127.0.0.44", b.tls_port)
            self.assertTrue(is_closed(extra), "6th TLS socket from one address kept open")
            extra.close()
            ctx = b.tls_context()
            with ctx.wrap_socket(connect_from("127.0.0.45", b.tls_port),
                                 server_hostname=HOST) as t:
                t.sendall(connect_pkt(uniq("tls")))
                self.assertEqual(read_exact(t, 4)[3], 0)
        finally:
            close_all(silent)

    def test_flood_under_cap_leaves_room(self):
        """A flood from five addresses under the cap: a fresh client still gets in."""
        b = self.b
        base = b.quiet_fd_count()
        socks = flood(b.port, FLOOD_ADDRS[:5], 50)
        try:
            self.assertLessEqual(len(socks), 5 * 50)
            self.assertEqual(connack_rc("127.0.0.60", b.port), 0, "fresh client refused")
            refused = sum(1 for s in socks if is_closed(s, timeout=0.05))
            self.assertGreaterEqual(refused, 5 * 45, "connections over the cap were kept")
        finally:
            close_all(socks)
            b.wait_fds_below(base)  # the other tests start from a quiet server


@iotcloud_only("iotcloud accept limits")
class HandshakeCap(unittest.TestCase):
    """max-handshakes: TLS connections not past their handshake, process-wide; sockets
    that sent a few bytes (no TLS state yet) count too."""

    @classmethod
    def setUpClass(cls):
        cls.b = LimitedBroker(["--workers", "2", "--max-handshakes", "6",
                               "--max-conns-per-ip", "0"], nofile=1024).start()
        time.sleep(0.3)  # start()'s probe of the TLS port held a handshake slot

    @classmethod
    def tearDownClass(cls):
        cls.b.stop()

    def tls_ok(self, ip):
        try:
            with self.b.tls_context().wrap_socket(connect_from(ip, self.b.tls_port),
                                                  server_hostname=HOST) as t:
                t.sendall(connect_pkt(uniq("hs")))
                return read_exact(t, 4)[3] == 0
        except (OSError, ssl.SSLError, ConnectionError):
            return False

    def test_cap_then_release(self):
        b = self.b
        base = b.quiet_fd_count()
        half = []
        for i in range(6):
            s = connect_from("127.0.0.%d" % (10 + i), b.tls_port)
            if i % 2:
                s.sendall(b"\x16\x03\x01\x02\x00")  # a record header and nothing more
            half.append(s)
        try:
            self.assertTrue(b.wait_fds(base + 6), "the server did not accept the sockets")
            self.assertFalse(self.tls_ok("127.0.0.30"), "handshake admitted over the cap")
            self.assertEqual(connack_rc("127.0.0.30", b.port), 0, "plain MQTT refused")
        finally:
            close_all(half)
        deadline = time.monotonic() + WAIT
        ok = False
        while not ok and time.monotonic() < deadline:
            ok = self.tls_ok("127.0.0.31")
        self.assertTrue(ok, "handshake slots were not given back")

    def test_not_tls_is_closed(self):
        s = connect_from("127.0.0.33", self.b.tls_port)
        s.sendall(connect_pkt(uniq("plain")))  # MQTT on the TLS port
        self.assertTrue(is_closed(s))
        s.close()


@iotcloud_only("iotcloud error-log-rate")
class MalformedLogRate(unittest.TestCase):
    def test_log_lines_bounded(self):
        b = Broker(["--error-log-rate", "5"])
        self.addCleanup(b.kill9)
        b.start()
        t0 = time.monotonic()
        for _ in range(300):
            s = socket.create_connection((HOST, b.port), timeout=WAIT)
            s.sendall(b"\x30\x00")  # PUBLISH before CONNECT
            is_closed(s)
            s.close()
        elapsed = time.monotonic() - t0
        text = b.stderr_text()
        lines = [ln for ln in text.splitlines() if ": closing: " in ln]
        self.assertGreater(len(lines), 0)
        self.assertLessEqual(len(lines), 5 * (int(elapsed) + 2), "log not rate limited")
        time.sleep(1.1)  # a new window: the next line reports what was dropped
        s = socket.create_connection((HOST, b.port), timeout=WAIT)
        s.sendall(b"\x30\x00")
        is_closed(s)
        s.close()
        time.sleep(0.2)
        self.assertIn("similar lines not logged", b.stderr_text())
        b.stop()


@iotcloud_only("iotcloud admin stats")
class AdminStats(unittest.TestCase):
    """GET /v1/admin/stats exposes the admission counters to administrators."""

    def test_counters_visible_to_admin(self):
        data = tempfile.mkdtemp(prefix="iotcloud-itest-")
        pw = "Corr3ct-horse-battery-staple"
        res = subprocess.run([iotcloud_bin(), "user", "add", "--admin", "--data-dir", data,
                              "ops"], input=pw + "\n", stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr)
        srv = HttpServer(extra_args=["--max-conns-per-ip", "2"], data_dir=data)
        srv.own_dir = True
        self.addCleanup(srv.kill9)
        srv.start()
        http = Http(srv)
        tok = http.call("POST", "/v1/auth/login", {"username": "ops", "password": pw})
        self.assertEqual(tok.status, 200, tok.raw)

        def stats():
            r = http.call("GET", "/v1/admin/stats", token=tok.json["access_token"])
            self.assertEqual(r.status, 200, r.raw)
            return r.json["net"]

        before = stats()
        for k in ("accepted", "accept_pauses", "refused_fd", "refused_ip", "refused_handshake",
                  "handshakes"):
            self.assertIn(k, before)
        held = []
        for _ in range(2):
            s = connect_from("127.0.0.70", srv.port)
            s.sendall(connect_pkt(uniq("st")))
            self.assertEqual(read_exact(s, 4)[3], 0)
            held.append(s)
        self.assertIsNone(connack_rc("127.0.0.70", srv.port))
        close_all(held)
        after = stats()
        self.assertEqual(after["refused_ip"] - before["refused_ip"], 1)
        self.assertGreaterEqual(after["accepted"] - before["accepted"], 3)  # 2 + this GET
        srv.stop()


if __name__ == "__main__":
    unittest.main()
