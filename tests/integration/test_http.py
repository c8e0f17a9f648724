"""The HTTP API server against the real binary: curl over HTTPS, raw TLS sockets for the
limits curl will not produce, and ALPN sharing one TLS port between MQTT and HTTP."""

import json
import os
import socket
import ssl
import subprocess
import time
import unittest

import yaml

from harness import (Broker, BrokerCase, HOST, RawClient, connect_pkt, free_port,
                     iotcloud_bin, iotcloud_only, run_cli, uniq, CONNACK)

MOSQ_TIMEOUT = 15


def curl(url, *args, cafile=None, timeout=15):
    """Runs curl; returns (status, headers dict lower-case, body bytes)."""
    cmd = ["curl", "-sS", "--http1.1", "-D", "-", "-o", "-", "--max-time", str(timeout)]
    if cafile:
        cmd += ["--cacert", cafile]
    out = subprocess.run(cmd + list(args) + [url], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=timeout + 5)
    if out.returncode != 0:
        raise AssertionError("curl failed (%d): %s" % (out.returncode, out.stderr.decode()))
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    while head.startswith(b"HTTP/1.1 100"):
        head, _, body = body.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


class HttpCase(BrokerCase):
    """A broker with an HTTPS listener and a plain loopback HTTP listener."""

    @classmethod
    def setUpClass(cls):
        cls.https_port = free_port()
        cls.http_port = free_port()
        cls.broker = Broker(["--listen", "https://%s:%d" % (HOST, cls.https_port),
                             "--listen", "http://%s:%d" % (HOST, cls.http_port),
                             "--http-max-body", "4096", "--workers", "2"]
                            + list(cls.extra))
        cls.broker.start()

    extra = ()

    def https(self, path, *args):
        return curl("https://localhost:%d%s" % (self.https_port, path), *args,
                    cafile=self.broker.cafile)

    def http(self, path, *args):
        return curl("http://%s:%d%s" % (HOST, self.http_port, path), *args)

    def tls_sock(self, alpn=("http/1.1",)):
        ctx = self.broker.tls_context(alpn=alpn)
        raw = socket.create_connection((HOST, self.https_port), timeout=10)
        return ctx.wrap_socket(raw, server_hostname="localhost")

    def error_of(self, body):
        doc = json.loads(body)
        self.assertIn("error", doc)
        self.assertTrue(doc["error"]["code"])
        self.assertTrue(doc["error"]["message"])
        return doc["error"]


