"""Prometheus metrics (issue #22): GET /metrics on a loopback metrics:// listener and
GET /v1/admin/metrics on the API for administrators.

Every scrape is read by a strict parser of the text format (promparse.py, itself checked
here against bad input) and by `promtool check metrics` (Debian's prometheus, installed by
scripts/deps.sh --test; missing, the test fails). Counters are compared before and after known traffic: they must move by exactly
the amounts the traffic causes.
"""

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.request

import promparse
from harness import (CONNACK, HOST, PUBACK, SUBACK, WAIT, Client, RawClient, ack_pkt,
                     connect_pkt, free_port, iotcloud_bin, iotcloud_only, run_cli,
                     subscribe_pkt, uniq)
from http_harness import Http, HttpServer
from test_devsim import DeviceProc, devsim_bin

PW = "Corr3ct-horse-battery-staple"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALERTS = os.path.join(REPO, "deploy", "prometheus", "iotcloud-alerts.yml")
DASHBOARD = os.path.join(REPO, "deploy", "grafana", "iotcloud-dashboard.json")


class MetricsServer(HttpServer):
    def _pick_ports(self):
        super()._pick_ports()
        self.metrics_port = free_port()

    def command(self):
        return super().command() + ["--listen", "metrics://%s:%d" % (HOST, self.metrics_port)]

    def listen_ports(self):
        return super().listen_ports() + [self.metrics_port]


def scrape_text(port, path="/metrics"):
    with urllib.request.urlopen("http://%s:%d%s" % (HOST, port, path), timeout=WAIT) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode("utf-8")


class ParserSelfCheck(unittest.TestCase):
    """The parser refuses what the format forbids (so a pass below means something)."""

    GOOD = ("# HELP a_total help with \\\\ and \\n\n# TYPE a_total counter\n"
            "a_total{x=\"q\\\"\\\\\\n\"} 3\n"
            "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\n"
            "h_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\n")

    def test_good(self):
        f = promparse.parse(self.GOOD)
        self.assertEqual(promparse.value(f, "a_total", x="q\"\\\n"), 3)
        self.assertEqual(promparse.value(f, "h_count"), 2)

    def test_bad(self):
        bad = [
            "a_total 1",                                          # no final newline
            "# TYPE a_total counter\na_total{x=\"\\t\"} 1\n",     # bad escape
            "# TYPE a_total counter\na_total x\n",                # not a number
            "# TYPE a counter\na 1\n",                            # counter without _total
            "# TYPE a_total counter\na_total 1\na_total 2\n",     # same series twice
            "# TYPE a_total counter\n# TYPE a_total counter\n",   # TYPE twice
            "# TYPE a_total counter\na_total 1\n# TYPE b gauge\nb 1\na_total{x=\"1\"} 1\n",
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",  # no +Inf
            "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
            "h_sum 1\nh_count 1\n",                               # not cumulative
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",
            "# TYPE g gauge\ng{1x=\"a\"} 1\n",                    # bad label name
            "# TYPE g gauge\ng{x=\"a\",x=\"b\"} 1\n",             # label twice
        ]
        for text in bad:
            with self.assertRaises(promparse.FormatError, msg=text):
                promparse.parse(text)


