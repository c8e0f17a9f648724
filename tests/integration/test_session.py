"""Persistent sessions, session takeover and client identifiers."""

import unittest

from harness import (BrokerCase, DISCONNECT_PKT, PUBACK, ack_pkt, connect_pkt, uniq)


class SessionTest(BrokerCase):

    def offline_subscriber(self, t, qos=2):
        """A persistent session subscribed to @t that is now offline; returns its id."""
        cid = uniq("persist")
        c = self.client(client_id=cid, clean_session=False)
        self.assertEqual(c.subscribe(t, qos), [qos])
        c.disconnect()
        return cid

    def test_session_present_flag(self):
        cid = uniq("sp")
        r = self.raw()
        # [MQTT-3.2.2-3] no stored session yet: session present 0
        self.assertEqual(r.connect(cid, clean=False), (False, 0))
        r.send(DISCONNECT_PKT)
        r.expect_closed()
        r = self.raw()
        # [MQTT-3.2.2-2] resumed session: session present 1
        self.assertEqual(r.connect(cid, clean=False), (True, 0))
        r.send(DISCONNECT_PKT)

    def test_clean_session_discards_state(self):
        t = self.topic()
        cid = self.offline_subscriber(t, 1)
        c = self.client(connect=False, client_id=cid, clean_session=True)
        rc, sp = c.connect()
        self.assertEqual((rc, sp), (0, False))  # [MQTT-3.2.2-1]
        self.client().publish(t, b"x", 1)
        c.assert_no_messages(0.3, topic=t)  # the old subscription is gone [MQTT-3.1.2-6]
        c.disconnect()
        # the clean session ended with the connection: nothing to resume either
        c2 = self.client(connect=False, client_id=cid, clean_session=False)
        self.assertEqual(c2.connect(), (0, False))

    def test_offline_qos1_qos2_delivered_on_reconnect(self):
        # [MQTT-3.1.2-5] QoS 1 and 2 messages for an offline persistent session are stored.
        t = self.topic()
        cid = self.offline_subscriber(t, 2)
        pub = self.client()
        pub.publish(t, b"one", 1)
        pub.publish(t, b"two", 2)
        c = self.client(connect=False, client_id=cid, clean_session=False)
        self.assertEqual(c.connect(), (0, True))
        got = c.wait_messages(2, topic=t)
        self.assertEqual([(m.payload, m.qos) for m in got], [(b"one", 1), (b"two", 2)])
        self.assertEqual(len(c.settle(0.2, topic=t)), 2)

    def test_subscriptions_survive_reconnect(self):
        t = self.topic()
        cid = self.offline_subscriber(t, 1)
        c = self.client(connect=False, client_id=cid, clean_session=False)
        self.assertEqual(c.connect(), (0, True))
        self.client().publish(t, b"live", 1)  # no new SUBSCRIBE was sent
        m = c.wait_messages(1, topic=t)[0]
        self.assertEqual((m.payload, m.qos), (b"live", 1))

    def test_unacked_qos1_resent_with_dup(self):
        # [MQTT-4.4.0-1] on reconnect with a session, unacknowledged PUBLISHes are resent
        # with DUP=1 [MQTT-3.3.1-1] and the same packet id.
        t = self.topic()
        cid = uniq("dup")
        r = self.raw(connect=True, client_id=cid, clean=False)
        self.assertEqual(r.subscribe([(t, 1)]), [1])
        self.client().publish(t, b"ack me", 1)
        first = r.read_publish()
        self.assertEqual((first.payload, first.qos, first.dup), (b"ack me", 1, False))
        r.close()  # no PUBACK
        r2 = self.raw()
        self.assertEqual(r2.connect(cid, clean=False), (True, 0))
        again = r2.read_publish()
        self.assertEqual((again.topic, again.payload, again.qos), (t, b"ack me", 1))
        self.assertTrue(again.dup, "resent PUBLISH must have DUP=1")
        self.assertEqual(again.pid, first.pid)
        r2.send(ack_pkt(PUBACK, again.pid))
        r2.assert_silent(0.3)  # acknowledged: not sent a third time
        r2.send(DISCONNECT_PKT)

    def test_takeover_closes_first_connection(self):
        # [MQTT-3.1.4-2] a second CONNECT with the same client id disconnects the first.
        cid = uniq("take")
        a = self.raw(connect=True, client_id=cid)
        b = self.raw()
        self.assertEqual(b.connect(cid), (False, 0))
        a.expect_closed()
        b.ping()  # the new connection is the one that lives

    def test_takeover_keeps_persistent_session(self):
        t = self.topic()
        cid = uniq("take")
        a = self.client(client_id=cid, clean_session=False)
        a.subscribe(t, 1)
        b = self.client(connect=False, client_id=cid, clean_session=False)
        self.assertEqual(b.connect(), (0, True))
        a.wait_disconnected()
        self.client().publish(t, b"to b", 1)
        self.assertEqual(b.wait_messages(1, topic=t)[0].payload, b"to b")

    def test_empty_client_id_clean_session_accepted(self):
        # [MQTT-3.1.3-6] zero-length id with clean session 1: the server assigns one.
        a = self.raw()
        self.assertEqual(a.connect(""), (False, 0))
        b = self.raw()
        self.assertEqual(b.connect(""), (False, 0))
        a.ping()  # two anonymous-id clients coexist (distinct assigned ids)
        b.ping()
        t = self.topic()
        a.subscribe([(t, 0)])
        self.client().publish(t, b"hi", 1)
        self.assertEqual(a.read_publish().payload, b"hi")

    def test_empty_client_id_persistent_rejected(self):
        # [MQTT-3.1.3-8] zero-length id with clean session 0: CONNACK 0x02 then close.
        r = self.raw()
        r.send(connect_pkt("", clean=False))
        data = r.expect_closed()
        self.assertEqual(data, b"\x20\x02\x00\x02")


if __name__ == "__main__":
    unittest.main()
