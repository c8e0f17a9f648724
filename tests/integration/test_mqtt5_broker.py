"""MQTT 5.0 in the broker (issue #16 section 2), byte by byte and with real 5.0 clients.

Every property and reason code the broker implements is checked on the wire with the
client-side codec of mqtt5_wire.py (written from the specification); paho-mqtt (protocol
MQTTv5) and mosquitto_pub/sub -V 5 check that real clients interoperate.
"""

import shutil
import subprocess
import tempfile
import time
import unittest

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from harness import (Broker, BrokerCase, HOST, RawClient, enc_varint, iotcloud_only,
                     subscribe_pkt, uniq)
from mqtt5_wire import (ASSIGNED_CLIENT_ID, AUTH_METHOD, CONTENT_TYPE, CORRELATION_DATA,
                        MAX_PACKET_SIZE, MESSAGE_EXPIRY, PAYLOAD_FORMAT, PUBACK,
                        PUBCOMP, PUBREC, PUBREL, REASON_STRING, RECEIVE_MAX,
                        REQUEST_PROBLEM_INFO, RESPONSE_TOPIC, RETAIN_AVAILABLE,
                        SERVER_KEEP_ALIVE, SESSION_EXPIRY, SHARED_AVAILABLE,
                        SUB_ID_AVAILABLE, SUBSCRIPTION_ID, TOPIC_ALIAS, TOPIC_ALIAS_MAX,
                        UNSUBACK, USER_PROPERTY, WILDCARD_AVAILABLE, WILL_DELAY, Raw5, ack5,
                        disconnect5, packet, parse_ack5, parse_publish5, parse_suback5,
                        prop, publish5, subscribe5, unsubscribe5)

NO_LOCAL, RAP = 0x04, 0x08


def rh(n):
    return n << 4


class Mqtt5Case(BrokerCase):
    broker_args = ("--max-keepalive", "100", "--max-topic-alias", "4",
                   "--session-expiry", "3600", "--max-inflight", "8")

    def raw5(self, client_id=None, **kw):
        c = Raw5(self.broker.port)
        self._clients.append(c)
        present, reason, props = c.connect5(uniq("r5") if client_id is None else client_id, **kw)
        self.assertEqual(reason, 0, props)
        c.connack_props = props
        c.present = present
        return c


@iotcloud_only("iotcloud's CONNACK properties and limits")
class TestConnect(Mqtt5Case):
    def test_connack_properties(self):
        c = self.raw5("")
        p = c.connack_props
        self.assertEqual(prop(p, RECEIVE_MAX), 8)
        self.assertEqual(prop(p, MAX_PACKET_SIZE), 1048576)
        self.assertEqual(prop(p, TOPIC_ALIAS_MAX), 4)
        self.assertEqual(prop(p, RETAIN_AVAILABLE), 1)
        self.assertEqual(prop(p, WILDCARD_AVAILABLE), 1)
        self.assertEqual(prop(p, SUB_ID_AVAILABLE), 1)
        self.assertEqual(prop(p, SHARED_AVAILABLE), 1)
        self.assertTrue(prop(p, ASSIGNED_CLIENT_ID, "").startswith("auto-"))
        self.assertIsNone(prop(p, SERVER_KEEP_ALIVE))  # 60 is within max-keepalive

    def test_server_keep_alive_and_expiry_cap(self):
        c = self.raw5(keepalive=0, props=[(SESSION_EXPIRY, 0xFFFFFFFF)])
        self.assertEqual(prop(c.connack_props, SERVER_KEEP_ALIVE), 100)
        self.assertEqual(prop(c.connack_props, SESSION_EXPIRY), 3600)
        self.assertIsNone(prop(c.connack_props, ASSIGNED_CLIENT_ID))

    def test_auth_method_is_bad_authentication_method(self):
        c = Raw5(self.broker.port)
        self._clients.append(c)
        _, reason, props = c.connect5(uniq("a"), props=[(AUTH_METHOD, "SCRAM-SHA-1")])
        self.assertEqual(reason, 0x8C)
        self.assertIn(REASON_STRING, [k for k, _ in props])
        c.expect_closed()

    def test_auth_packet_is_protocol_error(self):
        c = self.raw5()
        c.send(packet(0xF0, b""))
        self.assertEqual(c.expect_disconnect()[0], 0x82)

    def test_malformed_packet_gets_0x81(self):
        c = self.raw5()
        c.send(packet(0x32, b"\x00\x03a/b"))  # QoS 1 PUBLISH without packet id
        self.assertEqual(c.expect_disconnect()[0], 0x81)

    @iotcloud_only("max-packet-size")
    def test_packet_too_large_gets_0x95(self):
        c = self.raw5()
        c.send(b"\x30" + enc_varint(2 * 1048576) + b"\x00\x01a")
        self.assertEqual(c.expect_disconnect()[0], 0x95)

    def test_takeover_sends_0x8e(self):
        cid = uniq("t")
        old = self.raw5(cid)
        self.raw5(cid)
        self.assertEqual(old.expect_disconnect()[0], 0x8E)

    def test_reason_string_only_when_asked(self):
        c = self.raw5(props=[(REQUEST_PROBLEM_INFO, 0)])
        c.send(packet(0xF0, b""))
        reason, props = c.expect_disconnect()
        self.assertEqual(reason, 0x82)
        self.assertIsNone(prop(props, REASON_STRING))
        c = self.raw5()
        c.send(packet(0xF0, b""))
        reason, props = c.expect_disconnect()
        self.assertIsNotNone(prop(props, REASON_STRING))


