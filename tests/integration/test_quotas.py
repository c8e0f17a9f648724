"""Per-user quotas (issue 14 item 8) against the real server, with small limits from the
configuration: the N+1th device, device type and notification recipient answer 429
quota_exceeded naming the quota; the N+1th persistent MQTT session of one user (app logins
and the user's devices together) gets CONNACK 0x05 while clean sessions still connect; the
messages queued for a user's offline persistent sessions are capped, summed over them, the
excess dropped and counted; and a restart keeps both counts (the quotas still hold)."""

import re
import shutil
import time
import unittest

from device_harness import (Api, DeviceServer, TwoUserCase, mqtt_client, register_device,
                            scratch_dir, uname)

NOT_AUTHORIZED = 5


class RestQuotaTest(TwoUserCase):
    EXTRA = ["--max-devices-per-user", "2", "--max-device-types-per-user", "2",
             "--max-recipients-per-user", "3"]

    def call(self, method, path, body=None, token=None):
        return self.api.call(method, path, body, token=token or self.token)

    def assert_quota(self, r, quota, limit):
        self.assertEqual(r.status, 429, r.raw)
        err = r.json["error"]
        self.assertEqual((err["code"], err["quota"], err["limit"]),
                         ("quota_exceeded", quota, limit), r.raw)

    def register(self, token=None):
        return self.call("POST", "/v1/devices", {"name": uname("dev"), "generate_key": True},
                         token=token)

    def test_devices_beyond_the_quota_are_refused(self):
        user = self.spare_token()
        first = [self.register(user) for _ in range(2)]
        self.assertEqual([r.status for r in first], [201, 201], [r.raw for r in first])
        self.assert_quota(self.register(user), "devices", 2)
        listed = self.call("GET", "/v1/devices", token=user)
        self.assertEqual(len(listed.json["devices"]), 2, listed.raw)
        # per user: another one is not affected
        self.assertEqual(self.register(self.other_token).status, 201)
        # a place freed by unregistering is taken again
        gone = self.call("DELETE", "/v1/devices/" + first[0].json["id"], token=user)
        self.assertEqual(gone.status, 204, gone.raw)
        self.assertEqual(self.register(user).status, 201)
        self.assert_quota(self.register(user), "devices", 2)

    def test_device_types_beyond_the_quota_are_refused(self):
        user = self.spare_token()
        made = [self.call("POST", "/v1/device-types", {"name": uname("t"), "required": []},
                          token=user).status for _ in range(2)]
        self.assertEqual(made, [201, 201])
        self.assert_quota(self.call("POST", "/v1/device-types",
                                    {"name": uname("t"), "required": []}, token=user),
                          "device_types", 2)

    def test_recipients_beyond_the_quota_are_refused(self):
        three = ["a@example.com", "b@example.com", "+441234567890"]
        r = self.call("PUT", "/v1/me/notification-recipients", {"recipients": three})
        self.assertEqual(r.status, 200, r.raw)
        r = self.call("PUT", "/v1/me/notification-recipients",
                      {"recipients": three + ["c@example.com"]})
        self.assert_quota(r, "recipients", 3)
        kept = self.call("GET", "/v1/me/notification-recipients")
        self.assertEqual(sorted(kept.json["recipients"]), sorted(three), kept.raw)

    # Users made before start are `user` and `other`; a test that fills a quota uses a
    # fresh one so the order of the tests does not matter.
    _spare = []

    @classmethod
    def setUpClass(cls):
        cls.srv = DeviceServer(extra_args=cls.EXTRA)
        cls.user = cls.srv.add_user(uname("owner"))
        cls.other = cls.srv.add_user(uname("other"))
        cls._spare = [cls.srv.add_user(uname("spare")) for _ in range(3)]
        cls.srv.start()
        cls.api = Api(cls.srv)
        cls.token = cls.api.login(cls.user)
        cls.other_token = cls.api.login(cls.other)
        cls.dir = scratch_dir()

    def spare_token(self):
        return self.api.login(self._spare.pop())


