"""MQTT over WebSocket (issue #16 section 4): ws:// and wss:// listeners and the /mqtt
upgrade on the https:// listener, with paho-mqtt's own WebSocket transport as the real
client; pub/sub at QoS 0/1/2 between WebSocket and TCP/TLS clients; the opening handshake's
refusals (400/403/426); the frame rules (RFC 6455) with a byte-level WebSocket client:
masking enforced, text frames refused, ping/pong, the close handshake, packets spanning
frames and frames holding several packets, the frame size limit; authentication by access
token and device secret as on the TLS port."""

import base64
import hashlib
import os
import socket
import ssl
import struct
import time
import unittest

import paho.mqtt.client as mqtt

from device_harness import PW, Api, DeviceServer, register_device, scratch_dir, uname
from harness import (CONNACK, HOST, PINGRESP, PUBLISH, SUBACK, WAIT, Broker, BrokerCase,
                     Client, connect_pkt, free_port, iotcloud_only, publish_pkt,
                     subscribe_pkt, uniq)

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
ALLOWED_ORIGIN = "https://app.example"
MAX_FRAME = 4096


class WsClient(Client):
    """The harness's paho wrapper over paho's WebSocket transport."""

    def __init__(self, port, path="/mqtt", tls_context=None, client_id=None,
                 clean_session=True, headers=None):
        super().__init__(port, client_id, clean_session, None)
        c = mqtt.Client(client_id=self.client_id, clean_session=clean_session,
                        protocol=mqtt.MQTTv311, transport="websockets",
                        reconnect_on_failure=False)
        c.ws_set_options(path=path, headers=headers)
        if tls_context is not None:
            c.tls_set_context(tls_context)
        for cb in ("on_connect", "on_message", "on_subscribe", "on_unsubscribe",
                   "on_publish", "on_disconnect"):
            setattr(c, cb, getattr(self.c, cb))
        self.c = c


def ws_mixin(base):
    class WsServer(base):
        """@base plus ws://, wss:// (path /ws-test) and, for Broker, https://."""

        def _pick_ports(self):
            super()._pick_ports()
            self.ws_port, self.wss_port = free_port(), free_port()
            if not hasattr(self, "https_port"):
                self.https_port = free_port()
                self.own_https = True

        def command(self):
            cmd = super().command() + [
                "--listen", "ws://%s:%d/mqtt" % (HOST, self.ws_port),
                "--listen", "wss://%s:%d/ws-test" % (HOST, self.wss_port)]
            if getattr(self, "own_https", False):
                cmd += ["--listen", "https://%s:%d" % (HOST, self.https_port)]
            return cmd

        def listen_ports(self):
            ports = super().listen_ports() + [self.ws_port, self.wss_port]
            return ports + ([self.https_port] if getattr(self, "own_https", False) else [])
    return WsServer


WsBroker = ws_mixin(Broker)
WsDeviceServer = ws_mixin(DeviceServer)


# ---- a byte-level WebSocket client ----------------------------------------------------------

def frame(op, payload=b"", fin=True, mask=True, rsv=0):
    head = bytes([(0x80 if fin else 0) | rsv << 4 | op])
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack(">H", n)
    else:
        head += bytes([m | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i & 3] for i, b in enumerate(payload))


class RawWs:
    def __init__(self, port, path="/mqtt", ctx=None, headers=None, protocol="mqtt"):
        s = socket.create_connection((HOST, port), timeout=WAIT)
        self.sock = ctx.wrap_socket(s, server_hostname=HOST) if ctx else s
        self.buf = b""
        self.key = base64.b64encode(os.urandom(16)).decode()
        h = {"Host": "%s:%d" % (HOST, port), "Upgrade": "websocket", "Connection": "Upgrade",
             "Sec-WebSocket-Key": self.key, "Sec-WebSocket-Version": "13"}
        if protocol:
            h["Sec-WebSocket-Protocol"] = protocol
        h.update(headers or {})
        req = "GET %s HTTP/1.1\r\n" % path + "".join(
            "%s: %s\r\n" % kv for kv in h.items() if kv[1] is not None) + "\r\n"
        self.sock.sendall(req.encode())
        self.status, self.headers = self._read_head()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        self.buf += chunk

    def _read_head(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        hs = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            hs[k.strip().lower()] = v.strip()
        return int(lines[0].split()[1]), hs

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self):
        """(fin, opcode, payload) of the next server frame; server frames are unmasked."""
        b0, b1 = self._exact(2)
        assert not b1 & 0x80, "server frames must not be masked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._exact(8))[0]
        return bool(b0 & 0x80), b0 & 0x0F, self._exact(n)

    def read_mqtt(self, n):
        """The payload of binary frames until @n bytes are there."""
        data = b""
        while len(data) < n:
            fin, op, p = self.read_frame()
            assert op in (0, 2), "opcode %d" % op
            data += p
        return data

    def send(self, data):
        self.sock.sendall(data)

    def expect_close(self, status):
        """The server's close frame carries @status, then the connection ends."""
        while True:
            fin, op, p = self.read_frame()
            if op == 8:
                break
        self.sock.settimeout(WAIT)
        self.assertion(struct.unpack(">H", p[:2])[0] == status,
                       "close status %r, expected %d" % (p[:2], status))
        try:
            rest = self.sock.recv(100)
        except (ConnectionResetError, ssl.SSLError):
            rest = b""
        self.assertion(rest == b"", "closed after the close frame, got %r" % rest)

    @staticmethod
    def assertion(cond, msg):
        if not cond:
            raise AssertionError(msg)

    def close(self):
        self.sock.close()


