"""Flow-control limits: --max-inflight and --max-queued."""

import threading
import time
import unittest

from harness import (BrokerCase, DISCONNECT_PKT, PUBACK, PUBLISH, ack_pkt, parse_publish,
                     publish_pkt, uniq)


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


class BackPressureTest(BrokerCase):
    """A subscriber slower than its publisher paces the publisher instead of losing
    QoS 1 messages the broker already acknowledged (docs/mqtt-behaviour.md)."""
    broker_args = ["--max-inflight", "4", "--max-queued", "20"]

    def test_slow_online_subscriber_loses_nothing(self):
        t = self.topic()
        sub = self.raw(connect=True)
        sub.subscribe([(t, 1)])
        pub = self.raw(connect=True)
        n = 2000  # 100x the queue: without back-pressure most would be dropped
        pub.send(b"".join(publish_pkt(t, b"%d" % i, 1, pid=i + 1) for i in range(n)))
        for i in range(n):
            p = sub.read_publish()
            self.assertEqual(p.payload, b"%d" % i, "message %d lost or out of order" % i)
            sub.send(ack_pkt(PUBACK, p.pid))
        acks = [pub.expect_packet(PUBACK) for _ in range(n)]
        self.assertEqual(len(acks), n)

    def test_clients_publishing_to_each_other_do_not_stall(self):
        # X floods Y's topic and Y floods X's. Were a waiting publisher's reading paused
        # while its own session waits for its acknowledgements, the two would hold each
        # other until the broker gave up on them as stuck (1 s, then drops).
        t = self.topic()
        x = self.raw(connect=True)
        y = self.raw(connect=True)
        x.subscribe([(t + "/x", 1)])
        y.subscribe([(t + "/y", 1)])
        n = 60  # within the hard cap (4 x max-queued) of a queue nobody waits for
        x.send(b"".join(publish_pkt(t + "/y", b"%d" % i, 1, pid=i + 1) for i in range(n)))
        y.send(b"".join(publish_pkt(t + "/x", b"%d" % i, 1, pid=i + 1) for i in range(n)))
        got = {"x": [], "y": []}

        def drain(name, r):
            while len(got[name]) < n:
                pkt = r.read_packet(timeout=3)
                if pkt.type == PUBLISH:
                    p = parse_publish(pkt)
                    got[name].append(p.payload)
                    r.send(ack_pkt(PUBACK, p.pid))

        start = time.monotonic()
        threads = [threading.Thread(target=drain, args=a) for a in (("x", x), ("y", y))]
        for th in threads:
            th.start()
        for th in threads:
            th.join(10)
        elapsed = time.monotonic() - start
        for name in ("x", "y"):
            self.assertEqual(got[name], [b"%d" % i for i in range(n)], name)
        self.assertLess(elapsed, 0.9, "the two clients stalled each other")
        self.assertNotIn("made no progress", self.broker.stderr_text())

    def test_stuck_subscriber_does_not_stall_publishers(self):
        t = self.topic()
        stuck = self.raw(connect=True)
        stuck.subscribe([(t + "/stuck", 1)])  # reads nothing, acks nothing
        other = self.client()
        other.subscribe(t + "/live", 1)
        pub = self.raw(connect=True)
        pub.send(b"".join(publish_pkt(t + "/stuck", b"x" * 100, 1, pid=i + 1)
                          for i in range(500)))
        pub.send(publish_pkt(t + "/live", b"alive", 1, pid=1000))
        # The publisher waits at most about a second for the stuck session, then the
        # broker gives up on it (its oldest messages are dropped) and moves on.
        self.assertEqual(other.wait_messages(1, timeout=5, topic=t + "/live")[0].payload,
                         b"alive")


if __name__ == "__main__":
    unittest.main()