def read_response(sock, timeout=10):
    """One HTTP response from a raw socket: (status, headers, body); b'' body at EOF."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(lines[0].split()[1]), headers, rest[:n]


@iotcloud_only("HTTP API")
class TestHttpBasics(HttpCase):

    def test_healthz_readyz_over_https_and_http(self):
        for get in (self.https, self.http):
            st, h, body = get("/healthz")
            self.assertEqual(st, 200)
            self.assertEqual(json.loads(body), {"status": "ok"})
            self.assertEqual(h["content-type"].split(";")[0], "application/json")
            self.assertTrue(h.get("x-request-id"))
            self.assertTrue(h.get("date", "").endswith("GMT"))
            st, _, body = get("/readyz")
            self.assertEqual(st, 200, body)

    def test_request_id_echoed_or_generated(self):
        _, h1, _ = self.https("/healthz")
        _, h2, _ = self.https("/healthz")
        self.assertNotEqual(h1["x-request-id"], h2["x-request-id"])
        _, h3, _ = self.https("/healthz", "-H", "X-Request-Id: my-req.42")
        self.assertEqual(h3["x-request-id"], "my-req.42")
        _, h4, _ = self.https("/healthz", "-H", "X-Request-Id: bad id\x01")
        self.assertNotEqual(h4["x-request-id"], "bad id")

    def test_404_and_405_with_allow(self):
        st, _, body = self.https("/v1/nothing-here")
        self.assertEqual(st, 404)
        self.assertEqual(self.error_of(body)["code"], "not_found")
        st, h, body = self.https("/healthz", "-X", "DELETE")
        self.assertEqual(st, 405)
        self.assertIn("GET", h["allow"])
        self.error_of(body)

    def test_head_has_length_but_no_body(self):
        s = self.tls_sock()
        s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(10)
        data = b""
        while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        head, _, rest = data.partition(b"\r\n\r\n")
        self.assertIn(b"Content-Length: ", head)
        # the HEAD answer has no body: the next bytes are the GET's status line
        self.assertTrue(rest.startswith(b"HTTP/1.1 200"), rest[:40])

    def test_keep_alive_reuses_connection(self):
        url = "https://localhost:%d/healthz" % self.https_port
        out = subprocess.run(["curl", "-sS", "-v", "--http1.1", "--cacert", self.broker.cafile,
                              url, url, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.count(b'"ok"'), 3)
        self.assertIn(b"Re-using existing connection", out.stderr)

    def test_malformed_json_is_400_naming_the_problem(self):
        st, _, body = self.https("/v1/auth/login", "-H", "Content-Type: application/json",
                                 "--data-binary", "{\"username\": ")
        self.assertEqual(st, 400)
        self.assertEqual(self.error_of(body)["code"], "bad_json")
        st, _, body = self.https("/v1/auth/login", "-H", "Content-Type: application/json",
                                 "--data-binary", "{\"username\": 5, \"password\": \"x\"}")
        self.assertEqual(st, 400)
        err = self.error_of(body)
        self.assertIn("username", err["message"])

    def test_body_over_limit_is_413(self):
        big = "{\"username\":\"" + "a" * 8000 + "\"}"
        st, _, body = self.https("/v1/auth/login", "-H", "Content-Type: application/json",
                                 "--data-binary", big)
        self.assertEqual(st, 413)
        self.error_of(body)
        # chunked: no Content-Length to refuse up front
        st, _, body = self.https("/v1/auth/login", "-H", "Content-Type: application/json",
                                 "-H", "Transfer-Encoding: chunked", "--data-binary", big)
        self.assertEqual(st, 413)
        self.broker.assert_running()

    def test_header_block_over_16k_is_431(self):
        st, _, body = self.https("/healthz", "-H", "X-Big: " + "b" * 17000)
        self.assertEqual(st, 431)
        self.error_of(body)

    def test_openapi_served_as_json_and_yaml(self):
        st, h, body = self.https("/v1/openapi.json")
        self.assertEqual(st, 200)
        doc = json.loads(body)
        self.assertTrue(doc["openapi"].startswith("3.1"))
        st, h, ybody = self.https("/v1/openapi.yaml")
        self.assertEqual(st, 200)
        self.assertEqual(yaml.safe_load(ybody), doc)

    def post_raw(self, body):
        return self.https("/v1/auth/login", "-H", "Content-Type: application/json",
                          "--data-binary", body)

    def test_json_trailing_data_refused_naming_it(self):
        for body in ('{"username":"t1","password":"xxxxxxxxxxxx"}{"x":1}',
                     '{"username":"t1","password":"xxxxxxxxxxxx"} {',
                     '{"username":"t1","password":"xxxxxxxxxxxx"} xyz'):
            st, _, raw = self.post_raw(body)
            self.assertEqual(st, 400, body)
            err = self.error_of(raw)
            self.assertEqual(err["code"], "bad_json", body)
            if not body.endswith("xyz"):
                self.assertIn("after the JSON object", err["message"], body)
        st, _, _ = self.post_raw('  {"username":"t1","password":"xxxxxxxxxxxx"} \r\n')
        self.assertEqual(st, 401, "whitespace around the object is fine")

    def test_json_nan_and_infinity_refused_naming_them(self):
        for v in ("NaN", "Infinity", "-Infinity", '{"$numberDouble":"NaN"}'):
            body = '{"username":"t1","password":"xxxxxxxxxxxx","x":%s}' % v
            st, _, raw = self.post_raw(body)
            self.assertEqual(st, 400, body)
            err = self.error_of(raw)
            self.assertEqual(err["code"], "bad_json", body)
            self.assertIn("NaN and Infinity", err["message"], body)

    def test_two_authorization_headers_refused(self):
        with self.tls_sock() as s:
            s.sendall(b"GET /v1/me HTTP/1.1\r\nHost: x\r\n"
                      b"Authorization: Bearer " + b"A" * 43 + b"\r\n"
                      b"authorization: Bearer " + b"B" * 43 + b"\r\n\r\n")
            st, _, body = read_response(s)
        self.assertEqual(st, 400)
        self.assertIn("Authorization", self.error_of(body)["message"])
        with self.tls_sock() as s:  # one is the usual 401
            s.sendall(b"GET /v1/me HTTP/1.1\r\nHost: x\r\n"
                      b"Authorization: Bearer " + b"A" * 43 + b"\r\n\r\n")
            st, _, _ = read_response(s)
        self.assertEqual(st, 401)

    def test_hsts_on_https_only(self):
        for path in ("/healthz", "/v1/nothing-here"):
            _, h, _ = self.https(path)
            self.assertEqual(h.get("strict-transport-security"), "max-age=31536000", path)
            _, h, _ = self.http(path)
            self.assertNotIn("strict-transport-security", h, path)


@iotcloud_only("HTTP timeouts")
class TestHttpTimeouts(HttpCase):
    extra = ("--http-idle-timeout", "800")

    def test_slow_header_gets_408(self):
        s = self.tls_sock()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        deadline = time.monotonic() + 30
        resp = None
        # Dribble a header byte now and then: the header timeout counts from the first byte.
        s.settimeout(1.0)
        while time.monotonic() < deadline:
            try:
                s.sendall(b"X")
            except OSError:
                break
            try:
                data = s.recv(65536)
            except socket.timeout:
                continue
            resp = data
            break
        self.assertIsNotNone(resp, "no answer to a header trickled for 30 s")
        self.assertTrue(resp.startswith(b"HTTP/1.1 408"), resp[:80])
        s.close()

    def test_idle_keep_alive_closed(self):
        s = self.tls_sock()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        st, _, _ = read_response(s)
        self.assertEqual(st, 200)
        t0 = time.monotonic()
        s.settimeout(10)
        try:
            self.assertEqual(s.recv(1), b"")
        except (ConnectionResetError, ssl.SSLError):
            pass
        self.assertLess(time.monotonic() - t0, 8)


@iotcloud_only("ALPN")
class TestAlpnOnePort(HttpCase):
    """Every TLS listener serves MQTT and HTTP by ALPN."""

    def test_https_port_serves_mqtt_by_alpn(self):
        for alpn in (["mqtt"], ["x-amzn-mqtt-ca"]):
            c = RawClient(self.https_port, tls_context=self.broker.tls_context(alpn=alpn))
            try:
                c.send(connect_pkt(uniq()))
                pkt = c.expect_packet(CONNACK)
                self.assertEqual(pkt.body, b"\x00\x00", alpn)
            finally:
                c.close()

    def test_https_port_without_alpn_is_http(self):
        s = self.tls_sock(alpn=None)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        st, _, body = read_response(s)
        self.assertEqual(st, 200)
        s.close()

    def test_mqtts_port_serves_curl_and_mosquitto_pub(self):
        st, _, body = curl("https://localhost:%d/healthz" % self.broker.tls_port,
                           cafile=self.broker.cafile)
        self.assertEqual(st, 200, body)
        topic = "alpn/" + uniq()
        sub = self.client(tls=True)
        sub.subscribe(topic, qos=1)
        out = subprocess.run(["mosquitto_pub", "-h", "localhost", "-p", str(self.broker.tls_port),
                              "--cafile", self.broker.cafile, "-t", topic, "-m", "via-alpn",
                              "-q", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=MOSQ_TIMEOUT)
        self.assertEqual(out.returncode, 0, out.stdout)
        msgs = sub.wait_messages(1)
        self.assertEqual(msgs[0].payload, b"via-alpn")


@iotcloud_only("CLI")
class TestRoutesMatchOpenApi(unittest.TestCase):
    """A route in the router table but not in docs/openapi.yaml, or the other way round,
    fails here."""

    def test_router_and_document_agree(self):
        out = run_cli(["routes"])
        self.assertEqual(out.returncode, 0, out.stderr)
        routes = set()
        for line in out.stdout.splitlines():
            method, path, _auth = line.split()
            routes.add((method.lower(), path))
        self.assertGreater(len(routes), 10)
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "..", "..", "docs", "openapi.yaml")) as f:
            doc = yaml.safe_load(f)
        documented = set()
        for path, item in doc["paths"].items():
            for method in item:
                if method in ("get", "put", "post", "patch", "delete", "head", "options"):
                    documented.add((method, path))
        self.assertEqual(sorted(routes - documented), [], "routes missing from openapi.yaml")
        self.assertEqual(sorted(documented - routes), [], "documented routes not in the router")

    def test_plain_http_refused_off_loopback(self):
        out = run_cli(["--listen", "http://0.0.0.0:0"])
        self.assertEqual(out.returncode, 2)
        self.assertIn("loopback", out.stderr)


@iotcloud_only("HTTP API")
class TestHstsConfigured(HttpCase):
    extra = ("--hsts-max-age", "600")

    def test_max_age_from_config(self):
        _, h, _ = self.https("/healthz")
        self.assertEqual(h.get("strict-transport-security"), "max-age=600")
        _, h, _ = self.http("/healthz")
        self.assertNotIn("strict-transport-security", h)


@iotcloud_only("HTTP API")
class TestHstsOff(HttpCase):
    extra = ("--hsts-max-age", "0")

    def test_zero_sends_no_header(self):
        _, h, _ = self.https("/healthz")
        self.assertNotIn("strict-transport-security", h)


if __name__ == "__main__":
    unittest.main()
