"""The dashboard end to end in a real headless Chromium (Debian's chromium driven by
Playwright from tests/e2e/, `npm ci` there on first use) against the real binary over
HTTPS with its own CA: the browser trusts exactly the server's key (SPKI pin), nothing
is ignored.

This file owns the processes: the server, a real SMTP sink (the confirmation code comes
from the mail), and examples/device.py started from the bundle the browser downloaded.
tests/e2e/dashboard.mjs drives the browser and asks for those over a line protocol on
its stdin/stdout:
    code EMAIL [KIND] -> the six-digit code mailed to EMAIL (KIND: confirm, reset)
    device-start TAR  -> extracts the downloaded bundle, starts examples/device.py with it
    device-stop       -> stops that device
    telemetry TAR     -> publishes a few readings as that device (mosquitto_pub with the
                         bundle's certificate; asked while examples/device.py is stopped,
                         as the device's client id can be connected once only)
    live TAR          -> likewise one reading {"temp": 31.25} now and one error log line
                         "live line", while the device page is open (the page must show
                         them without a reload: server-sent events)
and prints "result JSON" at the end (figures for docs/benchmarks.md). Screenshots go to
build/<dir>/e2e/ (IOT_E2E_OUT).
"""

import base64
import filecmp
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

from device_harness import DeviceServer, PW, uname
from harness import track_process
from smtp_sink import SmtpSink

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
E2E = os.path.join(ROOT, "tests", "e2e")
CHROMIUM = os.environ.get("IOT_CHROMIUM", "/usr/bin/chromium")


def spki_pin(cert_path):
    pub = subprocess.run(["openssl", "x509", "-in", cert_path, "-noout", "-pubkey"],
                         stdout=subprocess.PIPE, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         stdout=subprocess.PIPE, check=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def node_modules(out_dir):
    """tests/e2e's packages (playwright-core) installed from its lock file into the build tree."""
    dest = os.path.join(out_dir, "node")
    lock = os.path.join(E2E, "package-lock.json")
    have = os.path.join(dest, "package-lock.json")
    same = os.path.exists(have) and filecmp.cmp(have, lock, shallow=False)
    if not same or not os.path.isdir(os.path.join(dest, "node_modules", "playwright-core")):
        os.makedirs(dest, exist_ok=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(E2E, f), dest)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", dest], check=True,
                       stdout=subprocess.DEVNULL, timeout=600)
    return os.path.join(dest, "node_modules")


