"""Retained messages [MQTT-3.3.1-5..11]."""

import unittest

from harness import BrokerCase


class RetainedTest(BrokerCase):

    def test_delivered_on_subscribe_with_retain_flag(self):
        # [MQTT-3.3.1-6] a new subscription gets the retained message, RETAIN set [MQTT-3.3.1-8].
        t = self.topic()
        self.client().publish(t, b"kept", 1, retain=True)
        sub = self.client()
        sub.subscribe(t, 1)
        m = sub.wait_messages(1, topic=t)[0]
        self.assertEqual((m.payload, m.qos, m.retain), (b"kept", 1, True))

    def test_retained_qos_is_downgraded_to_subscription(self):
        t = self.topic()
        self.client().publish(t, b"q2", 2, retain=True)
        for q in (0, 1, 2):
            sub = self.client()
            sub.subscribe(t, q)
            m = sub.wait_messages(1, topic=t)[0]
            self.assertEqual((m.payload, m.qos, m.retain), (b"q2", q, True))

    def test_wildcard_subscription_gets_all_matching_retained(self):
        pub = self.client()
        pub.publish(self.topic("a/x"), b"1", 1, retain=True)
        pub.publish(self.topic("b/x"), b"2", 1, retain=True)
        pub.publish(self.topic("b/y"), b"no", 1, retain=True)
        sub = self.client()
        sub.subscribe(self.prefix + "/+/x", 1)
        sub.wait_messages(2)
        got = sub.settle(0.3)
        self.assertEqual(sorted((m.topic, m.payload, m.retain) for m in got),
                         [(self.topic("a/x"), b"1", True), (self.topic("b/x"), b"2", True)])

    def test_retained_replaced(self):
        # [MQTT-3.3.1-5] a new retained message replaces the previous one.
        t = self.topic()
        pub = self.client()
        pub.publish(t, b"old", 1, retain=True)
        pub.publish(t, b"new", 1, retain=True)
        sub = self.client()
        sub.subscribe(t, 1)
        sub.wait_messages(1, topic=t)
        self.assertEqual([m.payload for m in sub.settle(0.3)], [b"new"])

    def test_non_retained_publish_keeps_retained(self):
        t = self.topic()
        pub = self.client()
        pub.publish(t, b"kept", 1, retain=True)
        pub.publish(t, b"transient", 1, retain=False)
        sub = self.client()
        sub.subscribe(t, 1)
        sub.wait_messages(1, topic=t)
        self.assertEqual([(m.payload, m.retain) for m in sub.settle(0.3)], [(b"kept", True)])

    def test_empty_retained_deletes(self):
        # [MQTT-3.3.1-10] zero-byte retained PUBLISH: delivered as normal, removes the retained
        # message [MQTT-3.3.1-11] and is itself not stored.
        t = self.topic()
        pub = self.client()
        pub.publish(t, b"gone soon", 1, retain=True)
        existing = self.client()
        existing.subscribe(t, 1)
        existing.wait_messages(1, topic=t)
        pub.publish(t, b"", 1, retain=True)
        got = existing.wait_messages(2, topic=t)
        self.assertEqual(got[1].payload, b"")
        self.assertFalse(got[1].retain)
        late = self.client()
        late.subscribe(t, 1)
        # proof of routing: a live message reaches the late subscriber, with nothing before it
        pub.publish(t, b"live", 1)
        got = late.wait_messages(1, topic=t)
        self.assertEqual([(m.payload, m.retain) for m in late.settle(0.2)], [(b"live", False)])

    def test_normal_delivery_has_retain_0(self):
        # [MQTT-3.3.1-9] an established subscription gets RETAIN=0 even for a retained PUBLISH.
        t = self.topic()
        sub = self.client()
        sub.subscribe(t, 1)
        self.client().publish(t, b"r", 1, retain=True)
        m = sub.wait_messages(1, topic=t)[0]
        self.assertEqual(m.payload, b"r")
        self.assertFalse(m.retain)

    def test_retained_qos0_message_is_stored(self):
        # [MQTT-3.3.1-7] a QoS 0 retained message replaces any retained message.
        t = self.topic()
        pub = self.client()
        pub.publish(t, b"q1", 1, retain=True)
        pub.publish(t, b"q0", 0, retain=True)
        pub.publish(self.topic("sync"), b"", 1)  # QoS 1 after it: the QoS 0 one was read
        sub = self.client()
        sub.subscribe(t, 1)
        sub.wait_messages(1, topic=t)
        self.assertEqual([(m.payload, m.qos) for m in sub.settle(0.2)], [(b"q0", 0)])


if __name__ == "__main__":
    unittest.main()
