"""The AWS IoT Device SDK for JavaScript (aws-iot-device-sdk, jobs) against iotcloud over
mutual TLS, changing only the endpoint and certificates (issue #17): subscribeToJobs,
startJobNotifications ($next/get), then IN_PROGRESS and SUCCEEDED / FAILED with
statusDetails for two jobs in a row (the second one reaches it by notify-next). The SDK
comes from npm: tests/aws-sdk's committed lock file (harness.npm_modules)."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))

from device_harness import TwoUserCase, register_device, uname  # noqa: E402

from harness import npm_modules  # noqa: E402

SDK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws-sdk")


class AwsSdkJobsTest(TwoUserCase):
    def test_jobs_client_runs_two_jobs(self):
        modules = npm_modules(SDK_DIR, "aws-sdk")
        dev = register_device(self.api, self.token, self.dir)
        j1, j2 = uname("fw"), uname("fw")
        for jid, doc in ((j1, {"operation": "fw-update", "version": 2}),
                         (j2, {"operation": "fw-update", "version": 3, "fail": True})):
            r = self.api.call("POST", "/v1/jobs", {"jobId": jid, "document": doc,
                                                   "targets": {"devices": [dev.id]}},
                              token=self.token)
            self.assertEqual(r.status, 201, r.raw)
        env = dict(os.environ, NODE_PATH=modules)
        p = subprocess.Popen(["node", os.path.join(SDK_DIR, "aws_jobs_client.js"), "localhost",
                              str(self.srv.tls_port), self.srv.cafile, dev.cert, dev.key, dev.id,
                              "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                             text=True)
        events = []
        try:
            for line in p.stdout:
                events.append(json.loads(line))
            p.wait(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()
        self.assertEqual(p.returncode, 0, events)
        got = [e for e in events if e["event"] == "job"]
        self.assertEqual([g["id"] for g in got], [j1, j2], events)
        self.assertEqual(got[0]["document"], {"operation": "fw-update", "version": 2})
        self.assertEqual(got[0]["status"]["status"], "QUEUED")
        self.assertFalse([e for e in events if e["event"] == "error"], events)
        r = self.api.call("GET", "/v1/devices/%s/jobs" % dev.id, token=self.token)
        ex = {e["jobId"]: e for e in r.json["executions"]}
        self.assertEqual((ex[j1]["status"], ex[j1]["statusDetails"], ex[j1]["versionNumber"]),
                         ("SUCCEEDED", {"version": "2"}, 3))
        self.assertEqual((ex[j2]["status"], ex[j2]["statusDetails"]),
                         ("FAILED", {"version": "3"}))


if __name__ == "__main__":
    unittest.main()