@iotcloud_only("iotcloud's refusal codes")
class TestRefusals(BrokerCase):
    allow_anonymous = False

    def refused(self, **kw):
        c = Raw5(self.broker.port)
        self._clients.append(c)
        present, reason, props = c.connect5(uniq("x"), **kw)
        self.assertFalse(present)
        c.expect_closed()
        return reason

    def test_no_credentials_not_authorized(self):
        self.assertEqual(self.refused(), 0x87)

    def test_bad_password(self):
        self.assertEqual(self.refused(username="nobody", password="wrong"), 0x86)

    def test_311_unchanged(self):
        c = RawClient(self.broker.port)
        self._clients.append(c)
        self.assertEqual(c.connect(uniq("x")), (False, 5))


class TestPublish(Mqtt5Case):
    def test_properties_forwarded_unchanged(self):
        t = self.topic()
        sub = self.raw5()
        self.assertEqual(sub.subscribe(1, [(t, 1)])[2], [1])
        pub = self.raw5()
        props = [(PAYLOAD_FORMAT, 1), (CONTENT_TYPE, "text/plain"), (RESPONSE_TOPIC, "r/x"),
                 (CORRELATION_DATA, b"\x00\x01cd"), (USER_PROPERTY, ("a", "1")),
                 (USER_PROPERTY, ("a", "2")), (USER_PROPERTY, ("b", "3"))]
        pub.send(publish5(t, "hi", qos=1, pid=7, props=props))
        self.assertEqual(parse_ack5(pub.expect_packet(PUBACK)), (7, 0))
        m = parse_publish5(sub.read_packet())
        self.assertEqual((m["topic"], m["payload"], m["qos"]), (t, b"hi", 1))
        self.assertEqual(m["props"], props)  # order of user properties kept

    def test_311_receiver_gets_no_properties_and_back(self):
        t = self.topic()
        old = RawClient(self.broker.port)
        self._clients.append(old)
        old.connect(uniq("o"))
        old.send(subscribe_pkt(1, [(t, 0)]))
        old.expect_packet(9)
        new = self.raw5()
        new.subscribe(1, [(t, 0)])
        new.send(publish5(t, "x", props=[(USER_PROPERTY, ("k", "v"))]))
        self.assertEqual(old.read_publish().payload, b"x")  # a 3.1.1 PUBLISH
        self.assertEqual(parse_publish5(new.read_packet())["payload"], b"x")
        old.send(bytes([0x30, 2 + len(t) + 1]) + len(t).to_bytes(2, "big") + t.encode() + b"y")
        m = parse_publish5(new.read_packet())
        self.assertEqual((m["payload"], m["props"]), (b"y", []))

    @iotcloud_only("reason code 0x10")
    def test_puback_no_matching_subscribers(self):
        pub = self.raw5()
        pub.send(publish5(self.topic("nobody"), "x", qos=1, pid=3))
        self.assertEqual(parse_ack5(pub.expect_packet(PUBACK)), (3, 0x10))
        pub.send(publish5(self.topic("nobody"), "x", qos=2, pid=4))
        self.assertEqual(parse_ack5(pub.expect_packet(PUBREC)), (4, 0x10))
        pub.send(ack5(PUBREL, 4))
        self.assertEqual(parse_ack5(pub.expect_packet(PUBCOMP)), (4, 0))

    @iotcloud_only("$SYS is refused with 0x87")
    def test_puback_not_authorized(self):
        pub = self.raw5()
        pub.send(publish5("$SYS/broker/x", "x", qos=1, pid=5))
        self.assertEqual(parse_ack5(pub.expect_packet(PUBACK)), (5, 0x87))

    @iotcloud_only("PUBCOMP 0x92")
    def test_pubrel_unknown_id(self):
        c = self.raw5()
        c.send(ack5(PUBREL, 99))
        self.assertEqual(parse_ack5(c.expect_packet(PUBCOMP)), (99, 0x92))

    def test_message_expiry_rewritten_when_queued(self):
        t, cid = self.topic(), uniq("q")
        sub = self.raw5(cid, clean=True, props=[(SESSION_EXPIRY, 60)])
        sub.subscribe(1, [(t, 1)])
        sub.send(disconnect5())
        sub.expect_closed()
        pub = self.raw5()
        pub.send(publish5(t, "keep", qos=1, pid=1, props=[(MESSAGE_EXPIRY, 30)]))
        pub.expect_packet(PUBACK)
        pub.send(publish5(t, "gone", qos=1, pid=2, props=[(MESSAGE_EXPIRY, 1)]))
        pub.expect_packet(PUBACK)
        time.sleep(2.2)
        sub = self.raw5(cid, clean=False, props=[(SESSION_EXPIRY, 60)])
        self.assertTrue(sub.present)
        m = parse_publish5(sub.read_packet())
        self.assertEqual(m["payload"], b"keep")
        self.assertLessEqual(prop(m["props"], MESSAGE_EXPIRY), 28)
        self.assertGreaterEqual(prop(m["props"], MESSAGE_EXPIRY), 1)
        sub.send(ack5(PUBACK, m["pid"]))
        sub.assert_silent(0.5)

    def test_expired_retained_not_sent(self):
        t = self.topic()
        pub = self.raw5()
        pub.send(publish5(t, "r", qos=1, pid=1, retain=True, props=[(MESSAGE_EXPIRY, 1)]))
        pub.expect_packet(PUBACK)
        sub = self.raw5()
        sub.subscribe(1, [(t, 0)])
        m = parse_publish5(sub.read_packet())
        self.assertTrue(m["retain"])
        self.assertEqual(prop(m["props"], MESSAGE_EXPIRY), 1)
        time.sleep(1.5)
        late = self.raw5()
        late.subscribe(1, [(t, 0)])
        late.assert_silent(0.5)

    def test_topic_alias_in(self):
        t = self.topic()
        sub = self.raw5()
        sub.subscribe(1, [(t, 0)])
        pub = self.raw5()
        pub.send(publish5(t, "1", props=[(TOPIC_ALIAS, 2)]))
        pub.send(publish5("", "2", props=[(TOPIC_ALIAS, 2)]))
        for want in (b"1", b"2"):
            m = parse_publish5(sub.read_packet())
            self.assertEqual((m["topic"], m["payload"]), (t, want))
            self.assertIsNone(prop(m["props"], TOPIC_ALIAS))  # per connection

    @iotcloud_only("the broker uses topic aliases towards clients")
    def test_topic_alias_out(self):
        t1, t2, t3 = self.topic("1"), self.topic("2"), self.topic("3")
        sub = self.raw5(props=[(TOPIC_ALIAS_MAX, 2)])
        sub.subscribe(1, [(self.prefix + "/#", 0)])
        pub = self.raw5()
        for t in (t1, t1, t2, t3, t2):
            pub.send(publish5(t, "x"))
        got = [parse_publish5(sub.read_packet()) for _ in range(5)]
        seen = [(m["topic"], prop(m["props"], TOPIC_ALIAS)) for m in got]
        self.assertEqual(seen, [(t1, 1), ("", 1), (t2, 2), (t3, None), ("", 2)])
        plain = self.raw5()  # Topic Alias Maximum absent (0): never an alias
        plain.subscribe(1, [(t1, 0)])
        pub.send(publish5(t1, "y"))
        pub.send(publish5(t1, "z"))
        for _ in range(2):
            m = parse_publish5(plain.read_packet())
            self.assertEqual((m["topic"], prop(m["props"], TOPIC_ALIAS)), (t1, None))

    @iotcloud_only("max-topic-alias 4")
    def test_topic_alias_above_maximum(self):
        pub = self.raw5()
        pub.send(publish5(self.topic(), "x", props=[(TOPIC_ALIAS, 5)]))
        self.assertEqual(pub.expect_disconnect()[0], 0x94)

    def test_unknown_alias_is_protocol_error(self):
        pub = self.raw5()
        pub.send(publish5("", "x", props=[(TOPIC_ALIAS, 3)]))
        self.assertEqual(pub.expect_disconnect()[0], 0x82)

    def test_maximum_packet_size_of_receiver(self):
        t = self.topic()
        sub = self.raw5(props=[(MAX_PACKET_SIZE, 200)])
        sub.subscribe(1, [(t, 1)])
        pub = self.raw5()
        pub.send(publish5(t, b"x" * 300, qos=1, pid=1))
        pub.send(publish5(t, b"small", qos=1, pid=2))
        self.assertEqual(parse_publish5(sub.read_packet())["payload"], b"small")

    @iotcloud_only("max-inflight 8 is the Receive Maximum")
    def test_receive_maximum_exceeded(self):
        pub = self.raw5()
        for i in range(1, 9):
            pub.send(publish5(self.topic(), "x", qos=2, pid=i))
            pub.expect_packet(PUBREC)
        pub.send(publish5(self.topic(), "x", qos=2, pid=9))
        self.assertEqual(pub.expect_disconnect()[0], 0x93)

    @iotcloud_only("the broker honours the client's Receive Maximum")
    def test_client_receive_maximum_caps_inflight(self):
        t = self.topic()
        sub = self.raw5(props=[(RECEIVE_MAX, 2)])
        sub.subscribe(1, [(t, 1)])
        pub = self.raw5()
        for i in range(1, 5):
            pub.send(publish5(t, str(i), qos=1, pid=i))
            pub.expect_packet(PUBACK)
        got = [parse_publish5(sub.read_packet()) for _ in range(2)]
        sub.assert_silent(0.4)  # two in flight, the rest wait
        sub.send(ack5(PUBACK, got[0]["pid"]))
        self.assertEqual(parse_publish5(sub.read_packet())["payload"], b"3")