class TestDashboard(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(CHROMIUM):
            self.fail("%s is missing: run scripts/deps.sh --test" % CHROMIUM)
        self.out = os.environ.get("IOT_E2E_OUT") or os.path.join(
            os.path.dirname(os.environ.get("IOTCLOUD_BIN", ROOT + "/build/x")), "e2e")
        os.makedirs(self.out, exist_ok=True)
        self.sink = SmtpSink().start()
        self.addCleanup(self.sink.stop)
        self.srv = DeviceServer(extra_args=["--smtp-url", self.sink.url, "--smtp-insecure",
                                            "--public-host", "127.0.0.1"])
        self.other = self.srv.add_user(uname("other"))
        self.admin = self.srv.add_user(uname("admin"), admin=True)
        self.srv.start()
        self.addCleanup(self.srv.kill9)
        self.dir = tempfile.mkdtemp(prefix="iotcloud-e2e-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.device = None
        self.addCleanup(self.stop_device)

    # ---- what the browser script asks for ----

    def code_for(self, addr, kind):
        """The code in the first mail to @addr whose subject names @kind ("confirm" or
        "reset"; the device's notifications go to the same address)."""
        deadline = time.monotonic() + 15
        while True:
            for m in list(self.sink.messages):
                if addr.lower() in (r.lower() for r in m.rcpt_tos) and \
                        kind in m.subject.lower():
                    return re.search(r"\b(\d{6})\b", m.body).group(1)
            if time.monotonic() > deadline:
                raise AssertionError("no %s mail to %s" % (kind, addr))
            time.sleep(0.05)

    def extract(self, tar_path):
        """The bundle extracted: (device id, its folder)."""
        dest = os.path.join(self.dir, "bundle")
        shutil.rmtree(dest, ignore_errors=True)
        with tarfile.open(tar_path) as t:  # plain files under one folder, nothing else
            for m in t.getmembers():
                parts = m.name.split("/")
                assert m.isfile() and len(parts) == 2 and ".." not in parts, m.name
                os.makedirs(os.path.join(dest, parts[0]), exist_ok=True)
                path = os.path.join(dest, *parts)
                with open(path, "wb") as f:
                    f.write(t.extractfile(m).read())
                os.chmod(path, m.mode)
        (dev_id,) = os.listdir(dest)
        d = os.path.join(dest, dev_id)
        mode = os.stat(os.path.join(d, dev_id + ".key")).st_mode & 0o777
        assert mode == 0o600, oct(mode)
        return dev_id, d

    def publish_as_device(self, tar_path, api, payload):
        dev_id, d = self.extract(tar_path)
        p = subprocess.run(["mosquitto_pub", "-h", "localhost", "-p", str(self.srv.tls_port),
                            "--cafile", os.path.join(d, "ca.crt"),
                            "--cert", os.path.join(d, dev_id + ".crt"),
                            "--key", os.path.join(d, dev_id + ".key"), "-i", dev_id,
                            "-t", "server/%s/%s" % (dev_id, api), "-q", "1",
                            "-m", json.dumps(payload)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        assert p.returncode == 0, p.stdout
        return "ok"

    def publish_telemetry(self, tar_path):
        """Three temperature/humidity readings a minute apart, ending now (one batch)."""
        now = int(time.time() * 1000)
        batch = [{"ts": now - i * 60000, "values": {"temp": 20.5 + i, "humidity": 40 + i}}
                 for i in (2, 1, 0)]
        return self.publish_as_device(tar_path, "telemetry", batch)

    def publish_live(self, tar_path):
        self.publish_as_device(tar_path, "telemetry", {"temp": 31.25})
        return self.publish_as_device(tar_path, "log", {"level": "error", "msg": "live line"})

    def start_device(self, tar_path):
        dev_id, d = self.extract(tar_path)
        with open(os.path.join(d, "device.sh")) as f:
            script = f.read()
        assert "--port %d" % self.srv.tls_port in script, script
        self.device = track_process(subprocess.Popen(
            [sys.executable if sys.executable.startswith("/usr/bin") else "/usr/bin/python3",
             os.path.join(ROOT, "examples", "device.py"), "--host", "127.0.0.1",
             "--port", str(self.srv.tls_port), "--cafile", os.path.join(d, "ca.crt"),
             "--id", dev_id, "--cert", os.path.join(d, dev_id + ".crt"),
             "--key", os.path.join(d, dev_id + ".key")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return "ok"

    def stop_device(self):
        if self.device and self.device.poll() is None:
            self.device.send_signal(signal.SIGTERM)
            try:
                self.device.wait(10)
            except subprocess.TimeoutExpired:
                self.device.kill()
                self.device.wait()
        self.device = None
        return "ok"

    def answer(self, line):
        cmd, _, arg = line.partition(" ")
        if cmd == "code":
            addr, _, kind = arg.partition(" ")
            return self.code_for(addr, kind or "confirm")
        if cmd == "device-start":
            return self.start_device(arg)
        if cmd == "device-stop":
            return self.stop_device()
        if cmd == "telemetry":
            return self.publish_telemetry(arg)
        if cmd == "live":
            return self.publish_live(arg)
        raise AssertionError("unknown request from the browser script: " + line)

    def test_dashboard(self):
        env = dict(os.environ, NODE_PATH=node_modules(self.out), IOT_E2E_OUT=self.out,
                   IOT_BASE="https://127.0.0.1:%d" % self.srv.https_port,
                   IOT_SPKI=spki_pin(os.path.join(self.srv.data_dir, "ca", "server.crt")),
                   IOT_CHROMIUM=CHROMIUM, IOT_PW=PW, IOT_OTHER=self.other,
                   IOT_ADMIN=self.admin, IOT_USER=uname("web"))
        node = track_process(subprocess.Popen(
            ["node", os.path.join(E2E, "dashboard.mjs")], env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, bufsize=1))
        result = None
        try:
            for line in node.stdout:
                line = line.rstrip("\n")
                if line.startswith("ask "):
                    node.stdin.write(self.answer(line[4:]) + "\n")
                    node.stdin.flush()
                elif line.startswith("result "):
                    result = json.loads(line[7:])
                else:
                    print(line, flush=True)
            rc = node.wait(timeout=60)
        finally:
            if node.poll() is None:
                node.kill()
                node.wait()
            node.stdin.close()
            node.stdout.close()
        self.assertEqual(rc, 0, "the browser script failed (its output is above)")
        self.assertIsNotNone(result)
        self.assertEqual(result["csp_violations"], [])
        with open(os.path.join(self.out, "figures.json"), "w") as f:
            json.dump(result, f, indent=1)
        print("figures:", json.dumps(result), flush=True)


if __name__ == "__main__":
    unittest.main()
