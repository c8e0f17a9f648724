"""Logs (issue #22): --log-format json writes one JSON object per line (time, level,
component, message, and fields such as request_id and peer); --log-file appends to a file
that SIGUSR1 reopens (logrotate renames the file, then signals); no secret in any format.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import WAIT, Client, iotcloud_bin, iotcloud_only, run_cli, uniq
from http_harness import Http, HttpServer

PW = "Corr3ct-horse-battery-staple"
WRONG_PW = "Wr0ng-but-secret-passphrase"


def read_lines(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8").splitlines()


def wait_for(pred, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


class LogServer:
    """An HttpServer with an admin user and its log in a file of the given format."""

    def __init__(self, case, fmt):
        data = tempfile.mkdtemp(prefix="iotcloud-itest-")
        res = subprocess.run([iotcloud_bin(), "user", "add", "--admin", "--data-dir", data,
                              "ops"], input=PW + "\n", stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=60)
        case.assertEqual(res.returncode, 0, res.stderr)
        logdir = tempfile.mkdtemp(prefix="iotcloud-itest-log-")
        case.addCleanup(shutil.rmtree, logdir, True)
        self.log = os.path.join(logdir, "iotcloud.log")  # outlives stop(), which removes data
        self.srv = HttpServer(extra_args=["--log-format", fmt, "--log-file", self.log],
                              data_dir=data)
        self.srv.own_dir = True
        case.addCleanup(self.srv.kill9)
        self.srv.start()
        self.http = Http(self.srv)

    def traffic(self, case):
        """A failed and a good login, a token use, an MQTT session: the secrets used."""
        bad = self.http.call("POST", "/v1/auth/login", {"username": "ops", "password": WRONG_PW})
        case.assertEqual(bad.status, 401, bad.raw)
        tok = self.http.call("POST", "/v1/auth/login", {"username": "ops", "password": PW})
        case.assertEqual(tok.status, 200, tok.raw)
        me = self.http.call("GET", "/v1/me", token=tok.json["access_token"],
                            headers=["X-Request-Id: req-" + uniq("r")])
        case.assertEqual(me.status, 200, me.raw)
        c = Client(self.srv.port, client_id=uniq("logc"))
        c.connect()
        c.close()
        return [PW, WRONG_PW, tok.json["access_token"], tok.json["refresh_token"]]


@iotcloud_only("iotcloud logs")
class JsonLogs(unittest.TestCase):
    def test_every_line_is_json_and_no_secret(self):
        s = LogServer(self, "json")
        secrets = s.traffic(self)
        wait_for(lambda: any('"GET /v1/me' in l or "GET /v1/me" in l
                             for l in read_lines(s.log)), "the access log line")
        s.srv.stop()
        lines = read_lines(s.log)
        self.assertGreater(len(lines), 5)
        docs = []
        for line in lines:
            doc = json.loads(line)  # fails the test on any line that is not JSON
            self.assertIsInstance(doc, dict, line)
            for k in ("time", "level", "component", "message"):
                self.assertIsInstance(doc.get(k), str, line)
            self.assertIn(doc["level"], ("debug", "info", "warn", "error"))
            self.assertRegex(doc["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            docs.append(doc)
        me = [d for d in docs if d["message"].startswith("http GET /v1/me ")]
        self.assertEqual(len(me), 1, lines)
        self.assertEqual(me[0]["component"], "http")
        self.assertTrue(me[0]["request_id"].startswith("req-"))
        self.assertTrue(me[0]["peer"].startswith("127.0.0.1:"), me[0])
        self.assertTrue(any(d["component"] == "net" for d in docs))
        text = "\n".join(lines)
        for secret in secrets:
            self.assertNotIn(secret, text)
        self.assertEqual(s.srv.stderr_text().strip(), "", "the log went to the file")

    def test_text_format_no_secret(self):
        s = LogServer(self, "text")
        secrets = s.traffic(self)
        s.srv.stop()
        text = "\n".join(read_lines(s.log))
        self.assertIn(" info  ", text)
        self.assertIn("request_id=req-", text)
        for secret in secrets:
            self.assertNotIn(secret, text)


@iotcloud_only("iotcloud logs")
class Reopen(unittest.TestCase):
    def test_sigusr1_reopens_after_rename(self):
        s = LogServer(self, "json")
        s.traffic(self)
        rotated = s.log + ".1"
        os.rename(s.log, rotated)
        s.srv.proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: os.path.exists(s.log), "the log file created again")
        before = len(read_lines(rotated))
        self.assertEqual(s.http.call("GET", "/v1/no-such-route").status, 404)
        wait_for(lambda: any("no-such-route" in l for l in read_lines(s.log)),
                 "new lines in the new file")
        self.assertEqual(len(read_lines(rotated)), before, "nothing more in the rotated file")
        s.srv.assert_running()
        s.srv.stop()
        for line in read_lines(s.log) + read_lines(rotated):
            json.loads(line)

    def test_sigusr1_without_log_file_is_harmless(self):
        srv = HttpServer()
        self.addCleanup(srv.kill9)
        srv.start()
        srv.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.2)
        srv.assert_running()
        srv.stop()


@iotcloud_only("iotcloud config")
class LogConfig(unittest.TestCase):
    def test_bad_format_refused(self):
        r = run_cli(["--log-format", "xml"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("log-format", r.stderr)

    def test_unwritable_file_refused(self):
        r = run_cli(["--log-file", "/nonexistent-dir/iotcloud.log"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent-dir/iotcloud.log", r.stderr)


if __name__ == "__main__":
    unittest.main()
