"""MQTT 5.0: the server says why it ends a connection it closes on its own (issue #16).

A keep-alive expiry is DISCONNECT 0x8D and a SIGTERM shutdown DISCONNECT 0x8B (4.13,
3.14.2.1), written before the close; a 3.1.1 connection is only closed, as before.
"""

import signal
import unittest

from harness import Broker, BrokerCase, RawClient, iotcloud_only, uniq
from mqtt5_wire import Raw5, prop, REASON_STRING

KEEP_ALIVE_TIMEOUT = 0x8D
SERVER_SHUTTING_DOWN = 0x8B


def raw5(port, keepalive=60):
    c = Raw5(port)
    _, reason, props = c.connect5(uniq("sd"), keepalive=keepalive)
    assert reason == 0, props
    return c


@iotcloud_only("iotcloud's server DISCONNECT")
class TestKeepAliveTimeout(BrokerCase):
    def test_v5_gets_disconnect_0x8d(self):
        c = raw5(self.broker.port, keepalive=1)
        self._clients.append(c)
        # [MQTT-3.1.2-22] 1.5 s without a packet: DISCONNECT 0x8D, then the close
        reason, props = c.expect_disconnect(timeout=5.0)
        self.assertEqual(reason, KEEP_ALIVE_TIMEOUT)
        self.assertEqual(prop(props, REASON_STRING), "keep alive timeout")

    def test_v311_is_only_closed(self):
        c = RawClient(self.broker.port)
        self._clients.append(c)
        c.connect(uniq("sd3"), keepalive=1)
        self.assertEqual(c.expect_closed(timeout=5.0), b"")


@iotcloud_only("iotcloud's server DISCONNECT")
class TestShutdown(unittest.TestCase):
    def test_sigterm_sends_disconnect_0x8b(self):
        b = Broker().start()
        self.addCleanup(b.kill9)
        v5 = raw5(b.port)
        v3 = RawClient(b.port)
        v3.connect(uniq("sd3"))
        self.assertEqual(b.signal_and_wait(signal.SIGTERM), 0)
        reason, props = v5.expect_disconnect(timeout=5.0)
        self.assertEqual(reason, SERVER_SHUTTING_DOWN)
        self.assertEqual(prop(props, REASON_STRING), "server shutting down")
        self.assertEqual(v3.expect_closed(timeout=5.0), b"")
        b.cleanup()


if __name__ == "__main__":
    unittest.main()
