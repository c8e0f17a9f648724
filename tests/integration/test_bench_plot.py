"""bench/plot (docs/benchmarks.md, "Charts"): small hand-made iotbench JSON files of each
kind in a temp dir become SVG and PNG charts; missing inputs skip their chart cleanly;
unreadable files are skipped, not fatal.

  PlotCase  pubsub (compare.sh names), rtt and connect files -> every chart as a non-empty
            SVG document and a PNG; only rtt files -> just the rtt chart, a message for
            the others; no usable file -> exit 1; bad JSON beside good files is skipped

Needs gnuplot: bench/plot installs gnuplot-nox when it can (root or sudo; scripts/deps.sh
--test installs it for CI); skipped with a message when it is absent and cannot be.
No figures are asserted.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLOT = os.path.join(ROOT, "bench", "plot")


def pubsub(rate, delivered, p50):
    lat = {"p50": p50, "p90": p50 * 2, "p99": p50 * 10, "p99_9": p50 * 40, "max": p50 * 50,
           "mean": p50 * 1.5, "count": 1000}
    return {"tool": "iotbench pubsub", "host": "127.0.0.1", "port": 1883,
            "topic_mode": "one2one", "pubs": 1, "subs": 1, "qos": 1, "size": 64,
            "rate": rate, "sent_per_s": delivered, "delivered_per_s": delivered, "lost": 0,
            "latency_us": lat, "puback_latency_us": lat}


def rtt(devices, rate):
    def hist(base):
        return {"p50": base, "p90": base * 2, "p99": base * 8, "p99_9": base * 20,
                "max": base * 30, "mean": base * 1.4, "count": 5000}
    return {"tool": "iotbench rtt", "devices": devices, "conns": 16, "depth": 16,
            "rate": rate, "open_loop": rate > 0, "achieved_per_s": rate or 9000.0,
            "errors": 0, "status": {"200": 5000},
            "server": {"cpu_pct": 60.0, "cpu_us_per_call": 110.0, "rss_start": 1, "rss_end": 2},
            "rtt_ms": hist(0.5), "server_latency_ms": hist(0.25)}


def connect(tls, conn_per_s, rss):
    return {"tool": "iotbench connect", "tls": tls, "conns": 100, "established": 100,
            "conn_per_s": conn_per_s, "failures": {"tcp": 0},
            "server": {"rss_before": 1, "rss_after": 2, "rss_held": 2, "rss_per_conn": rss,
                       "cpu_us": 1000, "cpu_us_per_conn": 10.0},
            "handshake_ms": {"p50": 1.0, "p90": 2.0, "p99": 3.0, "p99_9": 4.0, "max": 5.0,
                             "mean": 1.2, "count": 100}}


def write(d, name, doc):
    with open(os.path.join(d, name), "w") as f:
        json.dump(doc, f)


def run_plot(results, out):
    return subprocess.run(["bash", PLOT, results, out], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=300)


class PlotCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("gnuplot"):
            return
        # bench/plot installs gnuplot-nox itself; try once with an empty input.
        with tempfile.TemporaryDirectory() as d:
            run_plot(d, os.path.join(d, "out"))
        if not shutil.which("gnuplot"):
            raise unittest.SkipTest("gnuplot is not installed and bench/plot could not install "
                                    "gnuplot-nox (needs root or sudo; scripts/deps.sh --test)")

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="test-bench-plot-")
        self.res = os.path.join(self.tmp.name, "results")
        self.out = os.path.join(self.tmp.name, "plots")
        os.mkdir(self.res)

    def tearDown(self):
        self.tmp.cleanup()

    def assert_svg(self, name):
        path = os.path.join(self.out, name + ".svg")
        self.assertTrue(os.path.isfile(path), "%s missing; have %s" % (
            path, sorted(os.listdir(self.out)) if os.path.isdir(self.out) else "no dir"))
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("<svg", text)
        self.assertIn("</svg>", text)
        png = os.path.join(self.out, name + ".png")
        with open(png, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        return text

    def test_every_kind(self):
        for broker, scale in (("iotcloud-w1", 10.0), ("iotcloud-w2", 8.0), ("mosquitto", 1.0)):
            write(self.res, "%s-1to1-q1.json" % broker, pubsub(0, 40000 * scale, 2000.0))
            write(self.res, "%s-lat-1k-q1.json" % broker, pubsub(1000, 1000, 120.0 * scale))
        write(self.res, "rtt-100-1000-16.json", rtt(100, 1000.0))
        write(self.res, "rtt-100-0-16.json", rtt(100, 0.0))
        write(self.res, "connect-iotcloud-plain.json", connect(False, 6000.0, 1200))
        write(self.res, "connect-iotcloud-tls.json", connect(True, 400.0, 16000))
        with open(os.path.join(self.res, "broken.json"), "w") as f:
            f.write("{not json")
        r = run_plot(self.res, self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("broken.json", r.stderr)
        text = self.assert_svg("pubsub-throughput")
        self.assertIn("mosquitto", text)
        self.assertIn("1to1-q1", text)
        text = self.assert_svg("pubsub-latency-lat-1k-q1")
        self.assertIn("p99.9", text)
        text = self.assert_svg("rtt-100-1000-16")
        self.assertIn("100 devices, 1000 calls/s open loop", text)
        self.assert_svg("rtt-100-0-16")
        self.assert_svg("connect-rate")
        self.assert_svg("connect-cpu")
        text = self.assert_svg("connect-rss")
        self.assertIn("iotcloud-tls", text)

    def test_only_rtt(self):
        write(self.res, "rtt-10-500-4.json", rtt(10, 500.0))
        r = run_plot(self.res, self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_svg("rtt-10-500-4")
        self.assertIn("skipping pubsub-throughput", r.stderr)
        self.assertIn("skipping connect", r.stderr)
        self.assertEqual(sorted(os.listdir(self.out)), ["rtt-10-500-4.png", "rtt-10-500-4.svg"])

    def test_nothing_usable(self):
        write(self.res, "other.json", {"tool": "something else"})
        r = run_plot(self.res, self.out)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no chart written", r.stderr)
        r = run_plot(os.path.join(self.tmp.name, "absent"), self.out)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no results directory", r.stderr)


if __name__ == "__main__":
    unittest.main()
