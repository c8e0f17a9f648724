"""iotbench pubsub over TLS and in reqrep mode (bench/README.md) against a real broker.
Behaviour only: the run succeeds and its JSON is consistent; no speed is asserted.

  PubsubTlsCase   one2one QoS 1 and fanin QoS 0 over verified TLS deliver everything;
                  reqrep round trips (plain QoS 0, TLS QoS 1) are all answered; a wrong CA
                  fails the run (exit 1); TLS options without --tls exit 2; --mqtt5
                  (plain and TLS) delivers everything as 5.0 clients

iotbench is found beside $IOTCLOUD_BIN; the tests fail when it is missing.
"""

import json
import os
import subprocess
import tempfile
import unittest

from harness import BrokerCase, make_test_pki
from test_iotbench_rtt import iotbench_bin

RUN = ["--warmup", "0.2", "--duration", "1"]


class PubsubTlsCase(BrokerCase):
    @classmethod
    def setUpClass(cls):
        cls.bench = iotbench_bin()  # before the broker starts: a failure here leaves nothing
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(prefix="iotbench-pubsub-")

    def run_bench(self, args, tls=True, expect=0):
        path = os.path.join(self.dir, "%s.json" % self._testMethodName)
        port = self.broker.tls_port if tls else self.broker.port
        cmd = [self.bench, "pubsub", "--port", str(port), "--json", path] + RUN + args
        if tls:
            cmd += ["--tls", "--cafile", self.broker.cafile]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=25)
        self.assertEqual(p.returncode, expect, p.stderr.decode())
        if expect != 0:
            return p
        with open(path) as f:
            return json.load(f)

    def check_complete(self, r, qos):
        self.assertGreater(r["delivered"], 0)
        self.assertGreater(r["latency_us"]["count"], 0)
        self.assertLessEqual(r["latency_us"]["p50"], r["latency_us"]["p99"])
        self.assertEqual(r["dups"], 0)
        self.assertEqual(r["qos"], qos)
        if qos == 1:
            self.assertEqual(r["lost"], 0)
            self.assertEqual(r["received"], r["expected"])
            self.assertEqual(r["acked"], r["expected"])

    def test_tls_one2one_qos1(self):
        r = self.run_bench(["--qos", "1"])
        self.assertTrue(r["tls"])
        self.assertTrue(r["verified"])
        self.check_complete(r, 1)

    def test_tls_fanin_qos0_rate(self):
        r = self.run_bench(["--qos", "0", "--topic-mode", "fanin", "--pubs", "3",
                            "--rate", "3000"])
        self.check_complete(r, 0)
        self.assertEqual(r["lost"], 0)  # far below what the broker can take

    def test_reqrep_plain_qos0(self):
        r = self.run_bench(["--topic-mode", "reqrep", "--qos", "0"], tls=False)
        self.assertEqual(r["topic_mode"], "reqrep")
        self.assertEqual(r["rate"], 1000)  # the reqrep default
        self.assertFalse(r["tls"])
        self.check_complete(r, 0)
        self.assertEqual(r["lost"], 0)

    def test_reqrep_tls_qos1_two_requesters(self):
        r = self.run_bench(["--topic-mode", "reqrep", "--qos", "1", "--pubs", "2",
                            "--rate", "500"])
        self.assertEqual(r["pubs"], 2)
        self.assertEqual(r["subs"], 1)
        self.check_complete(r, 1)

    def test_mqtt5_one2one_qos1_and_qos0(self):
        for qos in (1, 0):
            r = self.run_bench(["--mqtt5", "--qos", str(qos), "--rate", "2000"], tls=False)
            self.assertEqual(r["mqtt"], "5.0")
            self.check_complete(r, qos)
            self.assertEqual(r["lost"], 0)

    def test_mqtt5_tls_fanin(self):
        r = self.run_bench(["--mqtt5", "--qos", "1", "--topic-mode", "fanin", "--pubs", "2"])
        self.assertEqual(r["mqtt"], "5.0")
        self.check_complete(r, 1)

    def test_wrong_ca_fails(self):
        other = tempfile.mkdtemp(prefix="iotbench-ca-", dir=self.dir)
        ca, _, _ = make_test_pki(other)
        path = os.path.join(self.dir, "wrong.json")
        p = subprocess.run([self.bench, "pubsub", "--port", str(self.broker.tls_port), "--tls",
                            "--cafile", ca, "--json", path] + RUN,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=25)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"certificate", p.stderr)
        self.assertFalse(os.path.exists(path))

    def test_tls_options_need_tls(self):
        for args in (["--cafile", self.broker.cafile], ["--alpn", "x"],
                     ["--password", "p"], ["--topic-mode", "reqrep", "--offline", "--qos", "1"]):
            p = subprocess.run([self.bench, "pubsub"] + args, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=10)
            self.assertEqual(p.returncode, 2, args)


if __name__ == "__main__":
    unittest.main()
