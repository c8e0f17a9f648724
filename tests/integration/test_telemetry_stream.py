"""Live streams (docs/telemetry.md "Live streams"): server-sent events of a device's
telemetry and log lines, over HTTPS, read by a real client (http.client) while the device
publishes with its certificate (mosquitto_pub).

  StreamCase     values appear live (keys= filter, id = ts), log tail with level=,
                 heartbeats, owner-checked (404 / 401), bad parameters (400), the
                 per-user cap (429) freed again when a stream closes
  SlowReaderCase a reader that stops reading: events beyond stream-buffer are dropped, the
                 connection stays, and the next event that fits says how many were lost
  ShutdownCase   a stop with streams open: every stream ends (EOF at the client), the
                 server exits 0 (the harness's clean-stop check, sanitizers included)
  TicketCase     browsers' one-use tickets: POST .../stream/ticket (owner-checked), then
                 GET /v1/streams?ticket= without a token; a used, unknown or expired
                 ticket is 401; the ticket's user's cap applies; the access log has no
                 ticket
"""

import http.client
import json
import re
import socket
import ssl
import subprocess
import time
import unittest

from device_harness import TwoUserCase, mqtt_client, register_device
from harness import HOST, iotcloud_only

WAIT = 15.0


class Sse:
    """One open event stream: read() returns the next event as a dict of its fields
    (comments under ":"), or None at EOF."""

    def __init__(self, srv, path, token):
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=srv.cafile)
        self.conn = http.client.HTTPSConnection(HOST, srv.https_port, context=ctx,
                                                timeout=WAIT)
        hdrs = {"Accept": "text/event-stream"}
        if token:
            hdrs["Authorization"] = "Bearer " + token
        self.conn.request("GET", path, headers=hdrs)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status

    def read(self):
        ev = {}
        while True:
            line = self.resp.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                if ev:
                    return ev
                continue
            name, _, value = line.partition(":")
            ev.setdefault(name or ":", value[1:] if value.startswith(" ") else value)

    def next_event(self, kind):
        """The next event named @kind (others, heartbeats included, skipped)."""
        while True:
            ev = self.read()
            if ev is None or ev.get("event") == kind:
                return ev

    def close(self):
        self.conn.close()


class StreamBase(TwoUserCase):
    def setUp(self):
        self.streams = []

    def tearDown(self):
        for s in self.streams:
            s.close()
        self.srv.assert_running()

    def open(self, path, token=None, status=200):
        s = Sse(self.srv, path, self.token if token is None else token)
        self.streams.append(s)
        self.assertEqual(s.status, status)
        return s

    def pub(self, dev, payload, api="telemetry"):
        if not isinstance(payload, str):
            payload = json.dumps(payload)
        p = subprocess.run(["mosquitto_pub", "-h", "localhost", "-p", str(self.srv.tls_port),
                            "--cafile", self.srv.cafile, "--cert", dev.cert, "--key", dev.key,
                            "-i", dev.id, "-q", "1", "-t", "server/%s/%s" % (dev.id, api),
                            "-m", payload], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)


