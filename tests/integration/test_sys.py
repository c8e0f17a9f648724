"""$SYS/broker/... (issue #16 section 5): the broker's counters as retained messages in
the mosquitto naming, every sys-interval seconds; administrators only (and anonymous
clients, which have no policy at all, under allow-anonymous); '#' does not match them
[MQTT-4.7.2-1]; no client publishes under $SYS."""

import time
import unittest

from device_harness import Api, DeviceServer, mqtt_client, uname
from harness import BrokerCase, iotcloud_only

SUBACK_FAIL = 0x80

TOPICS = ["version", "uptime", "clients/connected", "clients/disconnected", "clients/total",
          "messages/received", "messages/sent", "bytes/received", "bytes/sent",
          "subscriptions/count", "retained messages/count"] + [
    "load/%s/%s/%dmin" % (k, d, m) for k in ("messages", "bytes")
    for d in ("received", "sent") for m in (1, 5, 15)]


def values(msgs):
    return {m.topic[len("$SYS/broker/"):]: m.payload.decode() for m in msgs}


@iotcloud_only("our $SYS set and interval option")
class SysTest(BrokerCase):
    broker_args = ("--sys-interval", "1")

    def latest(self, c, name, pred, timeout=5.0):
        """Waits until $SYS/broker/@name satisfies @pred; returns its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with c.cond:
                got = [m.payload.decode() for m in c.messages
                       if m.topic == "$SYS/broker/" + name]
            if got and pred(got[-1]):
                return got[-1]
            time.sleep(0.05)
        raise AssertionError("$SYS/broker/%s never satisfied the check (seen %r)" % (name, got))

    def test_every_topic_is_published_retained(self):
        c = self.client()
        c.subscribe("$SYS/broker/#", 0)
        msgs = c.wait_messages(len(TOPICS))
        v = values(msgs)
        self.assertEqual(sorted(v), sorted(TOPICS))
        self.assertTrue(all(m.retain for m in msgs[:len(TOPICS)]), "retained on subscribe")
        self.assertTrue(v["version"].startswith("iotcloud version "))
        self.assertRegex(v["uptime"], r"^\d+ seconds$")
        for k in TOPICS[2:11]:
            self.assertRegex(v[k], r"^\d+$", k)
        for k in TOPICS[11:]:
            self.assertRegex(v[k], r"^\d+\.\d\d$", k)

    def test_counters_follow_the_traffic(self):
        mon = self.client()
        mon.subscribe("$SYS/broker/#", 0)
        mon.wait_messages(len(TOPICS))
        before = int(self.latest(mon, "messages/received", lambda v: True))
        t = self.topic()
        sub = self.client()
        sub.subscribe(t, 1)
        pub = self.client()
        for i in range(20):
            pub.publish(t, b"x" * 100, 1)
        sub.wait_messages(20, topic=t)
        self.latest(mon, "messages/received", lambda v: int(v) >= before + 20)
        self.latest(mon, "clients/connected", lambda v: int(v) >= 3)
        self.latest(mon, "bytes/received", lambda v: int(v) >= 20 * 100)
        self.latest(mon, "bytes/sent", lambda v: int(v) >= 20 * 100)
        self.latest(mon, "subscriptions/count", lambda v: int(v) >= 2)
        self.latest(mon, "load/messages/received/1min", lambda v: float(v) > 0)

    def test_persistent_offline_session_counts_as_disconnected(self):
        mon = self.client()
        mon.subscribe("$SYS/broker/clients/disconnected", 0)
        base = int(self.latest(mon, "clients/disconnected", lambda v: True))
        p = self.client(client_id=self.prefix.replace("/", "-"), clean_session=False)
        p.subscribe(self.topic(), 1)
        p.disconnect()
        self.latest(mon, "clients/disconnected", lambda v: int(v) == base + 1)

    def test_hash_does_not_match_sys(self):
        # [MQTT-4.7.2-1] a filter starting with a wildcard matches no '$' topic
        c = self.client()
        c.subscribe("#", 0)
        c.subscribe("+/broker/#", 0)
        time.sleep(1.5)  # more than one sys-interval
        self.assertEqual([m.topic for m in c.settle(0.0) if m.topic.startswith("$SYS")], [])

    def test_clients_may_not_publish_under_sys(self):
        c = self.client()
        c.subscribe("$SYS/broker/version", 0)
        real = c.wait_messages(1)[0].payload
        self.client().publish("$SYS/broker/version", b"forged", 1, retain=True)
        self.client().publish("$SYS/mine", b"forged", 1)
        late = self.client()
        late.subscribe("$SYS/#", 0)
        late.wait_messages(len(TOPICS))
        self.assertEqual(values(late.settle(0.2))["version"], real.decode())
        self.assertNotIn("$SYS/mine", [m.topic for m in late.settle(0.0)])
        self.assertNotIn(b"forged", [m.payload for m in c.settle(0.0)])


@iotcloud_only("sys-interval option")
class SysOffTest(BrokerCase):
    broker_args = ("--sys-interval", "0")

    def test_nothing_published(self):
        c = self.client()
        c.subscribe("$SYS/#", 0)
        c.assert_no_messages(1.5)


@iotcloud_only("accounts")
class SysAdminOnlyTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = DeviceServer(extra_args=("--sys-interval", "1"))
        cls.admin, cls.user = uname("adm"), uname("usr")
        cls.srv.add_user(cls.admin, admin=True)
        cls.srv.add_user(cls.user)
        cls.srv.start()
        api = Api(cls.srv)
        cls.tok_admin, cls.tok_user = api.login(cls.admin), api.login(cls.user)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.assert_running()

    def app(self, user, token):
        c = mqtt_client(self.srv, uname("app"), username=user, password=token)
        self.clients.append(c)
        self.assertEqual(c.connect()[0], 0)
        return c

    def test_admin_reads_sys(self):
        c = self.app(self.admin, self.tok_admin)
        self.assertEqual(c.subscribe("$SYS/broker/#", 0), [0])
        self.assertEqual(sorted(values(c.wait_messages(len(TOPICS)))), sorted(TOPICS))

    def test_other_users_are_refused(self):
        c = self.app(self.user, self.tok_user)
        self.assertEqual(c.subscribe([("$SYS/#", 0), ("$SYS/broker/uptime", 0)]),
                         [SUBACK_FAIL, SUBACK_FAIL])
        c.assert_no_messages(1.5)

    def test_admin_other_topics_keep_the_user_policy(self):
        c = self.app(self.admin, self.tok_admin)
        self.assertEqual(c.subscribe("#", 0), [SUBACK_FAIL])


if __name__ == "__main__":
    unittest.main()