# ---- pub/sub with paho over every WebSocket entry point -------------------------------------

class WsPubSubTest(BrokerCase):
    broker_args = ("--ws-max-frame", str(MAX_FRAME), "--ws-allowed-origins",
                   ALLOWED_ORIGIN + ", https://127.0.0.1:0")

    @classmethod
    def setUpClass(cls):
        cls.broker = WsBroker(cls.broker_args, allow_anonymous=True).start()
        cls.addClassCleanup(cls.broker.kill9)

    def ws(self, where="ws", connect=True, **kw):
        b = self.broker
        port, path, ctx = {"ws": (b.ws_port, "/mqtt", None),
                           "wss": (b.wss_port, "/ws-test", b.tls_context()),
                           "https": (b.https_port, "/mqtt", b.tls_context())}[where]
        # paho sends Origin: https://HOST:PORT; a browser-like client names the allowed one
        kw.setdefault("headers", {"Origin": ALLOWED_ORIGIN})
        c = WsClient(port, path, ctx, **kw)
        self._clients.append(c)
        if connect:
            self.assertEqual(c.connect()[0], 0)
        return c

    def roundtrip(self, sub, pub, qos):
        t = self.topic("q%d" % qos)
        self.assertEqual(sub.subscribe(t, qos), [qos])
        big = os.urandom(3 * MAX_FRAME)  # a packet of several frames' worth, one frame
        pub.publish(t, b"small-%d" % qos, qos)
        pub.publish(t, big[:MAX_FRAME - 100], qos)
        msgs = sub.wait_messages(2, topic=t)
        self.assertEqual([m.payload for m in msgs], [b"small-%d" % qos, big[:MAX_FRAME - 100]])
        self.assertEqual([m.qos for m in msgs], [qos, qos])

    def test_ws_subscriber_tcp_publisher_all_qos(self):
        sub = self.ws("ws")
        pub = self.client()
        for qos in (0, 1, 2):
            self.roundtrip(sub, pub, qos)

    def test_tcp_subscriber_ws_publisher_all_qos(self):
        for qos in (0, 1, 2):
            self.roundtrip(self.client(), self.ws("ws"), qos)

    def test_wss_listener_with_its_path_and_tls_client(self):
        for qos in (0, 1, 2):
            self.roundtrip(self.ws("wss"), self.client(tls=True), qos)

    def test_mqtt_on_the_https_listener(self):
        for qos in (0, 1, 2):
            self.roundtrip(self.ws("https"), self.ws("ws"), qos)

    def test_qos0_fan_out_to_many_ws_subscribers(self):
        t = self.topic("fan")
        subs = [self.ws("ws") for _ in range(8)]
        for s in subs:
            s.subscribe(t, 0)
        self.client().publish(t, b"to-all", 0)
        for s in subs:
            self.assertEqual([m.payload for m in s.wait_messages(1, topic=t)], [b"to-all"])

    def test_wrong_path_is_not_mqtt(self):
        c = self.ws("ws", connect=False)
        c.c.ws_set_options(path="/other")
        with self.assertRaises(mqtt.WebsocketConnectionError):  # 404, not 101
            c.connect(timeout=2)

    @iotcloud_only("ws-allowed-origins")
    def test_origin_not_allowed_is_refused(self):
        r = RawWs(self.broker.ws_port, headers={"Origin": "https://evil.example"})
        self.assertEqual(r.status, 403)
        r.close()
        r = RawWs(self.broker.ws_port, headers={"Origin": ALLOWED_ORIGIN.upper()})
        self.assertEqual(r.status, 101)
        r.close()
        c = self.ws("ws", connect=False, headers={})  # paho's own Origin is not listed
        with self.assertRaises(mqtt.WebsocketConnectionError):
            c.connect(timeout=2)


