"""MQTT.js 5 (npm, pinned in tests/ws-js/package.json with its lock file) over ws:// and
wss:// in Node: pub/sub at QoS 0/1/2 and a 100 KB message against the real broker. The
browser run (headless Chromium) belongs to the dashboard tests; this is the same library
on the same wire. Skipped, saying so, when node or tests/ws-js/node_modules is missing
(`cd tests/ws-js && npm ci`)."""

import os
import shutil
import subprocess
import unittest

from harness import HOST, iotcloud_only
from test_ws import WsBroker

JS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ws-js")


@iotcloud_only("the wss:// path of iotcloud's listener")
class MqttJsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("node"):
            raise unittest.SkipTest("node is not installed")
        if not os.path.isdir(os.path.join(JS_DIR, "node_modules", "mqtt")):
            raise unittest.SkipTest("MQTT.js not installed: cd tests/ws-js && npm ci")
        cls.broker = WsBroker((), allow_anonymous=True).start()
        cls.addClassCleanup(cls.broker.kill9)

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    def run_js(self, url, cafile=None):
        cmd = ["node", os.path.join(JS_DIR, "pubsub.js"), url] + ([cafile] if cafile else [])
        p = subprocess.run(cmd, cwd=JS_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30)
        out = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("ok 4", out)

    def test_ws(self):
        self.run_js("ws://%s:%d/mqtt" % (HOST, self.broker.ws_port))

    def test_wss(self):
        self.run_js("wss://%s:%d/ws-test" % (HOST, self.broker.wss_port), self.broker.cafile)

    def test_https_listener_mqtt_path(self):
        self.run_js("wss://%s:%d/mqtt" % (HOST, self.broker.https_port), self.broker.cafile)


if __name__ == "__main__":
    unittest.main()
