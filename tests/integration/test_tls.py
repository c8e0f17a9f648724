"""MQTT over TLS (mqtts listener) with mosquitto clients, paho and raw python ssl."""

import queue
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest
import warnings

from harness import (BrokerCase, HOST, RawClient, connect_pkt, iotcloud_only,
                     make_test_pki, uniq)

CLI_TIMEOUT = 15


class MosquittoSub:
    """mosquitto_sub in the background; waits for its SUBACK, then collects messages as
    (topic, qos, retain, payload)."""

    def __init__(self, args, count):
        # stdbuf: mosquitto_sub does not flush its debug lines when stdout is a pipe
        cmd = ["stdbuf", "-oL", "mosquitto_sub", "-d", "-C", str(count), "-W", "10",
               "-F", "MSG|%t|%q|%r|%p"] + args
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace")
        self.lines = queue.Queue()
        self.output = []
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _next(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("mosquitto_sub silent for %.0f s: %s" % (timeout, self.output))
        if line is None:
            raise AssertionError("mosquitto_sub ended: %s" % self.output)
        self.output.append(line)
        return line

    def wait_subscribed(self, timeout=10):
        while "SUBACK" not in self._next(timeout):
            pass

    def messages(self, n, timeout=10):
        out = []
        while len(out) < n:
            line = self._next(timeout)
            if line.startswith("MSG|"):
                _, t, q, r, p = line.split("|", 4)
                out.append((t, int(q), int(r), p))
        return out

    def finish(self):
        try:
            return self.proc.wait(CLI_TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


class TlsTest(BrokerCase):

    def tls_args(self):
        return ["-h", HOST, "-p", str(self.broker.tls_port), "--cafile", self.broker.cafile]

    def plain_args(self):
        return ["-h", HOST, "-p", str(self.broker.port)]

    def pub(self, args, topic, msg, qos=0, retain=False):
        cmd = ["mosquitto_pub"] + args + ["-t", topic, "-m", msg, "-q", str(qos),
                                          "-i", uniq("mpub")]
        if retain:
            cmd.append("-r")
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=CLI_TIMEOUT)

    def roundtrip(self, conn_args, qos):
        t = self.topic("q%d" % qos)
        sub = MosquittoSub(conn_args + ["-t", t, "-q", "2"], 1)
        sub.wait_subscribed()
        res = self.pub(conn_args, t, "hello %d" % qos, qos)
        self.assertEqual(res.returncode, 0, res.stdout)
        self.assertEqual(sub.messages(1), [(t, qos, 0, "hello %d" % qos)])
        self.assertEqual(sub.finish(), 0)

    def test_mosquitto_clients_tls_qos0(self):
        self.roundtrip(self.tls_args(), 0)

    def test_mosquitto_clients_tls_qos1(self):
        self.roundtrip(self.tls_args(), 1)

    def test_mosquitto_clients_tls_qos2(self):
        self.roundtrip(self.tls_args(), 2)

    def test_mosquitto_clients_tls_retained(self):
        t = self.topic("ret")
        res = self.pub(self.tls_args(), t, "kept", 1, retain=True)
        self.assertEqual(res.returncode, 0, res.stdout)
        sub = MosquittoSub(self.tls_args() + ["-t", t, "-q", "1"], 1)
        self.assertEqual(sub.messages(1), [(t, 1, 1, "kept")])
        self.assertEqual(sub.finish(), 0)

    def test_mosquitto_clients_plain_tcp(self):
        self.roundtrip(self.plain_args(), 1)

    def test_tls_and_plain_clients_interoperate(self):
        t = self.topic()
        sub = self.client(tls=True)
        sub.subscribe(t, 1)
        res = self.pub(self.plain_args(), t, "cross", 1)
        self.assertEqual(res.returncode, 0, res.stdout)
        self.assertEqual(sub.wait_messages(1, topic=t)[0].payload, b"cross")

    def test_tls_without_ca_file_fails(self):
        # the server certificate chains to the broker's own CA, which no system store has
        res = self.pub(["-h", HOST, "-p", str(self.broker.tls_port), "--capath",
                        "/etc/ssl/certs"], self.topic(), "x", 1)
        self.assertNotEqual(res.returncode, 0, res.stdout)
        ctx = ssl.create_default_context()
        with socket.create_connection((HOST, self.broker.tls_port), timeout=5) as s:
            with self.assertRaises(ssl.SSLCertVerificationError):
                ctx.wrap_socket(s, server_hostname=HOST)
        self.assert_broker_serves()

    def test_tls_with_wrong_ca_fails(self):
        with tempfile.TemporaryDirectory() as d:
            other_ca = make_test_pki(d)[0]
            res = self.pub(["-h", HOST, "-p", str(self.broker.tls_port), "--cafile",
                            other_ca], self.topic(), "x", 1)
        self.assertNotEqual(res.returncode, 0, res.stdout)

    def test_plain_mqtt_on_tls_port_closed(self):
        r = self.raw()
        r.sock.close()
        r = RawClient(self.broker.tls_port)
        self._clients.append(r)
        r.send(connect_pkt(uniq()), tolerate_close=True)
        got = r.expect_closed(5.0)
        self.assertFalse(got.startswith(b"\x20\x02"), "CONNACK over a TLS port in clear text")
        self.assert_broker_serves()

    def test_raw_mqtt_over_tls(self):
        r = self.raw(connect=True, tls=True)
        r.ping()

    def test_tls11_refused(self):
        probe = self._tls11_client_context()
        if probe is None:
            self.skipTest("local OpenSSL cannot negotiate TLS 1.1 even with itself")
        with socket.create_connection((HOST, self.broker.tls_port), timeout=5) as s:
            with self.assertRaises((ssl.SSLError, ConnectionResetError)):
                probe.wrap_socket(s, server_hostname=HOST)
        self.assert_broker_serves()

    def _tls11_client_context(self):
        """A client context limited to TLS 1.1, or None if it cannot even talk to a local
        TLS 1.1 server (then the check would prove nothing)."""
        def ctx11(purpose):
            ctx = ssl.SSLContext(purpose)
            with warnings.catch_warnings():  # deprecated on purpose: that is the test
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1
                ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            return ctx
        try:
            with tempfile.TemporaryDirectory() as d:
                _, crt, key = make_test_pki(d)
                server = ctx11(ssl.PROTOCOL_TLS_SERVER)
                server.load_cert_chain(crt, key)
                client = ctx11(ssl.PROTOCOL_TLS_CLIENT)
                client.check_hostname = False
                client.verify_mode = ssl.CERT_NONE
                a, b = socket.socketpair()
                with a, b:
                    a.settimeout(5)
                    b.settimeout(5)
                    errs = []

                    def serve():
                        try:
                            server.wrap_socket(a, server_side=True).close()
                        except (ssl.SSLError, OSError) as e:
                            errs.append(e)
                    th = threading.Thread(target=serve)
                    th.start()
                    try:
                        client.wrap_socket(b, server_hostname="localhost").close()
                    finally:
                        th.join(5)
                    if errs:
                        return None
            return client
        except (ssl.SSLError, OSError, ValueError):
            return None

    def test_paho_tls_alpn_roundtrip(self):
        t = self.topic()
        sub = self.client(tls=True, alpn=["mqtt"])
        sub.subscribe(t, 2)
        pub = self.client(tls=True, alpn=["mqtt"])
        for q in (0, 1, 2):
            pub.publish(t, b"alpn %d" % q, q)
        got = sub.wait_messages(3, topic=t)
        self.assertEqual([(m.payload, m.qos) for m in got],
                         [(b"alpn 0", 0), (b"alpn 1", 1), (b"alpn 2", 2)])

    @iotcloud_only("ALPN selection (mosquitto 2.0 does not negotiate ALPN)")
    def test_alpn_mqtt_selected(self):
        c = self.client(tls=True, alpn=["mqtt"])
        self.assertEqual(c.c.socket().selected_alpn_protocol(), "mqtt")
        c.publish(self.topic(), b"x", 1)

    @iotcloud_only("ALPN selection")
    def test_unknown_alpn_refused_or_default(self):
        # A client offering only an unknown protocol id must not end up talking MQTT to
        # something else: either the handshake fails or no protocol is selected.
        ctx = self.broker.tls_context(alpn=["x-unknown"])
        with socket.create_connection((HOST, self.broker.tls_port), timeout=5) as s:
            try:
                tls = ctx.wrap_socket(s, server_hostname=HOST)
            except (ssl.SSLError, ConnectionResetError):
                pass
            else:
                self.assertIn(tls.selected_alpn_protocol(), (None, ))
                tls.close()
        self.assert_broker_serves()


if __name__ == "__main__":
    unittest.main()