class TestSubscribe(Mqtt5Case):
    def test_no_local(self):
        t = self.topic()
        c = self.raw5()
        c.subscribe(1, [(t, NO_LOCAL | 0)])
        other = self.raw5()
        c.send(publish5(t, "mine"))
        other.send(publish5(t, "theirs"))
        self.assertEqual(parse_publish5(c.read_packet())["payload"], b"theirs")
        c.assert_silent(0.3)

    def test_retain_as_published(self):
        t = self.topic()
        keep, plain = self.raw5(), self.raw5()
        keep.subscribe(1, [(t, RAP)])
        plain.subscribe(1, [(t, 0)])
        pub = self.raw5()
        pub.send(publish5(t, "r", retain=True))
        self.assertTrue(parse_publish5(keep.read_packet())["retain"])
        self.assertFalse(parse_publish5(plain.read_packet())["retain"])

    def test_retain_handling(self):
        t = self.topic()
        pub = self.raw5()
        pub.send(publish5(t, "r", qos=1, pid=1, retain=True))
        pub.expect_packet(PUBACK)
        c = self.raw5()
        c.subscribe(1, [(t, rh(2))])
        c.assert_silent(0.3)  # 2: never
        c.subscribe(2, [(t + "/+", rh(1))])
        c.subscribe(3, [(t, rh(1))])
        c.assert_silent(0.3)  # 1: not for an existing subscription
        d = self.raw5()
        d.subscribe(1, [(t, rh(1))])
        self.assertTrue(parse_publish5(d.read_packet())["retain"])  # 1: a new one

    @iotcloud_only("SUBACK reason codes")
    def test_suback_codes(self):
        c = self.raw5()
        _, _, codes = c.subscribe(1, [(self.topic(), 2), ("$share//x", 0), (self.topic(), 1)])
        self.assertEqual(codes, [2, 0x8F, 1])

    def test_subscription_identifiers(self):
        t = self.topic("a/b")
        c = self.raw5()
        c.subscribe(1, [(self.prefix + "/#", 0)], props=[(SUBSCRIPTION_ID, 5)])
        c.subscribe(2, [(t, 1)], props=[(SUBSCRIPTION_ID, 300000)])
        c.subscribe(3, [(self.prefix + "/+/b", 0)])  # no identifier
        self.raw5().send(publish5(t, "x", qos=1, pid=1))
        m = parse_publish5(c.read_packet())
        ids = sorted(v for k, v in m["props"] if k == SUBSCRIPTION_ID)
        self.assertEqual(ids, [5, 300000])  # [MQTT-3.3.4-3]
        self.raw5().send(publish5(self.topic("other"), "y"))
        m = parse_publish5(c.read_packet())
        self.assertEqual([v for k, v in m["props"] if k == SUBSCRIPTION_ID], [5])

    def test_shared_no_local_is_protocol_error(self):
        c = self.raw5()
        c.send(subscribe5(1, [("$share/g/x", NO_LOCAL)]))
        self.assertEqual(c.expect_disconnect()[0], 0x82)

    def test_unsuback_codes(self):
        t = self.topic()
        c = self.raw5()
        c.subscribe(1, [(t, 0)])
        c.send(unsubscribe5(2, [t, t + "/none"]))
        pid, _, codes = parse_suback5(c.expect_packet(UNSUBACK))
        self.assertEqual((pid, codes), (2, [0, 0x11]))


