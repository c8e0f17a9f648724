"""QoS 2 handshake on the wire, both directions [MQTT-4.3.3]."""

import struct
import unittest

from harness import (BrokerCase, PUBCOMP, PUBREC, PUBREL, ack_pkt, iotcloud_only, publish_pkt)


def pid_of(pkt):
    return struct.unpack("!H", pkt.body)[0]


class Qos2Test(BrokerCase):

    def test_inbound_publish_pubrec_pubrel_pubcomp(self):
        t = self.topic()
        sub = self.client()
        sub.subscribe(t, 2)
        r = self.raw(connect=True)
        r.send(publish_pkt(t, b"exactly once", qos=2, pid=10))
        rec = r.expect_packet(PUBREC)  # [MQTT-4.3.3-2]
        self.assertEqual((rec.flags, pid_of(rec)), (0, 10))
        r.send(ack_pkt(PUBREL, 10))
        comp = r.expect_packet(PUBCOMP)  # [MQTT-4.3.3-3]
        self.assertEqual((comp.flags, pid_of(comp)), (0, 10))
        m = sub.wait_messages(1, topic=t)[0]
        self.assertEqual((m.payload, m.qos), (b"exactly once", 2))

    def test_inbound_duplicate_before_pubrel_not_delivered_twice(self):
        # [MQTT-4.3.3-2] until PUBREL, a PUBLISH with the same id is not a new message.
        t = self.topic()
        sub = self.client()
        sub.subscribe(t, 2)
        r = self.raw(connect=True)
        r.send(publish_pkt(t, b"dup?", qos=2, pid=11))
        self.assertEqual(pid_of(r.expect_packet(PUBREC)), 11)
        r.send(publish_pkt(t, b"dup?", qos=2, pid=11, dup=True))
        self.assertEqual(pid_of(r.expect_packet(PUBREC)), 11)
        r.send(ack_pkt(PUBREL, 11))
        self.assertEqual(pid_of(r.expect_packet(PUBCOMP)), 11)
        sub.wait_messages(1, topic=t)
        self.assertEqual(len(sub.settle(0.3, topic=t)), 1, "QoS 2 message delivered twice")
        # the id is free again after PUBCOMP: a new PUBLISH with it is a new message
        r.send(publish_pkt(t, b"second", qos=2, pid=11))
        r.expect_packet(PUBREC)
        r.send(ack_pkt(PUBREL, 11))
        r.expect_packet(PUBCOMP)
        self.assertEqual(sub.wait_messages(2, topic=t)[1].payload, b"second")

    @iotcloud_only("mosquitto answers it with PUBCOMP")
    def test_pubrel_unknown_id_closes(self):
        # [MQTT-4.8.0-1] a PUBREL for an id awaiting none is a protocol violation (issue
        # #16; test_mqtt311_gaps.py has the other wrong-kind acknowledgements).
        r = self.raw(connect=True)
        r.send(ack_pkt(PUBREL, 999))
        r.expect_closed()

    def test_outbound_handshake(self):
        # [MQTT-4.3.3-1] the server sends PUBLISH QoS 2, then PUBREL after our PUBREC.
        t = self.topic()
        r = self.raw(connect=True)
        self.assertEqual(r.subscribe([(t, 2)]), [2])
        pub = self.client()
        pub.publish(t, b"to raw", 2)
        p = r.read_publish()
        self.assertEqual((p.topic, p.payload, p.qos, p.dup), (t, b"to raw", 2, False))
        self.assertNotEqual(p.pid, 0)
        r.send(ack_pkt(PUBREC, p.pid))
        rel = r.expect_packet(PUBREL)
        self.assertEqual((rel.flags, pid_of(rel)), (0x02, p.pid))  # [MQTT-3.6.1-1]
        r.send(ack_pkt(PUBCOMP, p.pid))
        r.assert_silent(0.3)
        pub.publish(t, b"next", 2)
        p2 = r.read_publish()
        self.assertEqual(p2.payload, b"next")
        r.send(ack_pkt(PUBREC, p2.pid))
        self.assertEqual(pid_of(r.expect_packet(PUBREL)), p2.pid)
        r.send(ack_pkt(PUBCOMP, p2.pid))
        r.ping()

    def test_outbound_pubrel_resent_after_reconnect(self):
        # [MQTT-4.4.0-1] PUBREC received but no PUBCOMP: PUBREL is resent on reconnect.
        t = self.topic()
        cid = "q2-" + self.prefix.rsplit("/", 1)[1]
        r = self.raw(connect=True, client_id=cid, clean=False)
        r.subscribe([(t, 2)])
        self.client().publish(t, b"half", 2)
        p = r.read_publish()
        r.send(ack_pkt(PUBREC, p.pid))
        r.expect_packet(PUBREL)
        r.close()
        r2 = self.raw()
        self.assertEqual(r2.connect(cid, clean=False), (True, 0))
        rel = r2.expect_packet(PUBREL)
        self.assertEqual(pid_of(rel), p.pid)
        r2.send(ack_pkt(PUBCOMP, p.pid))
        r2.assert_silent(0.3)  # the message itself is not resent after PUBREC


if __name__ == "__main__":
    unittest.main()