@iotcloud_only("telemetry is iotcloud's")
class StreamCase(StreamBase):
    EXTRA = ("--stream-max-per-user", "2", "--stream-heartbeat", "300")

    def test_live_values_with_keys_filter(self):
        dev = register_device(self.api, self.token, self.dir)
        s = self.open("/v1/devices/%s/telemetry/stream?keys=temp,on" % dev.id)
        self.assertEqual(s.resp.getheader("Content-Type"), "text/event-stream")
        self.assertEqual(s.resp.getheader("Cache-Control"), "no-store")
        self.assertEqual(s.read(), {"retry": "3000"})
        self.pub(dev, {"ts": 1700000000123, "temp": 21.5, "hum": 40, "on": True})
        ev = s.next_event("telemetry")
        self.assertEqual(ev["id"], "1700000000123")
        self.assertEqual(json.loads(ev["data"]), {"device": dev.id, "ts": 1700000000123,
                                                  "values": {"temp": 21.5, "on": True}})
        self.pub(dev, {"hum": 41})  # no wanted key: no event
        self.pub(dev, [{"ts": 1700000001000, "values": {"temp": 22}},
                       {"ts": 1700000002000, "values": {"temp": 23}}])
        got = [json.loads(s.next_event("telemetry")["data"]) for _ in range(2)]
        self.assertEqual([(g["ts"], g["values"]) for g in got],
                         [(1700000001000, {"temp": 22.0}), (1700000002000, {"temp": 23.0})])

    def test_heartbeat_comments(self):
        dev = register_device(self.api, self.token, self.dir)
        s = self.open("/v1/devices/%s/telemetry/stream" % dev.id)
        s.read()  # retry
        self.assertEqual(s.read(), {":": "keep-alive"})

    def test_log_tail_with_level(self):
        dev = register_device(self.api, self.token, self.dir)
        s = self.open("/v1/devices/%s/logs/stream?level=warn" % dev.id)
        s.read()
        self.pub(dev, "booting", api="log")
        self.pub(dev, {"level": "error", "msg": "disk full", "ts": 1700000000500}, api="log")
        ev = s.next_event("log")
        self.assertEqual(ev["id"], "1700000000500")
        self.assertEqual(json.loads(ev["data"]), {"device": dev.id, "ts": 1700000000500,
                                                  "level": "error", "msg": "disk full"})

    def test_owner_checked_and_bad_parameters(self):
        dev = register_device(self.api, self.token, self.dir)
        self.open("/v1/devices/%s/telemetry/stream" % dev.id, token=self.other_token,
                  status=404)
        self.open("/v1/devices/%s/logs/stream" % dev.id, token="", status=401)
        self.open("/v1/devices/%s/telemetry/stream?keys=a,,b" % dev.id, status=400)
        self.open("/v1/devices/%s/logs/stream?level=loud" % dev.id, status=400)
        self.open("/v1/devices/nope/telemetry/stream", status=404)

    def test_per_user_cap_and_release(self):
        dev = register_device(self.api, self.token, self.dir)
        path = "/v1/devices/%s/telemetry/stream" % dev.id
        a = self.open(path)
        self.open(path)
        s = Sse(self.srv, path, self.token)
        self.streams.append(s)
        self.assertEqual(s.status, 429)
        self.assertIsNotNone(s.resp.getheader("Retry-After"))
        self.open(path, token=self.other_token, status=404)  # the other user's own slots
        a.close()
        deadline = time.monotonic() + WAIT
        while True:  # the server sees the close on its next read
            s = Sse(self.srv, path, self.token)
            self.streams.append(s)
            if s.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(s.status, 200)



@iotcloud_only("telemetry is iotcloud's")
class TicketCase(StreamBase):
    EXTRA = ("--stream-max-per-user", "2", "--stream-ticket-ttl", "1")

    def ticket(self, dev_id, kind="telemetry", token=None, status=201):
        r = self.api.call("POST", "/v1/devices/%s/%s/stream/ticket" % (dev_id, kind),
                          token=token or self.token)
        self.assertEqual(r.status, status, r.raw)
        return r.json

    def test_ticket_opens_one_stream_once(self):
        dev = register_device(self.api, self.token, self.dir)
        t = self.ticket(dev.id)
        self.assertEqual(t["expires_in"], 1)
        self.assertEqual(t["url"], "/v1/streams?ticket=" + t["ticket"])
        s = self.open(t["url"] + "&keys=temp", token="")
        s.read()
        self.pub(dev, {"ts": 1700000000999, "temp": 5, "hum": 1})
        ev = s.next_event("telemetry")
        self.assertEqual(json.loads(ev["data"])["values"], {"temp": 5.0})
        self.open(t["url"], token="", status=401)  # used
        self.open("/v1/streams?ticket=" + "A" * 43, token="", status=401)
        self.open("/v1/streams", token="", status=401)
        self.assertNotIn(t["ticket"], self.srv.stderr_text())

    def test_log_ticket_and_expiry(self):
        dev = register_device(self.api, self.token, self.dir)
        t = self.ticket(dev.id, "logs")
        s = self.open(t["url"] + "&level=error", token="")
        s.read()
        self.pub(dev, "fine", api="log")
        self.pub(dev, {"level": "error", "msg": "bad", "ts": 1700000000001}, api="log")
        self.assertEqual(json.loads(s.next_event("log")["data"])["msg"], "bad")
        late = self.ticket(dev.id, "logs")
        time.sleep(1.3)
        self.open(late["url"], token="", status=401)

    def test_owner_checked_and_capped(self):
        dev = register_device(self.api, self.token, self.dir)
        self.ticket(dev.id, token=self.other_token, status=404)
        self.ticket(dev.id, "nope", status=404)
        ts = [self.ticket(dev.id) for _ in range(3)]
        self.open(ts[0]["url"], token="")
        self.open(ts[1]["url"], token="")
        self.open(ts[2]["url"], token="", status=429)  # the user's cap, as with a token
        bad = self.ticket(dev.id)
        self.open(bad["url"] + "&level=loud", token="", status=400)