class TestSessionAndWill(Mqtt5Case):
    def test_expiry_zero_ends_session(self):
        cid = uniq("e")
        c = self.raw5(cid, clean=False)
        c.send(disconnect5())
        c.expect_closed()
        self.assertFalse(self.raw5(cid, clean=False).present)

    def test_session_expires(self):
        cid = uniq("e")
        c = self.raw5(cid, props=[(SESSION_EXPIRY, 1)])
        c.send(disconnect5())
        c.expect_closed()
        again = self.raw5(cid, clean=False, props=[(SESSION_EXPIRY, 1)])
        self.assertTrue(again.present)
        again.send(disconnect5())
        again.expect_closed()
        time.sleep(2.5)
        self.assertFalse(self.raw5(cid, clean=False).present)

    def test_clean_start_discards_persistent_session(self):
        t, cid = self.topic(), uniq("cs")
        c = self.raw5(cid, props=[(SESSION_EXPIRY, 60)])
        c.subscribe(1, [(t, 1)])
        c.send(disconnect5())
        c.expect_closed()
        c = self.raw5(cid, clean=True, props=[(SESSION_EXPIRY, 60)])
        self.assertFalse(c.present)
        self.raw5().send(publish5(t, "x"))
        c.assert_silent(0.3)

    def test_disconnect_sets_expiry_after_zero_is_protocol_error(self):
        c = self.raw5()
        c.send(disconnect5(0, [(SESSION_EXPIRY, 10)]))
        self.assertEqual(c.expect_disconnect()[0], 0x82)

    def test_will_delay(self):
        t = self.topic("will")
        sub = self.raw5()
        sub.subscribe(1, [(t, 0)])
        cid = uniq("wd")
        c = self.raw5(cid, props=[(SESSION_EXPIRY, 60)], will=(t, b"late", 0, False),
                      will_props=[(WILL_DELAY, 1)])
        c.close()  # no DISCONNECT
        sub.assert_silent(0.6)
        m = parse_publish5(sub.read_packet(timeout=3))
        self.assertEqual(m["payload"], b"late")
        self.assertIsNone(prop(m["props"], WILL_DELAY))

    def test_will_delay_cancelled_by_resumption(self):
        t = self.topic("will")
        sub = self.raw5()
        sub.subscribe(1, [(t, 0)])
        cid = uniq("wd")
        c = self.raw5(cid, props=[(SESSION_EXPIRY, 60)], will=(t, b"late", 0, False),
                      will_props=[(WILL_DELAY, 2)])
        c.close()
        time.sleep(0.3)
        again = self.raw5(cid, clean=False, props=[(SESSION_EXPIRY, 60)])
        self.assertTrue(again.present)
        sub.assert_silent(2.5)

    def test_disconnect_with_will(self):
        t = self.topic("will")
        sub = self.raw5()
        sub.subscribe(1, [(t, 0)])
        c = self.raw5(will=(t, b"bye", 0, False),
                      will_props=[(CONTENT_TYPE, "text/x"), (USER_PROPERTY, ("w", "1"))])
        c.send(disconnect5(0x04))
        c.expect_closed()
        m = parse_publish5(sub.read_packet())
        self.assertEqual(m["payload"], b"bye")
        self.assertEqual(m["props"], [(CONTENT_TYPE, "text/x"), (USER_PROPERTY, ("w", "1"))])
        d = self.raw5(will=(t, b"no", 0, False))
        d.send(disconnect5(0))
        d.expect_closed()
        sub.assert_silent(0.3)


