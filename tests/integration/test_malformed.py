"""Malformed and forbidden input: the broker closes the connection [MQTT-4.8.0-1] and keeps
serving everyone else."""

import struct
import time
import unittest

from harness import (BrokerCase, PINGREQ_PKT, PUBACK, SUBACK, connect_pkt, enc_bytes,
                     enc_varint, iotcloud_only, packet, publish_pkt, subscribe_pkt, uniq)

MAX_PACKET = 70000
CONNACK_ACCEPTED = b"\x20\x02\x00\x00"


class MalformedTest(BrokerCase):
    broker_args = ["--max-packet-size", str(MAX_PACKET), "--connect-timeout", "500"]

    def rejected(self, data, connect=True, timeout=3.0):
        """Sends @data (after a good CONNECT when @connect), asserts the broker closes the
        connection, that it still serves a new client, and returns what the broker sent."""
        r = self.raw(connect=connect)
        r.send(data, tolerate_close=True)
        got = r.expect_closed(timeout)
        self.assert_broker_serves()
        return got

    def rejected_connect(self, data):
        got = self.rejected(data, connect=False)
        self.assertFalse(got.startswith(CONNACK_ACCEPTED), "invalid CONNECT was accepted")
        return got

    # ---- packet types and fixed-header flags [MQTT-2.2.2-2] ----

    def test_reserved_packet_type_0(self):
        self.assertEqual(self.rejected(packet(0x00)), b"")

    def test_reserved_packet_type_15(self):
        self.assertEqual(self.rejected(packet(0xF0)), b"")

    def test_connack_from_client(self):
        self.rejected(packet(0x20, b"\x00\x00"))

    def test_suback_from_client(self):
        self.rejected(packet(0x90, b"\x00\x01\x00"))

    def test_subscribe_flags_zero(self):
        # [MQTT-3.8.1-1] SUBSCRIBE fixed-header flags must be 0010.
        data = subscribe_pkt(1, [(self.topic(), 0)], flags=0x0)
        self.assertNotIn(b"\x90", self.rejected(data)[:1])

    def test_unsubscribe_flags_zero(self):
        # [MQTT-3.10.1-1]
        self.rejected(packet(0xA0, struct.pack("!H", 1) + enc_bytes(self.topic())))

    def test_pubrel_flags_zero(self):
        # [MQTT-3.6.1-1] PUBREL fixed-header flags must be 0010.
        self.assertEqual(self.rejected(packet(0x60, b"\x00\x01")), b"")

    def test_pingreq_with_flags(self):
        self.assertEqual(self.rejected(b"\xc1\x00"), b"")

    # ---- remaining length [MQTT-2.2.3] ----

    def test_remaining_length_five_bytes(self):
        self.assertEqual(self.rejected(b"\x30\xff\xff\xff\xff\x01"), b"")

    def test_remaining_length_above_max_closes_on_header(self):
        # Only the header is sent: the broker must not wait for a 1 MB body.
        r = self.raw(connect=True)
        r.send(b"\x32" + enc_varint(1000000))
        start = time.monotonic()
        r.expect_closed(2.0)
        self.assertLess(time.monotonic() - start, 2.0)
        self.assert_broker_serves()

    def test_oversized_connect_header(self):
        self.rejected_connect(b"\x10" + enc_varint(5000000))

    def test_remaining_length_too_short_for_fields(self):
        # topic length says 100 bytes but the packet holds 3
        self.rejected(packet(0x30, b"\x00\x64abc"))

    # ---- CONNECT rules ----

    def test_first_packet_not_connect(self):
        # [MQTT-3.1.0-1]
        self.assertEqual(self.rejected(PINGREQ_PKT, connect=False), b"")

    def test_subscribe_before_connect(self):
        self.assertEqual(self.rejected(subscribe_pkt(1, [("a", 0)]), connect=False), b"")

    def test_second_connect(self):
        # [MQTT-3.1.0-2]
        self.assertEqual(self.rejected(connect_pkt(uniq())), b"")

    def test_protocol_name_mqtx(self):
        # [MQTT-3.1.2-1] close, optionally after CONNACK 0x01.
        got = self.rejected_connect(connect_pkt(uniq(), proto=b"MQTX"))
        self.assertIn(got, (b"", b"\x20\x02\x00\x01"))

    def test_protocol_level_3(self):
        # [MQTT-3.1.2-2] unsupported level: CONNACK 0x01, then close.
        got = self.rejected_connect(connect_pkt(uniq(), level=3))
        self.assertEqual(got, b"\x20\x02\x00\x01")

    def test_connect_reserved_flag(self):
        # [MQTT-3.1.2-3] reserved bit 0 of the connect flags must be 0.
        self.rejected_connect(connect_pkt(uniq(), flags_or=0x01))

    def test_will_qos_3(self):
        # [MQTT-3.1.2-14]
        self.rejected_connect(connect_pkt(uniq(), will=("w", b"x", 3, False)))

    def test_client_id_invalid_utf8(self):
        # [MQTT-1.5.3-1]
        got = self.rejected_connect(connect_pkt(b"bad\xff\xfeid"))
        self.assertIn(got, (b"", b"\x20\x02\x00\x02"))

    # ---- topic names [MQTT-1.5.3], [MQTT-4.7] ----

    def test_topic_with_nul(self):
        # [MQTT-1.5.3-2] U+0000 is not allowed.
        self.rejected(publish_pkt(b"a\x00b", b"x"))

    def test_topic_with_surrogate(self):
        # [MQTT-1.5.3-1] UTF-16 surrogates (here U+D800) are ill-formed.
        self.rejected(publish_pkt(b"a/\xed\xa0\x80", b"x"))

    def test_topic_overlong_utf8(self):
        # overlong encoding of '/' (0xC0 0xAF) is ill-formed UTF-8
        self.rejected(publish_pkt(b"a\xc0\xafb", b"x"))

    def test_filter_with_nul(self):
        self.rejected(subscribe_pkt(1, [(b"a\x00/#", 0)]))

    def test_publish_topic_with_plus(self):
        # [MQTT-3.3.2-2] no wildcards in a topic name
        self.rejected(publish_pkt(self.topic() + "/+", b"x", qos=1, pid=1))

    def test_publish_topic_with_hash(self):
        self.rejected(publish_pkt(self.topic() + "/#", b"x"))

    def test_publish_empty_topic(self):
        # [MQTT-4.7.3-1] topic names are at least one character long
        self.rejected(publish_pkt(b"", b"x"))

    @iotcloud_only("the 128-level topic limit is iotcloud's (the spec sets none)")
    def test_topic_129_levels(self):
        self.rejected(publish_pkt("/".join(["l"] * 129), b"x", qos=1, pid=1))

    def test_topic_128_levels_ok(self):
        r = self.raw(connect=True)
        t = "/".join([self.prefix] + ["l"] * 125)
        self.assertEqual(t.count("/") + 1, 128)
        r.send(publish_pkt(t, b"deep", qos=1, pid=5))
        self.assertEqual(r.expect_packet(PUBACK).body, b"\x00\x05")

    def test_topic_65535_bytes_one_level_ok(self):
        r = self.raw(connect=True)
        t = "x" * 65535
        self.assertEqual(r.subscribe([(t, 1)]), [1])
        r.send(publish_pkt(t, b"long", qos=1, pid=6))
        got = []
        for _ in range(2):  # PUBACK and our own delivery, either order
            pkt = r.read_packet()
            got.append(pkt.type)
            if pkt.type == 3:
                self.assertEqual(pkt.body[2:65537].decode(), t)
                self.assertTrue(pkt.body.endswith(b"long"))
        self.assertEqual(sorted(got), [3, PUBACK])

    def test_topic_65535_bytes_over_max_packet(self):
        self.rejected(publish_pkt("y" * 65535, b"z" * (MAX_PACKET - 65535)))

    # ---- PUBLISH / SUBSCRIBE fields ----

    def test_publish_qos_3(self):
        # [MQTT-3.3.1-4]
        self.rejected(packet(0x36, enc_bytes(self.topic()) + b"\x00\x01x"))

    def test_publish_qos1_packet_id_zero(self):
        # [MQTT-2.3.1-1]
        self.assertEqual(self.rejected(publish_pkt(self.topic(), b"x", qos=1, pid=0)), b"")

    def test_subscribe_packet_id_zero(self):
        self.assertEqual(self.rejected(subscribe_pkt(0, [(self.topic(), 1)])), b"")

    def test_subscribe_no_topics(self):
        # [MQTT-3.8.3-3]
        self.assertEqual(self.rejected(packet(0x82, b"\x00\x01")), b"")

    def test_subscribe_requested_qos_3(self):
        # [MQTT-3.8.3-4]
        self.rejected(subscribe_pkt(1, [(self.topic(), 3)]))

    def test_subscribe_invalid_filter(self):
        # [MQTT-4.7.1-2] '#' must be last. Close, or SUBACK 0x80 for that filter.
        r = self.raw(connect=True)
        r.send(subscribe_pkt(3, [(self.prefix + "/#/x", 0)]), tolerate_close=True)
        try:
            pkt = r.read_packet(2.0)
        except AssertionError:
            r.expect_closed(1.0)  # no SUBACK: must be a close
        else:
            self.assertEqual((pkt.type, pkt.body), (SUBACK, b"\x00\x03\x80"))
        self.assert_broker_serves()

    # ---- CONNECT timeout ----

    @iotcloud_only("--connect-timeout has no mosquitto equivalent")
    def test_connect_timeout_silent_socket(self):
        r = self.raw()
        start = time.monotonic()
        self.assertEqual(r.expect_closed(3.0), b"")
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.4, "closed before --connect-timeout 500")
        self.assertLess(elapsed, 2.0)
        self.assert_broker_serves()

    @iotcloud_only("--connect-timeout has no mosquitto equivalent")
    def test_connect_timeout_partial_connect(self):
        r = self.raw()
        r.send(connect_pkt(uniq())[:6])  # slowloris: header and part of the body
        start = time.monotonic()
        self.assertEqual(r.expect_closed(3.0), b"")
        self.assertLess(time.monotonic() - start, 2.0)

    @iotcloud_only("--connect-timeout has no mosquitto equivalent")
    def test_connect_timeout_trickled_connect(self):
        # One byte every 200 ms never leaves the socket idle for --connect-timeout (500
        # ms), but the CONNECT must still be complete within it: after 2 s of trickling
        # the broker must already have closed (an idle timer alone would not have).
        r = self.raw()
        pkt = connect_pkt(uniq())
        self.assertGreater(len(pkt), 10)
        for b in pkt[:10]:
            r.send(bytes([b]), tolerate_close=True)
            time.sleep(0.2)
        self.assertEqual(r.expect_closed(0.15), b"")


if __name__ == "__main__":
    unittest.main()