@iotcloud_only("telemetry is iotcloud's")
class SlowReaderCase(StreamBase):
    EXTRA = ("--stream-buffer", "1024", "--telemetry-max-points", "1000")

    def raw_stream(self, path):
        """A TLS socket with a tiny receive buffer that sent the GET and read the head."""
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(WAIT)
        raw.connect((HOST, self.srv.https_port))
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.srv.cafile)
        s = ctx.wrap_socket(raw, server_hostname=HOST)
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                   % (path, self.token)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
        return s

    def test_dropped_events_are_counted_and_told(self):
        dev = register_device(self.api, self.token, self.dir)
        s = self.raw_stream("/v1/devices/%s/telemetry/stream" % dev.id)
        c = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile))
        self.assertEqual(c.connect()[0], 0)
        big = json.dumps({"k%d" % i: "x" * 200 for i in range(400)})  # ~90 KB an event
        for i in range(80):  # ~7 MB: more than the socket buffers hold
            c.publish("server/%s/telemetry" % dev.id, big.encode(), qos=1)
        time.sleep(1.0)
        got = b""
        s.settimeout(2.0)
        try:  # drain what was kept, then one small event that fits
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except socket.timeout:
            pass
        c.publish("server/%s/telemetry" % dev.id, b'{"small": 1}', qos=1)
        s.settimeout(WAIT)
        deadline = time.monotonic() + WAIT
        while b'"small"' not in got and time.monotonic() < deadline:
            got += s.recv(65536)
        c.close()
        s.close()
        m = re.search(rb'event: dropped\ndata: \{"dropped": (\d+)\}', got)
        self.assertIsNotNone(m, got[-500:])
        self.assertGreater(int(m.group(1)), 0)
        self.assertLess(int(m.group(1)), 80)
        self.assertIn(b'"small"', got, "the connection stayed open")


@iotcloud_only("telemetry is iotcloud's")
class ShutdownCase(unittest.TestCase):
    def test_stop_with_streams_open(self):
        from device_harness import Api, DeviceServer, scratch_dir, uname
        srv = DeviceServer()
        user = srv.add_user(uname("owner"))
        srv.start()
        self.addCleanup(srv.kill9)
        api = Api(srv)
        token = api.login(user)
        dev = register_device(api, token, scratch_dir())
        streams = [Sse(srv, "/v1/devices/%s/%s/stream" % (dev.id, kind), token)
                   for kind in ("telemetry", "logs", "telemetry")]
        for s in streams:
            self.assertEqual(s.status, 200)
            self.assertEqual(s.read(), {"retry": "3000"})
        t0 = time.monotonic()
        srv.stop()  # raises unless the exit is clean
        self.assertLess(time.monotonic() - t0, WAIT)
        for s in streams:
            self.assertIsNone(s.read(), "the stream ended with the server")
            s.close()


if __name__ == "__main__":
    unittest.main()