@iotcloud_only("iotcloud's store")
class TestPersistence(unittest.TestCase):
    """5.0 session state (expiry interval, subscription options, queued messages) under
    kill -9."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="iotcloud-m5-")
        self.brokers, self.conns = [], []

    def tearDown(self):
        for c in self.conns:
            c.close()
        for b in self.brokers:
            b.kill9()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self):
        b = Broker(data_dir=self.dir).start()
        self.brokers.append(b)
        return b

    def raw5(self, b, cid, **kw):
        c = Raw5(b.port)
        self.conns.append(c)
        c.present, reason, _ = c.connect5(cid, **kw)
        self.assertEqual(reason, 0)
        return c

    def test_session_survives_kill9(self):
        b, cid = self.start(), uniq("k")
        c = self.raw5(b, cid, props=[(SESSION_EXPIRY, 600)])
        c.subscribe(1, [("m5/nl", NO_LOCAL | 1), ("m5/rap", RAP)], props=[(SUBSCRIPTION_ID, 9)])
        c.send(disconnect5())
        c.expect_closed()
        p = self.raw5(b, uniq("p"))
        p.send(publish5("m5/nl", "queued", qos=1, pid=1))
        p.expect_packet(PUBACK)
        b.kill9()
        b = self.start()
        c = self.raw5(b, cid, clean=False, props=[(SESSION_EXPIRY, 600)])
        self.assertTrue(c.present)
        m = parse_publish5(c.read_packet())
        self.assertEqual((m["topic"], m["payload"]), ("m5/nl", b"queued"))
        self.assertEqual(prop(m["props"], SUBSCRIPTION_ID), 9)  # the identifier survived
        c.send(ack5(PUBACK, m["pid"]))
        c.send(publish5("m5/nl", "own"))  # no-local survived
        c.assert_silent(0.4)
        p = self.raw5(b, uniq("p"))
        p.send(publish5("m5/rap", "r", retain=True))
        self.assertTrue(parse_publish5(c.read_packet())["retain"])  # retain-as-published

    def test_expiry_interval_survives_kill9(self):
        b, cid = self.start(), uniq("k")
        c = self.raw5(b, cid, props=[(SESSION_EXPIRY, 1)])
        c.send(disconnect5())
        c.expect_closed()
        time.sleep(0.3)
        b.kill9()
        time.sleep(1.5)
        b = self.start()
        self.assertFalse(self.raw5(b, cid, clean=False).present)


class TestRealClients(Mqtt5Case):
    def test_paho_v5_request_response(self):
        t = self.topic()
        got = []
        sub = mqtt.Client(uniq("ps"), protocol=mqtt.MQTTv5)
        sub.on_message = lambda c, u, m: got.append(m)
        sub.connect(HOST, self.broker.port)
        sub.loop_start()
        try:
            sub.subscribe(t, qos=1)
            time.sleep(0.3)
            pub = mqtt.Client(uniq("pp"), protocol=mqtt.MQTTv5)
            pub.connect(HOST, self.broker.port)
            pub.loop_start()
            pr = Properties(PacketTypes.PUBLISH)
            pr.ResponseTopic = "reply/here"
            pr.CorrelationData = b"corr-1"
            pr.UserProperty = [("trace", "42")]
            pub.publish(t, b"req", qos=1, properties=pr).wait_for_publish(5)
            deadline = time.monotonic() + 5
            while not got and time.monotonic() < deadline:
                time.sleep(0.05)
            pub.disconnect()
            pub.loop_stop()
        finally:
            sub.disconnect()
            sub.loop_stop()
        self.assertEqual(len(got), 1)
        p = got[0].properties
        self.assertEqual((p.ResponseTopic, p.CorrelationData), ("reply/here", b"corr-1"))
        self.assertEqual(p.UserProperty, [("trace", "42")])

    @unittest.skipUnless(shutil.which("mosquitto_sub"), "mosquitto clients not installed")
    def test_mosquitto_clients_v5(self):
        t = self.topic()
        port = str(self.broker.port)
        sub = subprocess.Popen(["mosquitto_sub", "-V", "5", "-h", HOST, "-p", port, "-t", t,
                                "-C", "1", "-W", "5", "-F", "%p|%P"],
                               stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        subprocess.run(["mosquitto_pub", "-V", "5", "-h", HOST, "-p", port, "-t", t, "-q",
                        "1", "-m", "hello", "-D", "publish", "user-property", "k", "v"],
                       check=True, timeout=5)
        out, _ = sub.communicate(timeout=10)
        self.assertEqual(sub.returncode, 0)
        self.assertEqual(out.strip(), "hello|k:v")


if __name__ == "__main__":
    unittest.main()
