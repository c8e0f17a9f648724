"""Last will and testament [MQTT-3.1.2-8..17]."""

import time
import unittest

from harness import BrokerCase, DISCONNECT_PKT, packet


class WillTest(BrokerCase):

    def watcher(self, t, qos=1):
        w = self.client()
        self.assertEqual(w.subscribe(t, qos), [qos])
        return w

    def test_will_on_abrupt_close(self):
        # [MQTT-3.1.2-8] network connection closed without DISCONNECT: will is published.
        t = self.topic("will")
        w = self.watcher(t)
        r = self.raw(connect=True, will=(t, b"bye", 1, False))
        r.close()
        m = w.wait_messages(1, topic=t)[0]
        self.assertEqual((m.payload, m.qos, m.retain), (b"bye", 1, False))

    def test_will_on_tcp_reset(self):
        t = self.topic("will")
        w = self.watcher(t, 2)
        r = self.raw(connect=True, will=(t, b"rst", 2, False))
        r.abort()
        m = w.wait_messages(1, topic=t)[0]
        self.assertEqual((m.payload, m.qos), (b"rst", 2))

    def test_will_on_keepalive_expiry(self):
        # [MQTT-3.1.2-24] silence for 1.5 x keepalive closes the connection -> will.
        t = self.topic("will")
        w = self.watcher(t)
        r = self.raw(connect=True, keepalive=1, will=(t, b"timeout", 1, False))
        start = time.monotonic()
        m = w.wait_messages(1, timeout=4.0, topic=t)[0]
        elapsed = time.monotonic() - start
        self.assertEqual(m.payload, b"timeout")
        self.assertGreaterEqual(elapsed, 0.9, "will sent before the keepalive expired")
        self.assertLessEqual(elapsed, 3.0, "will too late after keepalive expiry")
        r.expect_closed(1.0)

    def test_will_on_protocol_violation(self):
        # The server closes the connection for a protocol error -> will is published.
        t = self.topic("will")
        w = self.watcher(t)
        r = self.raw(connect=True, will=(t, b"violation", 1, False))
        r.send(packet(0x00))  # reserved packet type 0
        r.expect_closed()
        self.assertEqual(w.wait_messages(1, topic=t)[0].payload, b"violation")

    def test_no_will_on_clean_disconnect(self):
        # [MQTT-3.1.2-10] DISCONNECT deletes the will.
        t = self.topic("will")
        w = self.watcher(t)
        r = self.raw(connect=True, will=(t, b"must not", 1, False))
        r.send(DISCONNECT_PKT)
        r.expect_closed()  # [MQTT-3.14.4-1] the server closes after DISCONNECT
        time.sleep(0.3)
        self.client().publish(t, b"marker", 1)
        w.wait_messages(1, topic=t)
        self.assertEqual([m.payload for m in w.settle(0.2, topic=t)], [b"marker"])

    def test_will_retain_honoured(self):
        # [MQTT-3.1.2-17] will retain 1: the will is published as a retained message.
        t = self.topic("will")
        r = self.raw(connect=True, will=(t, b"retained will", 1, True))
        w = self.watcher(t)  # established subscriber: gets RETAIN 0 [MQTT-3.3.1-9]
        r.close()
        m = w.wait_messages(1, topic=t)[0]
        self.assertEqual(m.payload, b"retained will")
        late = self.client()
        late.subscribe(t, 1)
        m = late.wait_messages(1, topic=t)[0]
        self.assertEqual((m.payload, m.retain), (b"retained will", True))

    def test_will_not_retained_when_flag_clear(self):
        t = self.topic("will")
        r = self.raw(connect=True, will=(t, b"plain", 0, False))
        w = self.watcher(t, 0)
        r.close()
        w.wait_messages(1, topic=t)
        late = self.client()
        late.subscribe(t, 1)
        self.client().publish(t, b"live", 1)
        late.wait_messages(1, topic=t)
        self.assertEqual([m.payload for m in late.settle(0.2, topic=t)], [b"live"])


if __name__ == "__main__":
    unittest.main()
