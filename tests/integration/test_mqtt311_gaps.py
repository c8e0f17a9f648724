"""MQTT 3.1.1 gaps found by third-party conformance suites (issue #16 section 1): packet
ids of a fresh session start at 1, acknowledgements of the wrong kind close the connection
[MQTT-4.8.0-1], and a zero-length user name is anonymous under allow-anonymous."""

import struct
import unittest

from device_harness import Api, DeviceServer, mqtt_client, uname
from harness import (BrokerCase, PUBACK, PUBCOMP, PUBREC, PUBREL, ack_pkt, iotcloud_only,
                     publish_pkt)


def pid_of(pkt):
    return struct.unpack("!H", pkt.body)[0]


class PacketIdTest(BrokerCase):

    def _first_ids(self, qos, retained_first):
        t = self.topic()
        pub = self.client()
        if retained_first:
            pub.publish(t, b"kept", 1, retain=True)
        r = self.raw(connect=True)
        self.assertEqual(r.subscribe([(t, qos)]), [qos])
        ids = []
        if retained_first:
            ids.append(r.read_publish().pid)
        for i in range(3 - len(ids)):
            pub.publish(t, b"m%d" % i, qos)
            p = r.read_publish()
            ids.append(p.pid)
            if qos == 1:
                r.send(ack_pkt(PUBACK, p.pid))
            else:
                r.send(ack_pkt(PUBREC, p.pid))
                self.assertEqual(pid_of(r.expect_packet(PUBREL)), p.pid)
                r.send(ack_pkt(PUBCOMP, p.pid))
        return ids

    def test_fresh_session_ids_start_at_one_qos1(self):
        self.assertEqual(self._first_ids(1, False), [1, 2, 3])

    def test_fresh_session_ids_start_at_one_qos2(self):
        self.assertEqual(self._first_ids(2, False), [1, 2, 3])

    def test_one_fresh_session_after_another_starts_at_one(self):
        # The bug behind the issue: a new session's inflight array came from memory a
        # closed session had freed, and the id search saw the old id 1 in the slot being
        # filled. It shows only after sessions have come and gone, so do that 15 times.
        pub = self.client()
        for k in range(15):
            t = self.topic("s%d" % k)
            r = self.raw(connect=True)
            r.subscribe([(t, 1)])
            pub.publish(t, b"m", 1)
            self.assertEqual(r.read_publish().pid, 1, "session %d" % k)
            r.close()

    def test_retained_on_subscribe_takes_id_one(self):
        self.assertEqual(self._first_ids(1, True), [1, 2, 3])

    def test_persistent_session_first_id_is_one(self):
        t = self.topic()
        cid = "pid-" + self.prefix.replace("/", "-")
        r = self.raw()
        self.assertEqual(r.connect(client_id=cid, clean=False)[1], 0)
        r.subscribe([(t, 1)])
        r.close()
        pub = self.client()
        pub.publish(t, b"queued", 1)
        r2 = self.raw()
        self.assertEqual(r2.connect(client_id=cid, clean=False)[1], 0)
        self.assertEqual(r2.read_publish().pid, 1)

    def _takeover_first_id(self, first_clean):
        t = self.topic()
        cid = "tk-" + self.prefix.replace("/", "-")
        pub = self.client()
        r = self.raw()
        self.assertEqual(r.connect(client_id=cid, clean=first_clean)[1], 0)
        r.subscribe([(t, 1)])
        for i in range(3):
            pub.publish(t, b"old%d" % i, 1)
            r.send(ack_pkt(PUBACK, r.read_publish().pid))
        r2 = self.raw()  # takes the id over with a new (clean) session
        self.assertEqual(r2.connect(client_id=cid, clean=True)[1], 0)
        r2.subscribe([(t, 1)])
        pub.publish(t, b"new", 1)
        p = r2.read_publish()
        self.assertEqual((p.payload, p.pid), (b"new", 1))

    def test_clean_takeover_of_clean_session_starts_at_one(self):
        self._takeover_first_id(True)

    def test_clean_takeover_of_persistent_session_starts_at_one(self):
        self._takeover_first_id(False)


