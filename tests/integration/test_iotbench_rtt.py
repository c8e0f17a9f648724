"""iotbench register + iotbench rtt (bench/README.md) against a real server: devices registered
with certificates made by `iotbench register`, run by bench/devsim over mutual TLS, called
over HTTPS keep-alive by `iotbench rtt`. Behaviour only: the JSON is well formed and
consistent; no speed is asserted.

  RttCase   register writes ID.crt/ID.key/ids; open-loop and closed-loop runs answer 200
            with ordered percentiles; an unknown device is counted as 404 and exits 1;
            bad options exit 2

iotbench and devsim are found beside $IOTCLOUD_BIN; the tests fail when either is missing.
"""

import json
import os
import shutil
import subprocess
import time
import unittest

from device_harness import Api, DeviceServer, scratch_dir, uname
from harness import iotcloud_bin, sanitizer_findings
from test_devsim import DeviceProc, devsim_bin

UP = 15.0
NDEV = 3


def read(path):
    with open(path) as f:
        return f.read()


def iotbench_bin():
    path = os.path.join(os.path.dirname(iotcloud_bin()), "iotbench")
    if not os.access(path, os.X_OK):
        raise AssertionError("iotbench not built (%s): cmake --build %s --target iotbench"
                             % (path, os.path.dirname(path)))
    return path


class RttCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bench = iotbench_bin()
        cls.devsim = devsim_bin()
        cls.srv = DeviceServer()
        cls.user = cls.srv.add_user(uname("owner"))
        cls.srv.start()
        cls.addClassCleanup(cls.srv.kill9)  # runs even when setUpClass raises below
        cls.api = Api(cls.srv)
        cls.dir = scratch_dir()
        cls.token = os.path.join(cls.dir, "token")
        with open(cls.token, "w") as f:
            f.write(cls.api.login(cls.user) + "\n")
        cls.certs = os.path.join(cls.dir, "certs")
        os.mkdir(cls.certs)
        cls.ids = os.path.join(cls.dir, "ids")
        cls.register()
        cls.sim = DeviceProc([cls.devsim, "--host", "127.0.0.1", "--port", str(cls.srv.tls_port),
                              "--cafile", cls.srv.cafile, "--certdir", cls.certs, "--quiet"])
        cls.addClassCleanup(cls.sim.proc.kill)
        cls.wait_online()

    @classmethod
    def tearDownClass(cls):
        rc, out = cls.sim.stop()
        cls.srv.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)
        assert rc == 0 and sanitizer_findings(out) == [], out

    @classmethod
    def register(cls):
        p = subprocess.run([cls.bench, "register", "--port", str(cls.srv.https_port),
                            "--cafile", cls.srv.cafile, "--token-file", cls.token,
                            "--count", str(NDEV), "--certdir", cls.certs, "--ids", cls.ids,
                            "--conns", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        assert p.returncode == 0, p.stderr.decode()
        assert sanitizer_findings(p.stderr.decode()) == []

    @classmethod
    def wait_online(cls):
        with open(cls.token) as f:
            token = f.read().strip()
        deadline = time.monotonic() + UP
        for dev in read(cls.ids).split():
            while True:
                r = cls.api.call("GET", "/v1/devices/" + dev, token=token)
                if r.status == 200 and r.json.get("online"):
                    break
                assert time.monotonic() < deadline, "device %s did not come online" % dev
                time.sleep(0.1)
        time.sleep(0.3)  # online is set at CONNECT; the SUBSCRIBE follows

    def rtt(self, *args, devices=None):
        out = os.path.join(self.dir, "rtt-%d.json" % time.monotonic_ns())
        cmd = [self.bench, "rtt", "--port", str(self.srv.https_port), "--cafile", self.srv.cafile,
               "--token-file", self.token, "--devices", devices or self.ids, "--json", out,
               "--server-pid", str(self.srv.proc.pid)] + list(args)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode()
        self.assertEqual(sanitizer_findings(err), [], err)
        res = None
        if os.path.exists(out):
            with open(out) as f:
                res = json.load(f)
        return p.returncode, res, p.stdout.decode() + err

    def check_sane(self, res):
        self.assertGreater(res["calls"], 0)
        self.assertEqual(res["calls"], res["ok"] + res["errors"])
        for h in ("rtt_ms", "server_latency_ms"):
            v = res[h]
            self.assertGreater(v["count"], 0, h)
            seq = [v["p50"], v["p90"], v["p99"], v["p99_9"], v["max"]]
            self.assertEqual(seq, sorted(seq), h)
            self.assertGreater(v["p50"], 0, h)
        # the server's part (publish -> answer) is inside the client's round trip
        self.assertLessEqual(res["server_latency_ms"]["p50"], res["rtt_ms"]["max"])
        self.assertGreater(res["server"]["rss_end"], 0)
        self.assertGreaterEqual(res["server"]["cpu_pct"], 0)

    # ---- tests -----------------------------------------------------------------------

    def test_register_wrote_certificates(self):
        ids = read(self.ids).split()
        self.assertEqual(len(ids), NDEV)
        for dev in ids:
            crt = os.path.join(self.certs, dev + ".crt")
            key = os.path.join(self.certs, dev + ".key")
            self.assertIn("BEGIN CERTIFICATE", read(crt))
            self.assertIn("PRIVATE KEY", read(key))
            self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
            p = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-subject"],
                               stdout=subprocess.PIPE, timeout=30)
            self.assertIn(dev, p.stdout.decode())  # CN = the id the server assigned

    def test_open_loop(self):
        rc, res, out = self.rtt("--rate", "200", "--conns", "2", "--duration", "1.5",
                                "--warmup", "0.3")
        self.assertEqual(rc, 0, out)
        self.check_sane(res)
        self.assertTrue(res["open_loop"])
        self.assertEqual(res["errors"], 0, out)
        self.assertEqual(res["status"], {"200": res["calls"]})
        # every call due in the window was made and answered
        self.assertEqual(res["scheduled"], res["calls"])
        self.assertGreater(res["scheduled"], 200)
        self.assertIn("calls/s", out)  # the progress line

    def test_closed_loop(self):
        rc, res, out = self.rtt("--rate", "0", "--conns", "3", "--duration", "1", "--warmup", "0")
        self.assertEqual(rc, 0, out)
        self.check_sane(res)
        self.assertFalse(res["open_loop"])
        self.assertEqual(res["depth"], 1)
        self.assertEqual(res["errors"], 0, out)

    def test_errors_by_status(self):
        bad = os.path.join(self.dir, "bad-ids")
        with open(bad, "w") as f:
            f.write(read(self.ids).split()[0] + "\nd000000000000000000000000\n")
        rc, res, out = self.rtt("--rate", "100", "--conns", "1", "--duration", "1",
                                "--warmup", "0", devices=bad)
        self.assertEqual(rc, 1, out)
        self.assertGreater(res["status"].get("404", 0), 0, out)
        self.assertGreater(res["status"].get("200", 0), 0, out)
        self.assertEqual(res["errors"], res["status"]["404"])

    def test_bad_options(self):
        rc, _, out = self.rtt("--rate", "-1")
        self.assertEqual(rc, 2, out)
        rc, _, out = self.rtt("--path-template", "/v1/devices/%d/x")
        self.assertEqual(rc, 2, out)
        p = subprocess.run([self.bench, "rtt", "--port", "1", "--token", "x y",
                            "--devices", self.ids], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertNotIn("x y", p.stderr.decode())  # a token is never echoed


if __name__ == "__main__":
    unittest.main()
