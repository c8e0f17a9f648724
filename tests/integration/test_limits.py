"""Flow-control limits: --max-inflight and --max-queued."""

import unittest

from harness import BrokerCase, DISCONNECT_PKT, PUBACK, ack_pkt, uniq


class LimitsTest(BrokerCase):
    broker_args = ["--max-inflight", "2", "--max-queued", "5"]

    def test_max_inflight_holds_back_until_ack(self):
        t = self.topic()
        r = self.raw(connect=True)
        self.assertEqual(r.subscribe([(t, 1)]), [1])
        pub = self.client()
        for i in range(5):
            pub.publish(t, b"m%d" % i, 1)  # the broker acks the publisher regardless
        first = r.read_publish()
        second = r.read_publish()
        self.assertEqual([first.payload, second.payload], [b"m0", b"m1"])
        r.assert_silent(0.5)  # a third would exceed --max-inflight 2
        r.send(ack_pkt(PUBACK, first.pid))
        third = r.read_publish()
        self.assertEqual(third.payload, b"m2")
        r.assert_silent(0.3)
        r.send(ack_pkt(PUBACK, second.pid) + ack_pkt(PUBACK, third.pid))
        rest = [r.read_publish() for _ in range(2)]
        self.assertEqual([p.payload for p in rest], [b"m3", b"m4"])
        for p in rest:
            r.send(ack_pkt(PUBACK, p.pid))
        r.assert_silent(0.2)

    def test_max_inflight_does_not_limit_qos0(self):
        t = self.topic()
        r = self.raw(connect=True)
        r.subscribe([(t, 0)])
        pub = self.client()
        for i in range(6):
            pub.publish(t, b"z%d" % i, 1)
        got = [r.read_publish() for _ in range(6)]
        self.assertEqual([(p.payload, p.qos) for p in got], [(b"z%d" % i, 0) for i in range(6)])

    def test_max_queued_drops_oldest(self):
        t = self.topic()
        cid = uniq("queued")
        r = self.raw(connect=True, client_id=cid, clean=False)
        r.subscribe([(t, 1)])
        r.send(DISCONNECT_PKT)
        r.expect_closed()
        pub = self.client()
        for i in range(10):
            pub.publish(t, b"q%d" % i, 1)
        c = self.client(connect=False, client_id=cid, clean_session=False)
        self.assertEqual(c.connect(), (0, True))
        c.wait_messages(5, topic=t)
        got = c.settle(0.5, topic=t)
        self.assertEqual([m.payload for m in got], [b"q%d" % i for i in range(5, 10)],
                         "expected the newest 5 of 10 queued messages")


if __name__ == "__main__":
    unittest.main()
