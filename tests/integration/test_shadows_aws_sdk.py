"""The AWS IoT Device SDK for JavaScript (aws-iot-device-sdk, thingShadow) against iotcloud
over mutual TLS, changing only the endpoint and certificates (issue #17): update, get and a
delta after the owner PATCHes desired over REST. The SDK comes from npm: tests/aws-sdk's
committed lock file, installed beside the binary on first use (harness.npm_modules)."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))

from device_harness import TwoUserCase, register_device  # noqa: E402

from harness import npm_modules  # noqa: E402

SDK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws-sdk")


class AwsSdkShadowTest(TwoUserCase):
    def test_thing_shadow_update_get_delta(self):
        modules = npm_modules(SDK_DIR, "aws-sdk")
        dev = register_device(self.api, self.token, self.dir)
        env = dict(os.environ, NODE_PATH=modules)
        p = subprocess.Popen(["node", os.path.join(SDK_DIR, "aws_shadow_client.js"),
                              "localhost", str(self.srv.tls_port), self.srv.cafile, dev.cert,
                              dev.key, dev.id], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, text=True)
        events = []
        try:
            for line in p.stdout:
                ev = json.loads(line)
                events.append(ev)
                if ev["event"] == "ready":
                    r = self.api.call("PATCH", "/v1/devices/%s/shadows" % dev.id,
                                      {"state": {"desired": {"led": "on"}}}, token=self.token)
                    self.assertEqual(r.status, 200, r.raw)
                if ev["event"] in ("delta", "gave_up", "error"):
                    break
            p.wait(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        status = [e for e in events if e["event"] == "status"]
        self.assertEqual([(s["op"], s["stat"]) for s in status],
                         [("update", "accepted"), ("get", "accepted")], events)
        sent = {e["op"]: e["token"] for e in events if e["event"] == "sent"}
        self.assertEqual(status[0]["token"], sent["update"])
        self.assertEqual(status[0]["doc"]["version"], 1)
        self.assertEqual(status[1]["doc"]["state"]["reported"], {"fw": "1.0", "led": "off"})
        delta = [e for e in events if e["event"] == "delta"]
        self.assertEqual(len(delta), 1, events)
        self.assertEqual(delta[0]["doc"]["state"], {"led": "on"})
        self.assertEqual(delta[0]["doc"]["version"], 2)


if __name__ == "__main__":
    unittest.main()