@iotcloud_only("wrong-kind acknowledgements close the connection (mosquitto ignores them)")
class WrongAckTest(BrokerCase):
    """[MQTT-4.8.0-1] a PUBREC/PUBCOMP for a QoS 1 message, a PUBACK for a QoS 2 message and
    a PUBREL for an id not awaiting one are protocol violations: the connection closes."""

    def _receiver(self, qos):
        t = self.topic()
        r = self.raw(connect=True)
        r.subscribe([(t, qos)])
        self.client().publish(t, b"x", qos)
        return r, r.read_publish()

    def test_pubrec_for_qos1(self):
        r, p = self._receiver(1)
        r.send(ack_pkt(PUBREC, p.pid))
        r.expect_closed()

    def test_pubcomp_for_qos1(self):
        r, p = self._receiver(1)
        r.send(ack_pkt(PUBCOMP, p.pid))
        r.expect_closed()

    def test_puback_for_qos2(self):
        r, p = self._receiver(2)
        r.send(ack_pkt(PUBACK, p.pid))
        r.expect_closed()

    def test_puback_after_pubrec_for_qos2(self):
        r, p = self._receiver(2)
        r.send(ack_pkt(PUBREC, p.pid))
        r.expect_packet(PUBREL)
        r.send(ack_pkt(PUBACK, p.pid))
        r.expect_closed()

    def test_pubcomp_before_pubrel(self):
        r, p = self._receiver(2)
        r.send(ack_pkt(PUBCOMP, p.pid))
        r.expect_closed()

    def test_pubrel_for_id_not_awaiting(self):
        r = self.raw(connect=True)
        r.send(ack_pkt(PUBREL, 999))
        r.expect_closed()

    def test_pubrel_resent_on_resumed_session_gets_pubcomp(self):
        # The PUBCOMP of a completed id was lost with the connection: the client resends
        # the PUBREL after it resumes [MQTT-4.4.0-1]; it is answered, not a violation.
        cid = "rel-" + self.prefix.replace("/", "-")
        r = self.raw()
        self.assertEqual(r.connect(client_id=cid, clean=False)[1], 0)
        r.send(publish_pkt(self.topic(), b"q2", qos=2, pid=5))
        r.expect_packet(PUBREC)
        r.send(ack_pkt(PUBREL, 5))
        r.expect_packet(PUBCOMP)
        r.close()
        r2 = self.raw()
        self.assertEqual(r2.connect(client_id=cid, clean=False), (True, 0))
        r2.send(ack_pkt(PUBREL, 5))
        self.assertEqual(pid_of(r2.expect_packet(PUBCOMP)), 5)
        r2.ping()

    def test_pubrel_after_pubcomp(self):
        r = self.raw(connect=True)
        r.send(publish_pkt(self.topic(), b"q2", qos=2, pid=7))
        self.assertEqual(pid_of(r.expect_packet(PUBREC)), 7)
        r.send(ack_pkt(PUBREL, 7))
        self.assertEqual(pid_of(r.expect_packet(PUBCOMP)), 7)
        r.send(ack_pkt(PUBREL, 7))
        r.expect_closed()

    def test_right_acks_keep_connection(self):
        r, p = self._receiver(1)
        r.send(ack_pkt(PUBACK, p.pid))
        r, p = self._receiver(2)
        r.send(ack_pkt(PUBREC, p.pid))
        r.expect_packet(PUBREL)
        r.send(ack_pkt(PUBREC, p.pid))  # a repeated PUBREC is answered again
        r.expect_packet(PUBREL)
        r.send(ack_pkt(PUBCOMP, p.pid))
        r.ping()

    def test_ack_for_unknown_id_is_ignored(self):
        # Not in flight at all (e.g. acknowledged twice): ignored, as documented.
        r = self.raw(connect=True)
        r.send(ack_pkt(PUBACK, 4242))
        r.send(ack_pkt(PUBCOMP, 4243))
        r.ping()


class EmptyUserNameTest(BrokerCase):
    """allow-anonymous true: a zero-length user name is anonymous."""

    def test_empty_username_is_anonymous(self):
        r = self.raw()
        self.assertEqual(r.connect(username="")[1], 0)
        r.ping()

    def test_empty_username_with_password_is_anonymous(self):
        r = self.raw()
        self.assertEqual(r.connect(username="", password=b"whatever")[1], 0)
        r.ping()


@iotcloud_only("accounts")
class AnonymousWithAccountsTest(unittest.TestCase):
    """allow-anonymous true on a server with accounts: a zero-length user name is anonymous,
    a user name that exists still needs its right credential (never anonymous instead)."""

    @classmethod
    def setUpClass(cls):
        cls.srv = DeviceServer(allow_anonymous=True)
        cls.user = uname("anon")
        cls.srv.add_user(cls.user)
        cls.srv.start()
        cls.token = Api(cls.srv).login(cls.user)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.assert_running()

    def rc(self, username, password):
        c = mqtt_client(self.srv, uname("c"), username=username, password=password)
        self.clients.append(c)
        return c.connect()[0]

    def test_empty_username_is_anonymous(self):
        self.assertEqual(self.rc("", None), 0)
        self.assertEqual(self.rc("", "ignored"), 0)

    def test_wrong_password_is_refused_not_anonymous(self):
        self.assertEqual(self.rc(self.user, "not-the-token"), 4)

    def test_unknown_user_is_refused(self):
        self.assertEqual(self.rc(uname("nobody"), "x"), 4)

    def test_right_token_is_accepted(self):
        self.assertEqual(self.rc(self.user, self.token), 0)


if __name__ == "__main__":
    unittest.main()
