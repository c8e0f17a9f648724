"""Keep alive [MQTT-3.1.2-22..24], PINGREQ/PINGRESP [MQTT-3.12.4-1]."""

import time
import unittest

from harness import BrokerCase, PINGREQ_PKT


class KeepaliveTest(BrokerCase):

    def test_pingreq_pingresp(self):
        r = self.raw(connect=True)
        for _ in range(3):
            r.ping()

    def test_pingresp_is_exactly_two_bytes(self):
        r = self.raw(connect=True)
        r.send(PINGREQ_PKT + PINGREQ_PKT)  # two in one segment: two answers
        self.assertEqual(r.recv_exact(4), b"\xd0\x00\xd0\x00")
        r.assert_silent(0.2)

    def test_silence_closes_after_one_and_a_half_keepalive(self):
        # [MQTT-3.1.2-24] nothing received within 1.5 x keepalive: disconnect.
        r = self.raw(connect=True, keepalive=1)
        start = time.monotonic()
        r.expect_closed(3.0)
        self.assertGreaterEqual(time.monotonic() - start, 0.9, "closed before keepalive expired")

    def test_pings_keep_connection_alive(self):
        r = self.raw(connect=True, keepalive=1)
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            r.ping()
            time.sleep(0.5)  # pacing: stays well inside the 1.5 s window
        r.ping()

    def test_keepalive_zero_disables(self):
        r = self.raw(connect=True, keepalive=0)
        r.assert_silent(2.0)  # longer than a 1 s keepalive would allow
        r.ping()


if __name__ == "__main__":
    unittest.main()
