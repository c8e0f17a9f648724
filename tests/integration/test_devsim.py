"""The device side of docs/device-protocol.md: examples/device.py and bench/devsim against the
real broker, with this test playing the server (it publishes requests to ID/{api} and reads
the answers on server/ID/{api}).

  DevsimAnonymousCase   devsim --anonymous on an allow-anonymous broker: every API, errors,
                        concurrent requests matched by rid, --legacy, --reply-delay-ms,
                        --malformed-every, reconnect after a broker restart, SIGTERM
  DevicePyAnonymousCase examples/device.py --anonymous: every API, errors, concurrent rids
  CredentialsCase       registered devices (issue #5 auth): device.py and devsim with device
                        secrets and with client certificates; the server side is the owner's
                        app connected with an access token

devsim is found beside $IOTCLOUD_BIN (or at $DEVSIM_BIN); the tests fail when it is missing
(build it: cmake --build BUILD --target devsim; scripts/test.sh builds it for every stage).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

from device_harness import Api, DeviceServer, register_device, scratch_dir, uname
from harness import (HOST, WAIT, Broker, BrokerCase, Client, iotcloud_bin, iotcloud_only,
                     sanitizer_findings, track_process)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEVICE_PY = os.path.join(REPO, "examples", "device.py")
UP_TIMEOUT = 15.0  # a device process starting, connecting and subscribing
STOP_TIMEOUT = 10.0


def devsim_bin():
    path = os.environ.get("DEVSIM_BIN") or os.path.join(os.path.dirname(iotcloud_bin()), "devsim")
    if not os.access(path, os.X_OK):
        raise AssertionError("devsim not built (%s): cmake --build %s --target devsim"
                             % (path, os.path.dirname(path)))
    return path


class DeviceProc:
    """A device process (device.py or devsim) with its output in a file."""

    def __init__(self, cmd):
        self.cmd = cmd
        self.dir = tempfile.mkdtemp(prefix="iotcloud-devsim-")
        self.log_path = os.path.join(self.dir, "out")
        self.log = open(self.log_path, "wb")
        self.proc = track_process(subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                                   stdout=self.log, stderr=self.log))

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        """SIGTERM; returns (exit code, output). Kills after STOP_TIMEOUT."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "ignored SIGTERM"
        self.log.close()
        out = self.text()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc, out


class ServerSide:
    """What the server will do: publish requests with a rid, collect the answers."""

    def __init__(self, client):
        self.c = client

    def send(self, dev, api, body=None, raw=None):
        payload = raw if raw is not None else json.dumps(body if body is not None else {})
        self.c.publish("%s/%s" % (dev, api), payload, qos=1)

    def answers(self, dev, api):
        return [m.payload for m in self.c.settle(0, topic="server/%s/%s" % (dev, api))]

    def call(self, dev, api, body=None, rid=None, timeout=WAIT):
        """One request with a fresh rid; returns the parsed answer with that rid."""
        rid = rid or uuid.uuid4().hex
        req = dict(body or {}, rid=rid)
        self.send(dev, api, req)
        return self.wait_rid(dev, api, rid, timeout)

    def wait_rid(self, dev, api, rid, timeout=WAIT):
        topic = "server/%s/%s" % (dev, api)
        found = []

        def got():
            found[:] = [a for a in (parse(m.payload) for m in self.c.messages if m.topic == topic)
                        if isinstance(a, dict) and a.get("rid") == rid]
            return found
        self.c.wait_for(got, timeout, "answer rid=%s on %s" % (rid, topic))
        return found[0]

    def call_legacy(self, dev, api, body=None, timeout=WAIT):
        """A request without rid: the next answer on the topic is its answer."""
        topic = "server/%s/%s" % (dev, api)
        n = len(self.c.settle(0, topic=topic))
        self.send(dev, api, body)
        got = self.c.wait_messages(n + 1, timeout, topic=topic)
        return parse(got[n].payload)

    def wait_up(self, dev, timeout=UP_TIMEOUT):
        """Asks get_status until the device answers (it subscribes some time after start)."""
        deadline = time.monotonic() + timeout
        topic = "server/%s/get_status" % dev
        sent = set()

        def answered():
            return [a for a in (parse(m.payload) for m in self.c.messages if m.topic == topic)
                    if isinstance(a, dict) and a.get("rid") in sent]
        while True:
            rid = "up-" + uuid.uuid4().hex
            sent.add(rid)
            self.send(dev, "get_status", {"rid": rid})
            try:  # any of our probes answered will do (answers may be delayed)
                self.c.wait_for(answered, 0.3, "probe")
                return
            except AssertionError:
                if time.monotonic() > deadline:
                    raise AssertionError("device %s did not answer within %.0f s" % (dev, timeout))