# ---- the opening handshake ----------------------------------------------------------------

@iotcloud_only("handshake answers")
class WsHandshakeTest(BrokerCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = WsBroker((), allow_anonymous=True).start()
        cls.addClassCleanup(cls.broker.kill9)

    def raw(self, **kw):
        r = RawWs(self.broker.ws_port, **kw)
        self.addCleanup(r.close)
        return r

    def test_accept_key_and_subprotocol(self):
        r = self.raw()
        self.assertEqual(r.status, 101)
        want = base64.b64encode(hashlib.sha1(r.key.encode() + GUID).digest()).decode()
        self.assertEqual(r.headers["sec-websocket-accept"], want)
        self.assertEqual(r.headers["sec-websocket-protocol"], "mqtt")
        self.assertEqual(r.headers["upgrade"].lower(), "websocket")

    def test_mqttv31_subprotocol_and_first_supported_offer(self):
        self.assertEqual(self.raw(protocol="mqttv3.1").headers["sec-websocket-protocol"],
                         "mqttv3.1")
        r = self.raw(protocol="chat, mqttv3.1, mqtt")
        self.assertEqual(r.headers["sec-websocket-protocol"], "mqttv3.1")

    def test_no_supported_subprotocol_is_400(self):
        self.assertEqual(self.raw(protocol=None).status, 400)
        self.assertEqual(self.raw(protocol="chat").status, 400)

    def test_bad_key_is_400(self):
        self.assertEqual(self.raw(headers={"Sec-WebSocket-Key": "short"}).status, 400)
        self.assertEqual(self.raw(headers={"Sec-WebSocket-Key": None}).status, 400)

    def test_other_version_is_426_naming_13(self):
        r = self.raw(headers={"Sec-WebSocket-Version": "8"})
        self.assertEqual(r.status, 426)
        self.assertEqual(r.headers["sec-websocket-version"], "13")

    def test_plain_get_is_426_and_other_paths_404(self):
        r = self.raw(headers={"Upgrade": None, "Connection": "keep-alive"})
        self.assertEqual(r.status, 426)
        self.assertEqual(r.headers["upgrade"], "websocket")
        self.assertEqual(self.raw(path="/elsewhere").status, 404)

    def test_https_api_still_routes_and_upgrades(self):
        ctx = self.broker.tls_context()
        r = RawWs(self.broker.https_port, ctx=ctx)
        self.addCleanup(r.close)
        self.assertEqual(r.status, 101)
        r.send(frame(2, connect_pkt(uniq("h"))))
        self.assertEqual(r.read_mqtt(4)[0] >> 4, CONNACK)


# ---- the frame rules ----------------------------------------------------------------------

@iotcloud_only("close status codes")
class WsFramesTest(BrokerCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = WsBroker(("--ws-max-frame", str(MAX_FRAME)), allow_anonymous=True).start()
        cls.addClassCleanup(cls.broker.kill9)

    def ws(self, connect=True):
        r = RawWs(self.broker.ws_port)
        self.addCleanup(r.close)
        self.assertEqual(r.status, 101)
        if connect:
            r.send(frame(2, connect_pkt(uniq("f"))))
            self.assertEqual(r.read_mqtt(4), b"\x20\x02\x00\x00")
        return r

    def test_packet_split_over_frames_and_fragments(self):
        r = self.ws(connect=False)
        pkt = connect_pkt(uniq("split"))
        r.send(frame(2, pkt[:3]))  # one binary frame with the first bytes
        r.send(frame(2, pkt[3:7], fin=False) + frame(0, pkt[7:9], fin=False)
               + frame(9, b"p") + frame(0, pkt[9:]))  # a fragmented message, ping inside
        fin, op, p = r.read_frame()
        self.assertEqual((op, p), (10, b"p"))  # the pong, in between
        self.assertEqual(r.read_mqtt(4), b"\x20\x02\x00\x00")

    def test_several_packets_in_one_frame(self):
        r = self.ws()
        t = "ws/frames/%s" % uniq()
        r.send(frame(2, subscribe_pkt(1, [(t, 0)]) + publish_pkt(t, b"one")
                     + publish_pkt(t, b"two") + b"\xc0\x00"))
        data = r.read_mqtt(5)
        self.assertEqual(data[0] >> 4, SUBACK)
        want = publish_pkt(t, b"one") + publish_pkt(t, b"two") + b"\xd0\x00"
        data = data[5:] + r.read_mqtt(len(want) - len(data[5:]))
        self.assertEqual(data, want)
        self.assertEqual(PINGRESP, data[-2] >> 4)
        self.assertEqual(PUBLISH, data[0] >> 4)

    def test_ping_is_answered_with_its_payload(self):
        r = self.ws()
        r.send(frame(9, b"hello-ping"))
        self.assertEqual(r.read_frame(), (True, 10, b"hello-ping"))
        r.send(frame(10, b"unsolicited"))  # ignored
        r.send(frame(2, b"\xc0\x00"))
        self.assertEqual(r.read_mqtt(2), b"\xd0\x00")

    def test_close_handshake_echoes_the_status(self):
        r = self.ws()
        r.send(frame(8, struct.pack(">H", 1001) + b"bye"))
        r.expect_close(1001)

    def test_text_frame_closes_1003(self):
        r = self.ws()
        r.send(frame(1, b"\xc0\x00"))
        r.expect_close(1003)

    def test_unmasked_frame_closes_1002(self):
        r = self.ws()
        r.send(frame(2, b"\xc0\x00", mask=False))
        r.expect_close(1002)

    def test_reserved_bits_and_opcodes_close_1002(self):
        for bad in (frame(2, b"\xc0\x00", rsv=4), frame(3, b"x"), frame(9, b"x", fin=False),
                    frame(0, b"\xc0\x00"), frame(2, b"", fin=False) + frame(2, b"")):
            r = self.ws()
            r.send(bad)
            r.expect_close(1002)

    def test_frame_above_the_limit_closes_1009(self):
        r = self.ws()
        r.send(frame(2, publish_pkt("big", b"x" * MAX_FRAME)))
        r.expect_close(1009)

    def test_malformed_mqtt_inside_frames_closes(self):
        r = self.ws()
        r.send(frame(2, b"\xf0\x00"))  # reserved MQTT packet type
        r.expect_close(1000)

    def test_broker_survives_garbage_streams(self):
        for junk in (b"\x82\xff" + b"\xff" * 12, os.urandom(64), b"\x88\x81abcd\x01"):
            r = self.ws()
            r.send(junk)
            r.sock.settimeout(WAIT)
            try:
                while r.sock.recv(4096):
                    pass
            except (ConnectionResetError, socket.timeout):
                pass
        self.ws()  # still serving


# ---- authentication as on the TLS port ----------------------------------------------------

@iotcloud_only("iotcloud accounts")
class WsAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = WsDeviceServer()
        cls.user = cls.srv.add_user(uname("ws"))
        cls.srv.start()
        cls.api = Api(cls.srv)
        cls.dir = scratch_dir()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def client(self, user, password, where="wss"):
        port, path = (self.srv.wss_port, "/ws-test") if where == "wss" else (self.srv.ws_port,
                                                                              "/mqtt")
        ctx = self.srv.tls_context() if where == "wss" else None
        c = WsClient(port, path, ctx, client_id=uniq("a"))
        c.c.username_pw_set(user, password)
        self.addCleanup(c.close)
        return c

    def test_access_token_accepted_wrong_one_refused(self):
        tok = self.api.login(self.user)
        self.assertEqual(self.client(self.user, tok).connect()[0], 0)
        self.assertEqual(self.client(self.user, tok, where="ws").connect()[0], 0)
        self.assertIn(self.client(self.user, tok[:-2] + "xx").connect()[0], (4, 5))
        self.assertIn(self.client(self.user, PW + "x").connect()[0], (4, 5))

    def test_anonymous_refused(self):
        c = WsClient(self.srv.ws_port, "/mqtt", None, client_id=uniq("anon"))
        self.addCleanup(c.close)
        self.assertEqual(c.connect()[0], 5)

    def test_device_secret(self):
        tok = self.api.login(self.user)
        dev = register_device(self.api, tok, self.dir)
        r = self.api.call("POST", "/v1/devices/%s/secret" % dev.id, token=tok)
        self.assertEqual(r.status, 201, r.raw)
        c = WsClient(self.srv.wss_port, "/ws-test", self.srv.tls_context(), client_id=dev.id)
        self.addCleanup(c.close)
        c.c.username_pw_set(dev.id, r.json["secret"])
        self.assertEqual(c.connect()[0], 0)


    def test_device_certificate_on_wss(self):
        tok = self.api.login(self.user)
        dev = register_device(self.api, tok, self.dir)
        c = WsClient(self.srv.wss_port, "/ws-test", dev.ctx(self.srv.cafile), client_id=dev.id)
        self.addCleanup(c.close)
        self.assertEqual(c.connect()[0], 0)
        c.publish("devices/%s/x" % dev.id, b"x", qos=1)  # still connected: PUBACK comes
        other = WsClient(self.srv.wss_port, "/ws-test", self.srv.tls_context(),
                         client_id=dev.id)  # the same id without the certificate
        self.addCleanup(other.close)
        self.assertEqual(other.connect()[0], 5)


if __name__ == "__main__":
    unittest.main()