@iotcloud_only("iotcloud metrics")
class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        data = tempfile.mkdtemp(prefix="iotcloud-itest-")
        res = subprocess.run([iotcloud_bin(), "user", "add", "--admin", "--data-dir", data,
                              "ops"], input=PW + "\n", stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        cls.srv = MetricsServer(extra_args=["--workers", "2"], data_dir=data)
        cls.srv.own_dir = True
        cls.srv.start()
        cls.http = Http(cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def scrape(self):
        status, ctype, text = scrape_text(self.srv.metrics_port)
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        fams = promparse.parse(text)
        self.assertTrue(shutil.which("promtool"), "promtool missing: scripts/deps.sh --test")
        p = subprocess.run(["promtool", "check", "metrics"], input=text,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return fams

    def v(self, fams, name, **labels):
        return promparse.value(fams, name, **labels)

    def test_families_and_types(self):
        f = self.scrape()
        want = {
            "iotcloud_mqtt_messages_received_total": "counter",
            "iotcloud_mqtt_messages_dropped_total": "counter",
            "iotcloud_net_connections": "gauge",
            "iotcloud_tls_handshakes_total": "counter",
            "iotcloud_http_requests_total": "counter",
            "iotcloud_http_request_duration_seconds": "histogram",
            "iotcloud_store_commit_duration_seconds": "histogram",
            "iotcloud_device_call_duration_seconds": "histogram",
            "iotcloud_store_commits_total": "counter",
            "iotcloud_store_queue_depth": "gauge",
            "iotcloud_device_call_outcomes_total": "counter",
            "iotcloud_notifications_total": "counter",
        }
        for name, t in want.items():
            self.assertIn(name, f)
            self.assertEqual(f[name]["type"], t, name)
            self.assertTrue(f[name]["help"], name)

    def test_loop_lag_per_worker(self):
        time.sleep(1.2)  # one tick of each loop's lag timer
        f = self.scrape()
        fam = f["iotcloud_net_loop_lag_seconds"]
        self.assertEqual(fam["type"], "gauge")
        workers = self.v(f, "iotcloud_net_workers")
        self.assertEqual(sorted(dict(l)["worker"] for _, l in fam["samples"]),
                         sorted(str(i) for i in range(int(workers))))
        for v in fam["samples"].values():
            self.assertGreaterEqual(v, 0)
            self.assertLess(v, 60, "lag is in seconds")

    def test_mqtt_counters_move(self):
        before = self.scrape()
        sub = Client(self.srv.port, client_id=uniq("msub"))
        pub = Client(self.srv.port, client_id=uniq("mpub"))
        for c in (sub, pub):
            c.connect()
            self.addCleanup(c.close)
        topic = "metrics/" + uniq("t")
        sub.subscribe(topic, qos=1)
        for i in range(5):
            pub.publish(topic, b"m%d" % i, qos=1)
        sub.wait_messages(5)
        after = self.scrape()
        d = lambda n, **lb: self.v(after, n, **lb) - self.v(before, n, **lb)
        self.assertEqual(d("iotcloud_mqtt_connects_total"), 2)
        self.assertEqual(d("iotcloud_mqtt_messages_received_total"), 5)
        self.assertEqual(d("iotcloud_mqtt_messages_sent_total"), 5)
        self.assertEqual(d("iotcloud_mqtt_messages_dropped_total", reason="queue_full"), 0)
        self.assertGreaterEqual(self.v(after, "iotcloud_net_connections"), 2)
        on_mqtt = self.v(after, "iotcloud_net_listener_connections", listener="0",
                         port=str(self.srv.port), tls="false")
        self.assertGreaterEqual(on_mqtt, 2)  # the two clients (still connected)
        sub.disconnect()
        pub.disconnect()
        deadline = time.monotonic() + WAIT
        while on_mqtt > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
            on_mqtt = self.v(self.scrape(), "iotcloud_net_listener_connections", listener="0",
                             port=str(self.srv.port), tls="false")
        self.assertEqual(on_mqtt, 0, "closed connections leave the gauge")

    def test_broker_gauges(self):
        """Sessions online/offline, queued and retained messages, subscriptions: gauges
        read at scrape time move by exactly what the traffic leaves behind."""
        g = lambda f, n, **lb: self.v(f, n, **lb)
        before = self.scrape()
        for name in ("iotcloud_mqtt_sessions", "iotcloud_mqtt_messages_queued",
                     "iotcloud_mqtt_retained_messages", "iotcloud_mqtt_subscriptions"):
            self.assertEqual(before[name]["type"], "gauge", name)
        topic = "metrics/" + uniq("g")
        keeper = Client(self.srv.port, client_id=uniq("mkeep"), clean_session=False)
        keeper.connect()
        keeper.subscribe(topic, qos=1)
        online = self.scrape()
        self.assertEqual(g(online, "iotcloud_mqtt_sessions", state="online")
                         - g(before, "iotcloud_mqtt_sessions", state="online"), 1)
        self.assertEqual(g(online, "iotcloud_mqtt_subscriptions")
                         - g(before, "iotcloud_mqtt_subscriptions"), 1)
        keeper.disconnect()
        pub = Client(self.srv.port, client_id=uniq("mgpub"))
        pub.connect()
        self.addCleanup(pub.close)
        for i in range(4):
            pub.publish(topic, b"q%d" % i, qos=1)
        pub.publish(topic + "/r", b"kept", qos=1, retain=True)
        after = self.scrape()
        deadline = time.monotonic() + WAIT
        while (g(after, "iotcloud_mqtt_messages_queued")
               - g(before, "iotcloud_mqtt_messages_queued") < 4
               and time.monotonic() < deadline):
            time.sleep(0.05)
            after = self.scrape()
        self.assertEqual(g(after, "iotcloud_mqtt_sessions", state="offline")
                         - g(before, "iotcloud_mqtt_sessions", state="offline"), 1)
        self.assertEqual(g(after, "iotcloud_mqtt_messages_queued")
                         - g(before, "iotcloud_mqtt_messages_queued"), 4)
        self.assertEqual(g(after, "iotcloud_mqtt_retained_messages")
                         - g(before, "iotcloud_mqtt_retained_messages"), 1)
        # the session comes back and takes its queue: the gauge falls back
        back = Client(self.srv.port, client_id=keeper.client_id, clean_session=False)
        back.connect()
        back.wait_messages(4)
        self.addCleanup(back.close)
        deadline = time.monotonic() + WAIT
        while True:
            now = self.scrape()
            q = g(now, "iotcloud_mqtt_messages_queued") - g(before, "iotcloud_mqtt_messages_queued")
            if q == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(q, 0)
        pub.publish(topic + "/r", b"", qos=1, retain=True)  # clears the retained message

    def test_inflight_gauge(self):
        """QoS 1 messages sent to a subscriber that does not PUBACK are in flight; its
        acknowledgements take them out. Counted by each worker loop on the scrape."""
        fam = lambda f: self.v(f, "iotcloud_mqtt_messages_inflight")
        before = self.scrape()
        self.assertEqual(before["iotcloud_mqtt_messages_inflight"]["type"], "gauge")
        topic = "metrics/" + uniq("inf")
        raw = RawClient(self.srv.port)
        self.addCleanup(raw.sock.close)
        raw.send(connect_pkt(uniq("mraw")))
        raw.expect_packet(CONNACK)
        raw.send(subscribe_pkt(1, [(topic, 1)]))
        raw.expect_packet(SUBACK)
        pub = Client(self.srv.port, client_id=uniq("mipub"))
        pub.connect()
        self.addCleanup(pub.close)
        for i in range(3):
            pub.publish(topic, b"i%d" % i, qos=1)
        pids = [raw.read_publish().pid for _ in range(3)]
        self.assertEqual(fam(self.scrape()) - fam(before), 3)
        for pid in pids:
            raw.send(ack_pkt(PUBACK, pid))
        deadline = time.monotonic() + WAIT
        while fam(self.scrape()) - fam(before) != 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(fam(self.scrape()) - fam(before), 0)

    def test_http_counters_and_histogram(self):
        before = self.scrape()
        for _ in range(3):
            self.assertEqual(self.http.call("GET", "/v1/no-such-route").status, 404)
        for _ in range(2):
            self.assertEqual(self.http.call("GET", "/healthz").status, 200)
        after = self.scrape()
        d = lambda n, **lb: self.v(after, n, **lb) - self.v(before, n, **lb)
        self.assertEqual(d("iotcloud_http_requests_total", code="4xx"), 3)
        self.assertEqual(d("iotcloud_http_requests_total", code="2xx"), 2)
        self.assertEqual(d("iotcloud_http_requests_total", code="5xx"), 0)
        self.assertEqual(d("iotcloud_http_request_duration_seconds_count"), 5)
        route = lambda f, r, c: f["iotcloud_http_route_requests_total"]["samples"].get(
            ("iotcloud_http_route_requests_total",
             (("code", c), ("method", "GET"), ("route", r))), 0)
        self.assertEqual(route(after, "/healthz", "2xx") - route(before, "/healthz", "2xx"), 2)
        self.assertEqual(route(after, "/healthz", "4xx") - route(before, "/healthz", "4xx"), 0)
        self.assertEqual(d("iotcloud_http_request_duration_seconds_bucket", le="+Inf"), 5)
        # the scrapes themselves are on their own server: not counted as API requests
        self.assertEqual(d("iotcloud_http_connections_total"), 5)

    def buckets(self, fams, name):
        """The (le, cumulative count) pairs of an unlabelled histogram, le ascending."""
        out = sorted((float(dict(lb)["le"].replace("Inf", "inf")), v)
                     for (n, lb), v in fams[name]["samples"].items() if n == name + "_bucket")
        self.assertGreater(len(out), 2, name)
        self.assertEqual(out[-1][0], float("inf"))
        for (_, a), (_, b) in zip(out, out[1:]):
            self.assertLessEqual(a, b, (name, out))  # cumulative: never decreasing
        self.assertEqual(out[-1][1], self.v(fams, name + "_count"))
        return out

    def test_store_commit_histogram(self):
        tok = self.http.call("POST", "/v1/auth/login", {"username": "ops", "password": PW})
        self.assertEqual(tok.status, 200, tok.raw)
        t0 = time.monotonic()
        before = self.scrape()
        n = 4
        for _ in range(n):  # each write answers after its commit
            body = {"name": "h-" + os.urandom(6).hex(), "generate_key": True}
            r = self.http.call("POST", "/v1/devices", body, token=tok.json["access_token"])
            self.assertEqual(r.status, 201, r.raw)
        after = self.scrape()
        elapsed = time.monotonic() - t0
        name = "iotcloud_store_commit_duration_seconds"
        self.assertEqual(after[name]["type"], "histogram")
        for f in (before, after):  # one snapshot: every commit is in the histogram
            self.assertEqual(self.v(f, name + "_count"), self.v(f, "iotcloud_store_commits_total"))
            self.buckets(f, name)
        dc = self.v(after, name + "_count") - self.v(before, name + "_count")
        ds = self.v(after, name + "_sum") - self.v(before, name + "_sum")
        self.assertGreaterEqual(dc, n)
        # commits run one at a time on the store thread: their durations fit in the window
        self.assertGreater(ds, 0)
        self.assertLessEqual(ds, elapsed)

    def test_device_call_histogram(self):
        tok = self.http.call("POST", "/v1/auth/login", {"username": "ops", "password": PW})
        self.assertEqual(tok.status, 200, tok.raw)
        token = tok.json["access_token"]
        body = {"name": "hc-" + os.urandom(6).hex(), "generate_key": True}
        r = self.http.call("POST", "/v1/devices", body, token=token)
        self.assertEqual(r.status, 201, r.raw)
        dev = r.json["id"]
        name = "iotcloud_device_call_duration_seconds"
        t0 = time.monotonic()
        before = self.scrape()
        n = 3
        for _ in range(n):  # never connected: each call goes through ctl and ends 503
            c = self.http.call("GET", "/v1/devices/%s/mac" % dev, token=token)
            self.assertEqual(c.status, 503, c.raw)
        after = self.scrape()
        elapsed = time.monotonic() - t0
        self.assertEqual(after[name]["type"], "histogram")
        d = lambda s: self.v(after, name + s) - self.v(before, name + s)
        self.assertEqual(d("_count"), n)
        self.assertEqual(d("_count"), self.v(after, "iotcloud_device_call_outcomes_total",
                                             outcome="offline")
                         - self.v(before, "iotcloud_device_call_outcomes_total",
                                  outcome="offline"))
        self.assertGreater(d("_sum"), 0)
        self.assertLessEqual(d("_sum"), elapsed)  # calls were one after another
        b0, b1 = self.buckets(before, name), self.buckets(after, name)
        self.assertEqual(b1[-1][1] - b0[-1][1], n)

    def test_device_call_histogram_answered(self):
        """A real device (devsim) answers: REST -> device -> REST round trips counted."""
        tok = self.http.call("POST", "/v1/auth/login", {"username": "ops", "password": PW})
        token = tok.json["access_token"]
        body = {"name": "ha-" + os.urandom(6).hex(), "generate_key": True}
        r = self.http.call("POST", "/v1/devices", body, token=token)
        self.assertEqual(r.status, 201, r.raw)
        dev = r.json["id"]
        r = self.http.call("POST", "/v1/devices/%s/secret" % dev, token=token)
        self.assertEqual(r.status, 201, r.raw)
        d = tempfile.mkdtemp(prefix="iotcloud-itest-")
        secrets = os.path.join(d, "secrets")
        with open(secrets, "w") as f:
            f.write("%s %s\n" % (dev, r.json["secret"]))
        p = DeviceProc([devsim_bin(), "--host", HOST, "--port", str(self.srv.tls_port),
                        "--cafile", self.srv.cafile, "--secrets", secrets])
        try:
            deadline = time.monotonic() + 15
            while not self.http.call("GET", "/v1/devices/" + dev, token=token).json["online"]:
                self.assertLess(time.monotonic(), deadline, p.text())
                time.sleep(0.05)
            name = "iotcloud_device_call_duration_seconds"
            t0 = time.monotonic()
            before = self.scrape()
            n = 5
            for _ in range(n):
                c = self.http.call("GET", "/v1/devices/%s/mac" % dev, token=token)
                self.assertEqual(c.status, 200, c.raw)
            after = self.scrape()
            elapsed = time.monotonic() - t0
            dv = lambda s, **lb: self.v(after, s, **lb) - self.v(before, s, **lb)
            self.assertEqual(dv(name + "_count"), n)
            self.assertEqual(dv("iotcloud_device_call_outcomes_total", outcome="answered"), n)
            self.assertGreater(dv(name + "_sum"), 0)
            self.assertLessEqual(dv(name + "_sum"), elapsed)
            self.buckets(after, name)
        finally:
            rc, out = p.stop()
            shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(rc, 0, out)

    def test_tls_handshakes_by_outcome(self):
        before = self.scrape()
        ctx = self.srv.tls_context(alpn=["http/1.1"])
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # the session is known after the handshake
        with socket.create_connection((HOST, self.srv.https_port), timeout=WAIT) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                while s.recv(4096):
                    pass
                sess = s.session
        with socket.create_connection((HOST, self.srv.https_port), timeout=WAIT) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=sess) as s:
                self.assertTrue(s.session_reused)
        untrusting = ssl.create_default_context()  # does not know our CA: aborts with an alert
        with socket.create_connection((HOST, self.srv.https_port), timeout=WAIT) as raw:
            with self.assertRaises(ssl.SSLError):
                untrusting.wrap_socket(raw, server_hostname="localhost")
        deadline = time.monotonic() + WAIT
        while True:
            after = self.scrape()
            d = lambda o: self.v(after, "iotcloud_tls_handshakes_total", outcome=o) - \
                self.v(before, "iotcloud_tls_handshakes_total", outcome=o)
            if d("failed") >= 1 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(d("full"), 1)
        self.assertEqual(d("resumed"), 1)
        self.assertEqual(d("failed"), 1)

    def test_admin_route(self):
        self.assertEqual(self.http.call("GET", "/v1/admin/metrics").status, 401)
        # a pattern with {params} as a label value: escaped and parsed back exactly
        self.assertEqual(self.http.call("GET", "/v1/devices/some-id").status, 401)
        f = self.scrape()
        key = ("iotcloud_http_route_requests_total",
               (("code", "4xx"), ("method", "GET"), ("route", "/v1/devices/{id}")))
        self.assertGreaterEqual(f["iotcloud_http_route_requests_total"]["samples"][key], 1)
        tok = self.http.call("POST", "/v1/auth/login", {"username": "ops", "password": PW})
        self.assertEqual(tok.status, 200, tok.raw)
        r = self.http.call("GET", "/v1/admin/metrics", token=tok.json["access_token"])
        self.assertEqual(r.status, 200, r.raw)
        self.assertTrue(r.headers["content-type"].startswith("text/plain; version=0.0.4"))
        f = promparse.parse(r.raw.decode("utf-8"))
        self.assertIn("iotcloud_mqtt_connects_total", f)

    def test_deploy_files_name_real_metrics(self):
        """Every iotcloud_* series the alert rules and the dashboard query is exported."""
        f = self.scrape()
        known = set(f)
        for name, fam in f.items():
            if fam["type"] == "histogram":
                known |= {name + "_bucket", name + "_sum", name + "_count"}
        with open(ALERTS) as fh:
            text = fh.read()
        with open(DASHBOARD) as fh:
            dash = json.load(fh)
        exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
        self.assertGreater(len(exprs), 10)
        used = set(re.findall(r"iotcloud_[a-z0-9_]+", text + "\n".join(exprs)))
        self.assertGreater(len(used), 10)
        self.assertEqual(used - known, set())

    def test_alert_rules_valid(self):
        p = subprocess.run(["promtool", "check", "rules", ALERTS], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_metrics_listener_serves_only_metrics(self):
        for path in ("/v1/openapi.json", "/healthz", "/v1/admin/metrics"):
            with self.assertRaises(urllib.error.HTTPError) as e:
                scrape_text(self.srv.metrics_port, path)
            self.assertEqual(e.exception.code, 404, path)


@iotcloud_only("iotcloud config")
class MetricsConfig(unittest.TestCase):
    def test_metrics_listener_loopback_only(self):
        r = run_cli(["--listen", "metrics://0.0.0.0:9464"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("metrics:// only on a loopback address", r.stderr)

    def test_help_names_the_scheme(self):
        self.assertIn("metrics://", run_cli(["--help"]).stdout)


if __name__ == "__main__":
    unittest.main()