class MqttQuotaTest(unittest.TestCase):
    """One server with its own data directory, restarted by the tests."""

    MAX_SESSIONS = 2
    MAX_QUEUED = 5

    @classmethod
    def setUpClass(cls):
        cls.data = scratch_dir()
        cls.dir = scratch_dir()
        cls.srv = DeviceServer(extra_args=["--max-sessions-per-user", str(cls.MAX_SESSIONS),
                                           "--max-queued-per-user", str(cls.MAX_QUEUED)],
                               data_dir=cls.data)
        cls.users = [cls.srv.add_user(uname("mq")) for _ in range(3)]
        cls.srv.start()
        cls.api = Api(cls.srv)
        cls.tokens = {u: cls.api.login(u) for u in cls.users}

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.data, ignore_errors=True)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.assert_running()

    def restart(self):
        for c in self.clients:
            c.close()
        self.clients = []
        self.srv.stop()  # SIGTERM, exit 0; our data directory stays
        self.srv.start()

    def app(self, user, client_id, clean=False):
        c = mqtt_client(self.srv, client_id, username=user, password=self.tokens[user],
                        clean=clean)
        self.clients.append(c)
        return c

    def device_client(self, dev, clean):
        c = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile), clean=clean)
        self.clients.append(c)
        return c

    def connect_rc(self, c):
        rc = c.connect()[0]
        c.close()
        return rc

    def quota_counts(self):
        """The (sessions refused, messages dropped) of every 'iotcloud stopped' line."""
        return [(int(a), int(b)) for a, b in re.findall(
            r"per-user quotas: (\d+) persistent sessions refused, (\d+) queued messages "
            r"dropped", self.srv.stderr_text())]

    def test_persistent_sessions_beyond_the_quota_get_connack_5(self):
        alice, bob = self.users[0], self.users[1]
        dev = register_device(self.api, self.tokens[alice], self.dir)
        self.assertEqual(self.connect_rc(self.app(alice, "a-app1")), 0)
        self.assertEqual(self.connect_rc(self.app(alice, "a-app2")), 0)
        # the third persistent session of alice: an app login or one of her devices
        self.assertEqual(self.connect_rc(self.app(alice, "a-app3")), NOT_AUTHORIZED)
        self.assertEqual(self.connect_rc(self.device_client(dev, clean=False)), NOT_AUTHORIZED)
        # clean sessions are not counted; resuming a session is not a new one
        self.assertEqual(self.connect_rc(self.app(alice, "a-app4", clean=True)), 0)
        self.assertEqual(self.connect_rc(self.device_client(dev, clean=True)), 0)
        again = self.app(alice, "a-app1")
        self.assertEqual(again.connect(), (0, True))
        again.close()
        # per user
        self.assertEqual(self.connect_rc(self.app(bob, "b-app1")), 0)
        # a clean session replacing a persistent one gives its place back
        self.assertEqual(self.connect_rc(self.app(alice, "a-app2", clean=True)), 0)
        self.assertEqual(self.connect_rc(self.app(alice, "a-app3")), 0)
        self.assertEqual(self.connect_rc(self.app(alice, "a-app5")), NOT_AUTHORIZED)
        # the count is rebuilt from the store at start-up
        self.restart()
        self.assertEqual(self.connect_rc(self.app(alice, "a-app5")), NOT_AUTHORIZED)
        self.assertEqual(self.connect_rc(self.app(alice, "a-app6", clean=True)), 0)
        resumed = self.app(alice, "a-app3")
        self.assertEqual(resumed.connect(), (0, True))
        resumed.close()
        refused = [a for a, _ in self.quota_counts()]
        self.assertTrue(refused and refused[-1] >= 3, refused)

    def publish(self, dev, payloads):
        pub = self.device_client(dev, clean=True)
        self.assertEqual(pub.connect()[0], 0)
        for p in payloads:
            pub.publish("server/%s/t" % dev.id, p, qos=1)
        pub.disconnect()
        time.sleep(0.5)  # deliveries to sessions owned by other loops are posted

    def drain(self, user, ids):
        got = {}
        for cid in ids:
            c = self.app(user, cid)
            self.assertEqual(c.connect(), (0, True))
            got[cid] = [m.payload for m in c.settle(0.7)]
            c.disconnect()
        return got

    def test_offline_queues_are_capped_per_user_and_survive_restart(self):
        carol = self.users[2]
        dev = register_device(self.api, self.tokens[carol], self.dir)
        ids = ["c-q1", "c-q2"]
        for cid in ids:
            c = self.app(carol, cid)
            self.assertEqual(c.connect()[0], 0)
            self.assertEqual(c.subscribe("server/%s/#" % dev.id, 1), [1])
            c.disconnect()
        self.publish(dev, [b"m%d" % i for i in range(8)])
        # kept over a restart: the quota still holds for what comes after it
        self.restart()
        self.publish(dev, [b"n%d" % i for i in range(3)])
        got = self.drain(carol, ids)
        total = sum(len(v) for v in got.values())
        self.assertEqual(total, self.MAX_QUEUED, got)
        # the session's own oldest made room: the newest message reached both
        for cid in ids:
            self.assertEqual(got[cid][-1], b"n2", got)
        # once drained, the places are free again
        self.publish(dev, [b"o0"])
        again = self.drain(carol, ids)
        self.assertEqual(again, {cid: [b"o0"] for cid in ids}, again)
        self.restart()
        dropped = [b for _, b in self.quota_counts()]
        self.assertTrue(len(dropped) >= 2 and dropped[-2] > 0 and dropped[-1] > 0, dropped)


if __name__ == "__main__":
    unittest.main()