def parse(payload):
    try:
        return json.loads(payload.decode("utf-8"))
    except ValueError:
        return None


class ApiChecks:
    """Every API of the protocol against one device; mixed into the cases below."""

    def check_all_apis(self, srv, dev):
        eq = self.assertEqual
        a = srv.call(dev, "get_gpio", {"number": 7}, rid="r-7")
        eq(a, {"number": 7, "value": 0, "status": 200, "rid": "r-7"})
        a = srv.call(dev, "set_gpio", {"number": 7, "value": 1})
        eq((a["number"], a["value"], a["status"]), (7, 1, 200))
        eq(srv.call(dev, "get_gpio", {"number": 7})["value"], 1)
        eq(srv.call(dev, "get_gpio", {"number": 31})["value"], 0)
        a = srv.call(dev, "get_rtc")
        self.assertLess(abs(a["value"] - time.time()), 120)
        eq(srv.call(dev, "set_rtc", {"value": 1000000000})["value"], 1000000000)
        self.assertLess(abs(srv.call(dev, "get_rtc")["value"] - 1000000000), 60)
        mac = srv.call(dev, "get_mac")["value"]
        self.assertRegex(mac, r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
        for api in ("get_ip", "get_subnet", "get_gateway"):
            self.assertRegex(srv.call(dev, api)["value"], r"^\d+\.\d+\.\d+\.\d+$", api)
        eq(srv.call(dev, "get_status")["value"], "running")
        eq(srv.call(dev, "set_status", {"value": "restart"})["value"], "restarting")
        eq(srv.call(dev, "get_status")["value"], "restarting")
        deadline = time.monotonic() + 10
        while srv.call(dev, "get_status")["value"] != "running":
            self.assertLess(time.monotonic(), deadline, "status never went back to running")
            time.sleep(0.2)
        text = "héllo \"uart\"\n\t{}"
        eq(srv.call(dev, "write_uart", {"value": text})["value"], text)
        a = srv.call(dev, "trigger_notification", {"recipient": "ops@example.com",
                                                   "message": "door open"})
        eq((a["recipient"], a["message"], a["status"]), ("ops@example.com", "door open", 200))

    def check_errors(self, srv, dev):
        def err(api, body, status, code):
            a = srv.call(dev, api, body)
            self.assertEqual((a["status"], a["error"]["code"]), (status, code), (api, body, a))
            self.assertIsInstance(a["error"]["message"], str)
            self.assertNotIn("value", a)
        err("get_gpio", {"number": 32}, 400, "bad_gpio")
        err("get_gpio", {"number": -1}, 400, "bad_gpio")
        err("set_gpio", {"number": 99, "value": 1}, 400, "bad_gpio")
        err("set_gpio", {"number": 1, "value": 2}, 400, "bad_value")
        err("set_gpio", {"number": 1}, 400, "bad_request")
        err("write_uart", {"value": 5}, 400, "bad_request")
        err("set_status", {"value": "explode"}, 400, "bad_value")
        err("trigger_notification", {"recipient": "a@b"}, 400, "bad_request")
        err("reboot_into_bootloader", {}, 404, "unknown_api")
        # malformed JSON: no rid can be read, so the answer has none
        n = len(srv.answers(dev, "get_mac"))
        srv.send(dev, "get_mac", raw=b'{"rid": "x", ')
        got = srv.c.wait_messages(n + 1, topic="server/%s/get_mac" % dev)
        a = parse(got[n].payload)
        self.assertEqual((a["status"], a["error"]["code"]), (400, "bad_json"))
        self.assertNotIn("rid", a)

    def check_concurrent(self, srv, devs, per_dev=20):
        """Many requests in flight at once, distinct rids: each answered exactly once, with
        its own data."""
        sent = {}
        for i in range(per_dev):
            for d in devs:
                rid = "c%d-%s" % (i, uuid.uuid4().hex[:8])
                sent[rid] = (d, "text %d for %s" % (i, d))
                srv.send(d, "write_uart", {"rid": rid, "value": sent[rid][1]})
        for rid, (d, text) in sent.items():
            self.assertEqual(srv.wait_rid(d, "write_uart", rid)["value"], text)
        time.sleep(0.3)
        for d in devs:
            rids = [parse(p).get("rid") for p in srv.answers(d, "write_uart")]
            mine = [r for r in rids if r in sent]
            self.assertEqual(len(mine), len(set(mine)), "a rid answered twice")
            self.assertEqual(len(mine), per_dev)


@iotcloud_only("needs the iotcloud binary beside devsim")
class DevsimAnonymousCase(BrokerCase, ApiChecks):
    """devsim --anonymous: client id = device id, no credentials (allow-anonymous broker)."""

    def setUp(self):
        super().setUp()
        self.devsim = devsim_bin()
        self.procs = []
        self.srv = ServerSide(self.client(tls=True))
        self.srv.c.subscribe("server/#", 1)

    def tearDown(self):
        for p in self.procs:
            rc, out = p.stop()
            self.assertEqual(rc, 0, out)
            self.assertEqual(sanitizer_findings(out), [], out)
            self.assertIn("devsim:", out)  # the status line
        super().tearDown()

    def run_devsim(self, count, *extra, broker=None):
        prefix = uname("sim")
        b = broker or self.broker
        p = DeviceProc([self.devsim, "--host", HOST, "--port", str(b.tls_port), "--cafile",
                        b.cafile, "--anonymous", "--count", str(count), "--prefix", prefix]
                       + list(extra))
        self.procs.append(p)
        return ["%s-%d" % (prefix, i) for i in range(1, count + 1)]

    def test_every_api(self):
        devs = self.run_devsim(2)
        for d in devs:
            self.srv.wait_up(d)
        self.check_all_apis(self.srv, devs[0])
        # state is per device: the other one's pin 7 is still low
        self.assertEqual(self.srv.call(devs[1], "get_gpio", {"number": 7})["value"], 0)
        self.assertNotEqual(self.srv.call(devs[0], "get_mac")["value"],
                            self.srv.call(devs[1], "get_mac")["value"])

    def test_errors(self):
        (d,) = self.run_devsim(1)
        self.srv.wait_up(d)
        self.check_errors(self.srv, d)

    def test_concurrent_requests_matched_by_rid(self):
        devs = self.run_devsim(5)
        for d in devs:
            self.srv.wait_up(d)
        self.check_concurrent(self.srv, devs)

    def test_many_devices(self):
        devs = self.run_devsim(300, "--rate", "1000")
        for d in devs[::30] + [devs[-1]]:
            self.srv.wait_up(d)
            self.assertEqual(self.srv.call(d, "get_gpio", {"number": 0})["status"], 200)

    def test_legacy_answers_without_rid(self):
        (d,) = self.run_devsim(1, "--legacy")
        deadline = time.monotonic() + UP_TIMEOUT
        while not self.srv.answers(d, "get_status"):
            self.assertLess(time.monotonic(), deadline, "legacy device never answered")
            self.srv.send(d, "get_status", {"rid": "ignored"})
            time.sleep(0.3)
        time.sleep(0.3)
        self.assertEqual(parse(self.srv.answers(d, "get_status")[-1]), {"value": "running"})
        self.assertEqual(self.srv.call_legacy(d, "set_gpio", {"number": 4, "value": 1}),
                         {"number": 4, "value": 1})
        self.assertEqual(self.srv.call_legacy(d, "get_gpio", {"number": 4}),
                         {"number": 4, "value": 1})
        # the rid is not echoed even when sent
        self.srv.send(d, "get_gpio", {"number": 4, "rid": "r1"})
        time.sleep(0.5)
        self.assertNotIn("rid", parse(self.srv.answers(d, "get_gpio")[-1]))
        # in order: answers come back as the requests went out
        for i in range(5):
            self.srv.send(d, "write_uart", {"value": "line %d" % i})
        got = self.srv.c.wait_messages(5, topic="server/%s/write_uart" % d)
        self.assertEqual([parse(m.payload) for m in got],
                         [{"value": "line %d" % i} for i in range(5)])
        # errors get no answer at all: the server times out
        n = len(self.srv.answers(d, "get_gpio"))
        self.srv.send(d, "get_gpio", {"number": 77})
        self.srv.send(d, "no_such_api", {})
        self.srv.send(d, "get_gpio", raw=b"{nope")
        self.srv.c.assert_no_messages(0.7, topic="server/%s/no_such_api" % d)
        self.assertEqual(len(self.srv.answers(d, "get_gpio")), n)

    def test_reply_delay(self):
        (d,) = self.run_devsim(1, "--reply-delay-ms", "400")
        self.srv.wait_up(d, UP_TIMEOUT)
        rids = ["d%d" % i for i in range(10)]
        for r in rids:  # all in flight together, none answered before the delay
            self.srv.send(d, "get_gpio", {"number": 1, "rid": r})
        for r in rids:
            self.assertEqual(self.srv.wait_rid(d, "get_gpio", r)["value"], 0)

    def test_malformed_every(self):
        (d,) = self.run_devsim(1, "--malformed-every", "3")
        deadline = time.monotonic() + UP_TIMEOUT
        while not self.srv.answers(d, "get_status"):  # wait_up could eat the broken ones
            self.assertLess(time.monotonic(), deadline, "device never answered")
            self.srv.send(d, "get_status", {})
            time.sleep(0.3)
        time.sleep(0.5)
        n = len(self.srv.answers(d, "get_status"))
        for _ in range(9):
            self.srv.send(d, "get_status", {})
        got = self.srv.c.wait_messages(n + 9, topic="server/%s/get_status" % d)[n:]
        bad = [m.payload for m in got if parse(m.payload) is None]
        self.assertEqual(len(bad), 3, [m.payload for m in got])

    def test_reconnects_after_broker_restart(self):
        b = Broker(allow_anonymous=True).start()
        try:
            srv = ServerSide(Client(b.tls_port, tls_context=b.tls_context()))
            srv.c.connect()
            srv.c.subscribe("server/#", 1)
            (d,) = self.run_devsim(1, broker=b)
            srv.wait_up(d)
            srv.call(d, "set_gpio", {"number": 3, "value": 1})
            srv.c.close()
            self.assertEqual(b.signal_and_wait(), 0)
            b2 = Broker(allow_anonymous=True, data_dir=b.data_dir)
            b2.port, b2.tls_port = b.port, b.tls_port
            b2.start()
            b = b2
            srv = ServerSide(Client(b.tls_port, tls_context=b.tls_context()))
            srv.c.connect()
            srv.c.subscribe("server/#", 1)
            srv.wait_up(d, 30)
            # device state survives a reconnect, like a real device's RAM
            self.assertEqual(srv.call(d, "get_gpio", {"number": 3})["value"], 1)
            srv.c.close()
        finally:
            rc, out = self.procs.pop().stop()
            b.stop()
            shutil.rmtree(b.data_dir, ignore_errors=True)
        self.assertEqual(rc, 0, out)
        self.assertEqual(sanitizer_findings(out), [], out)
        self.assertRegex(out, r"[1-9]\d* drops")

    def test_bad_options(self):
        p = subprocess.run([self.devsim, "--host", HOST], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"usage", p.stderr)


class DevicePyAnonymousCase(BrokerCase, ApiChecks):
    """examples/device.py --anonymous on an allow-anonymous broker."""

    def setUp(self):
        super().setUp()
        self.srv = ServerSide(self.client(tls=True))
        self.srv.c.subscribe("server/#", 1)
        self.dev = uname("py")
        self.proc = DeviceProc(["/usr/bin/python3", DEVICE_PY, "--host", HOST, "--port",
                                str(self.broker.tls_port), "--cafile", self.broker.cafile,
                                "--id", self.dev, "--anonymous"])
        self.srv.wait_up(self.dev)

    def tearDown(self):
        rc, out = self.proc.stop()
        self.assertEqual(rc, 0, out)
        self.assertIn("stopped", out)
        super().tearDown()

    def test_every_api(self):
        self.check_all_apis(self.srv, self.dev)
        self.assertRegex(self.proc.text(), r"write_uart rid=\S+ -> 200")  # a line per request

    def test_errors(self):
        self.check_errors(self.srv, self.dev)

    def test_concurrent_requests_matched_by_rid(self):
        self.check_concurrent(self.srv, [self.dev])

    def test_bad_arguments(self):
        p = subprocess.run(["/usr/bin/python3", DEVICE_PY, "--host", HOST, "--cafile", "x",
                            "--id", "d", "--secret", "s", "--anonymous"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"give one of", p.stderr)


@iotcloud_only("device identity is iotcloud's")
class CredentialsCase(unittest.TestCase, ApiChecks):
    """Registered devices authenticating like production ones; the test is the owner's app."""

    @classmethod
    def setUpClass(cls):
        cls.srv_proc = DeviceServer()
        cls.user = cls.srv_proc.add_user(uname("owner"))
        cls.srv_proc.start()
        cls.addClassCleanup(cls.srv_proc.kill9)  # runs even when setUpClass raises below
        cls.api = Api(cls.srv_proc)
        cls.token = cls.api.login(cls.user)
        cls.dir = scratch_dir()

    @classmethod
    def tearDownClass(cls):
        cls.srv_proc.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.procs = []
        c = Client(self.srv_proc.tls_port, client_id=uname("app"),
                   tls_context=self.srv_proc.tls_context())
        c.c.username_pw_set(self.user, self.token)
        self.app = c
        rc = c.connect()[0]
        if rc != 0:
            c.close()
        self.assertEqual(rc, 0, "the owner's access token refused on MQTT")
        self.srv = ServerSide(c)

    def tearDown(self):
        self.app.close()
        for p in self.procs:
            rc, out = p.stop()
            self.assertEqual(rc, 0, out)
            self.assertEqual(sanitizer_findings(out), [], out)
            self.assertNotIn(getattr(self, "secret_seen", "\0"), out)  # never logged
        self.srv_proc.assert_running()

    def device(self):
        dev = register_device(self.api, self.token, self.dir)
        self.assertEqual(self.app.subscribe("server/%s/#" % dev.id, 1), [1])
        return dev

    def secret(self, dev):
        r = self.api.call("POST", "/v1/devices/%s/secret" % dev.id, token=self.token)
        self.assertEqual(r.status, 201, r.raw)
        self.secret_seen = r.json["secret"]
        return r.json["secret"]

    def start(self, cmd):
        p = DeviceProc(cmd)
        self.procs.append(p)
        return p

    def python_device(self, dev, *auth):
        return self.start(["/usr/bin/python3", DEVICE_PY, "--host", HOST, "--port",
                           str(self.srv_proc.tls_port), "--cafile", self.srv_proc.cafile,
                           "--id", dev.id] + list(auth))

    def test_python_device_with_secret(self):
        dev = self.device()
        p = self.python_device(dev, "--secret", self.secret(dev))
        self.srv.wait_up(dev.id)
        self.check_all_apis(self.srv, dev.id)
        self.check_errors(self.srv, dev.id)
        self.check_concurrent(self.srv, [dev.id], per_dev=10)
        self.assertRegex(p.text(), r"write_uart rid=\S+ -> 200")  # one line per request

    def test_python_device_with_certificate(self):
        dev = self.device()
        self.python_device(dev, "--cert", dev.cert, "--key", dev.key)
        self.srv.wait_up(dev.id)
        self.assertEqual(self.srv.call(dev.id, "set_gpio", {"number": 0, "value": 1})["value"], 1)
        a = self.srv.call(dev.id, "trigger_notification", {"recipient": "a@b.c", "message": "m"})
        self.assertEqual((a["recipient"], a["message"]), ("a@b.c", "m"))

    def test_devsim_with_secrets(self):
        devs = [self.device() for _ in range(3)]
        path = os.path.join(self.dir, uuid.uuid4().hex + ".secrets")
        with open(path, "w") as f:
            f.write("# id secret\n\n")
            for d in devs:
                f.write("%s %s\n" % (d.id, self.secret(d)))
        self.start([devsim_bin(), "--host", HOST, "--port", str(self.srv_proc.tls_port),
                    "--cafile", self.srv_proc.cafile, "--secrets", path])
        for d in devs:
            self.srv.wait_up(d.id)
        self.check_all_apis(self.srv, devs[0].id)
        self.check_errors(self.srv, devs[1].id)
        self.check_concurrent(self.srv, [d.id for d in devs], per_dev=10)

    def test_devsim_with_certificates(self):
        devs = [self.device() for _ in range(2)]
        certdir = tempfile.mkdtemp(dir=self.dir)
        for d in devs:
            shutil.copy(d.cert, os.path.join(certdir, d.id + ".crt"))
            shutil.copy(d.key, os.path.join(certdir, d.id + ".key"))
        self.start([devsim_bin(), "--host", HOST, "--port", str(self.srv_proc.tls_port),
                    "--cafile", self.srv_proc.cafile, "--certdir", certdir])
        for d in devs:
            self.srv.wait_up(d.id)
            a = self.srv.call(d.id, "write_uart", {"value": d.id})
            self.assertEqual(a["value"], d.id)


if __name__ == "__main__":
    unittest.main(verbosity=2)
