"""Publish/subscribe: QoS downgrade, payloads, ordering, wildcards, SUBACK/UNSUBACK."""

import struct
import unittest

from harness import BrokerCase, MOSQUITTO, UNSUBACK, random_payload, unsubscribe_pkt


class PubSubTest(BrokerCase):

    def check_qos_pair(self, p, s):
        # [MQTT-3.8.4-6] delivered QoS is the minimum of the published and the granted QoS.
        t = self.topic("q%d%d" % (p, s))
        payload = b"qos %d->%d" % (p, s)
        sub = self.client()
        self.assertEqual(sub.subscribe(t, s), [s])
        pub = self.client()
        pub.publish(t, payload, p)
        m = sub.wait_messages(1, topic=t)[0]
        self.assertEqual(m.payload, payload)
        self.assertEqual(m.qos, min(p, s))
        self.assertFalse(m.retain)
        self.assertFalse(m.dup)
        self.assertEqual(len(sub.settle(0.2, topic=t)), 1, "delivered more than once")

    def test_empty_payload(self):
        for q in (0, 1, 2):
            m = self.pubsub_roundtrip(q, 2, payload=b"")
            self.assertEqual(m.payload, b"")
            self.assertEqual(m.qos, q)

    def test_large_payload_200k(self):
        payload = random_payload(200 * 1024, seed=7)
        for q in (0, 1, 2):
            m = self.pubsub_roundtrip(q, q, payload=payload)
            self.assertEqual(len(m.payload), len(payload))
            self.assertEqual(m.payload, payload)

    def check_order(self, qos):
        # [MQTT-4.6.0-5..6] messages from one publisher on one topic keep their order.
        t = self.topic("order")
        sub = self.client()
        sub.subscribe(t, qos)
        pub = self.client()
        for i in range(100):
            pub.publish(t, b"%d" % i, qos, wait=False)
        got = sub.wait_messages(100, timeout=15, topic=t)
        self.assertEqual([int(m.payload) for m in got], list(range(100)))
        self.assertTrue(all(m.qos == qos for m in got))

    def test_order_100_qos1(self):
        self.check_order(1)

    def test_order_100_qos2(self):
        self.check_order(2)

    def test_wildcard_plus(self):
        base = self.prefix
        sub = self.client()
        self.assertEqual(sub.subscribe(base + "/+/temp", 1), [1])
        pub = self.client()
        pub.publish(base + "/room1/temp", b"a", 1)
        pub.publish(base + "/room1/hum", b"no", 1)          # last level differs
        pub.publish(base + "/room1/x/temp", b"no", 1)       # + is exactly one level
        pub.publish(base + "//temp", b"b", 1)               # + matches an empty level
        pub.publish(base + "/room2/temp", b"c", 1)
        sub.wait_messages(3)
        self.assertEqual(sorted(m.payload for m in sub.settle(0.3)), [b"a", b"b", b"c"])

    def test_wildcard_hash(self):
        base = self.prefix
        sub = self.client()
        self.assertEqual(sub.subscribe(base + "/a/#", 2), [2])
        pub = self.client()
        pub.publish(base + "/a", b"parent", 1)     # [MQTT-4.7.1-2] '#' includes the parent
        pub.publish(base + "/a/b", b"child", 1)
        pub.publish(base + "/a/b/c/d", b"deep", 1)
        pub.publish(base + "/b/a", b"no", 1)
        sub.wait_messages(3)
        self.assertEqual(sorted(m.payload for m in sub.settle(0.3)),
                         [b"child", b"deep", b"parent"])

    def test_dollar_topics_not_matched_by_wildcards(self):
        # [MQTT-4.7.2-1] '#' and '+' at the first level do not match topics starting with '$'.
        t = "$it/%s/x" % self.prefix.replace("/", "_")
        hash_sub = self.client()
        hash_sub.subscribe("#", 1)
        plus_sub = self.client()
        plus_sub.subscribe("+/%s/x" % self.prefix.replace("/", "_"), 1)
        exact = self.client()
        exact.subscribe(t, 1)
        pub = self.client()
        pub.publish(t, b"dollar", 1)
        exact.wait_messages(1, topic=t)  # proves the message was routed at all
        hash_sub.assert_no_messages(0.3, topic=t)
        plus_sub.assert_no_messages(0.0, topic=t)

    def test_overlapping_subscriptions_max_qos(self):
        # [MQTT-3.3.5-1] overlapping subscriptions: delivered with the maximum QoS of them.
        base = self.prefix
        t = base + "/x/y"
        sub = self.client()
        self.assertEqual(sub.subscribe([(base + "/x/+", 0), (base + "/#", 2)]), [0, 2])
        pub = self.client()
        pub.publish(t, b"once", 2)
        sub.wait_messages(1, topic=t)
        got = sub.settle(0.3, topic=t)  # give a second copy time to arrive
        self.assertIn(2, [m.qos for m in got])
        if MOSQUITTO:
            self.assertLessEqual(len(got), 2)  # one copy per subscription is allowed too
        else:
            self.assertEqual(len(got), 1, "iotcloud delivers overlapping matches once")

    def test_suback_return_codes(self):
        # [MQTT-3.8.4-5] one return code per filter, in order; we grant what is asked.
        r = self.raw(connect=True)
        codes = r.subscribe([(self.topic("a"), 0), (self.topic("b"), 1), (self.topic("c"), 2),
                             (self.prefix + "/+/d/#", 1)], pid=0x1234)
        self.assertEqual(codes, [0, 1, 2, 1])

    def test_resubscribe_replaces_qos(self):
        # [MQTT-3.8.4-3] a second SUBSCRIBE of the same filter replaces the first.
        t = self.topic()
        sub = self.client()
        sub.subscribe(t, 2)
        self.assertEqual(sub.subscribe(t, 0), [0])
        self.client().publish(t, b"x", 2)
        sub.wait_messages(1, topic=t)
        self.assertEqual([m.qos for m in sub.settle(0.2)], [0])

    def test_unsubscribe_stops_delivery(self):
        t = self.topic()
        sub = self.client()
        sub.subscribe(t, 1)
        pub = self.client()
        pub.publish(t, b"before", 1)
        sub.wait_messages(1, topic=t)
        sub.unsubscribe(t)
        pub.publish(t, b"after", 1)
        # control subscriber proves "after" was routed before we check its absence
        ctl = self.client()
        ctl.subscribe(t, 1)
        pub.publish(t, b"after2", 1)
        ctl.wait_messages(1, topic=t)
        self.assertEqual([m.payload for m in sub.settle(0.2)], [b"before"])

    def test_unsuback_packet_id(self):
        # [MQTT-3.10.4-4] UNSUBACK echoes the packet id, also for a filter never subscribed.
        r = self.raw(connect=True)
        r.subscribe([(self.topic(), 1)], pid=7)
        r.send(unsubscribe_pkt(0xBEEF, [self.topic(), self.topic("never")]))
        pkt = r.expect_packet(UNSUBACK)
        self.assertEqual(pkt.flags, 0)
        self.assertEqual(struct.unpack("!H", pkt.body)[0], 0xBEEF)

    def test_self_delivery(self):
        # MQTT 3.1.1 has no "no local": a client receives its own publication.
        t = self.topic()
        c = self.client()
        c.subscribe(t, 1)
        c.publish(t, b"me", 1)
        self.assertEqual(c.wait_messages(1, topic=t)[0].payload, b"me")


def _add_qos_matrix():
    for p in (0, 1, 2):
        for s in (0, 1, 2):
            def test(self, p=p, s=s):
                self.check_qos_pair(p, s)
            test.__name__ = "test_publish_qos%d_subscribe_qos%d" % (p, s)
            setattr(PubSubTest, test.__name__, test)


_add_qos_matrix()

if __name__ == "__main__":
    unittest.main()
