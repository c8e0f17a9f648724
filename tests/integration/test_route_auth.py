"""Every route in the router table, walked as: no token, a malformed token, a revoked
token, an expired token, another user's token (404 for objects that are not theirs) and a
non-administrator on admin routes (403). A route missing from ROUTES fails the test, so a
new route cannot ship without deciding who may call it."""

import subprocess
import time
import unittest

from device_harness import Api, DeviceServer, uname
from harness import iotcloud_bin

PUBLIC, SELF, OBJECT, ADMIN = "public", "self", "object", "admin"

# (method, pattern) -> (kind, body for a well-formed call). OBJECT routes name an object
# of the owner ({id}: a device, {name}: a device type) that another user must not see.
ROUTES = {
    ("GET", "/healthz"): (PUBLIC, None),
    ("GET", "/readyz"): (PUBLIC, None),
    ("GET", "/v1/openapi.json"): (PUBLIC, None),
    ("GET", "/v1/openapi.yaml"): (PUBLIC, None),
    ("POST", "/v1/auth/signup"): (PUBLIC, None),
    ("POST", "/v1/auth/confirm"): (PUBLIC, None),
    ("POST", "/v1/auth/login"): (PUBLIC, None),
    ("POST", "/v1/auth/refresh"): (PUBLIC, None),
    ("POST", "/v1/auth/forgot"): (PUBLIC, None),
    ("POST", "/v1/auth/reset"): (PUBLIC, None),
    ("GET", "/v1/ca/certificate"): (PUBLIC, None),
    ("GET", "/v1/ca/crl"): (PUBLIC, None),
    ("POST", "/v1/auth/logout"): (SELF, None),
    ("GET", "/v1/me"): (SELF, None),
    ("PATCH", "/v1/me"): (SELF, {"given_name": "x"}),
    ("DELETE", "/v1/me"): (SELF, {"password": "x"}),
    ("POST", "/v1/me/password"): (SELF, {"password": "x", "new_password": "y"}),
    ("POST", "/v1/devices"): (SELF, {"name": "x", "generate_key": True}),
    ("GET", "/v1/devices"): (SELF, None),
    ("GET", "/v1/devices/count"): (SELF, None),
    ("POST", "/v1/device-types"): (SELF, {"name": "t", "required": []}),
    ("GET", "/v1/device-types"): (SELF, None),
    ("GET", "/v1/devices/{id}"): (OBJECT, None),
    ("PATCH", "/v1/devices/{id}"): (OBJECT, {"name": "renamed"}),
    ("DELETE", "/v1/devices/{id}"): (OBJECT, None),
    ("POST", "/v1/devices/{id}/secret"): (OBJECT, None),
    ("POST", "/v1/devices/{id}/certificate"): (OBJECT, {"generate_key": True}),
    ("POST", "/v1/devices/{id}/commands/{api}"): (OBJECT, {"params": {}}),
    ("GET", "/v1/devices/{id}/gpio/{n}"): (OBJECT, None),
    ("PUT", "/v1/devices/{id}/gpio/{n}"): (OBJECT, {"value": 1}),
    ("GET", "/v1/devices/{id}/rtc"): (OBJECT, None),
    ("PUT", "/v1/devices/{id}/rtc"): (OBJECT, {"value": 0}),
    ("GET", "/v1/devices/{id}/mac"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/ip"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/subnet"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/gateway"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/network"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/status"): (OBJECT, None),
    ("PUT", "/v1/devices/{id}/status"): (OBJECT, {"value": "restart"}),
    ("POST", "/v1/devices/{id}/uart"): (OBJECT, {"value": "x"}),
    ("POST", "/v1/devices/{id}/notifications"): (OBJECT, {"recipient": "a@b.c", "message": "m"}),
    ("GET", "/v1/device-types/{name}"): (OBJECT, None),
    ("DELETE", "/v1/device-types/{name}"): (OBJECT, None),
    ("GET", "/v1/me/notification-recipients"): (SELF, None),
    ("PUT", "/v1/me/notification-recipients"): (SELF, {"recipients": []}),
    ("GET", "/v1/devices/{id}/notifications"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/history"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/events"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/telemetry"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/telemetry/latest"): (OBJECT, None),
    ("DELETE", "/v1/devices/{id}/telemetry"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/logs"): (OBJECT, None),
    ("POST", "/v1/devices/{id}/notifications/direct"): (OBJECT, {"recipient": "x@example.com",
                                                                 "message": "hello"}),
    ("GET", "/v1/devices/{id}/commands"): (OBJECT, None),
    ("GET", "/v1/commands/{id}"): (OBJECT, None),
    ("DELETE", "/v1/commands/{id}"): (OBJECT, None),
    ("POST", "/v1/groups"): (SELF, {"name": "g", "query": {}}),
    ("GET", "/v1/groups"): (SELF, None),
    ("GET", "/v1/groups/{id}"): (OBJECT, None),
    ("DELETE", "/v1/groups/{id}"): (OBJECT, None),
    ("POST", "/v1/jobs"): (SELF, {"document": {}, "targets": {"devices": ["x"]}}),
    ("GET", "/v1/jobs"): (SELF, None),
    ("GET", "/v1/jobs/{id}"): (OBJECT, None),
    ("POST", "/v1/jobs/{id}/cancel"): (OBJECT, None),
    ("GET", "/v1/jobs/{id}/executions"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/jobs"): (OBJECT, None),
    ("GET", "/v1/admin/users"): (ADMIN, None),
    ("GET", "/v1/admin/devices"): (ADMIN, None),
    ("GET", "/v1/admin/stats"): (ADMIN, None),
    ("GET", "/v1/devices/{id}/shadows"): (OBJECT, None),
    ("PATCH", "/v1/devices/{id}/shadows"): (OBJECT, {"state": {"desired": {"a": 1}}}),
    ("DELETE", "/v1/devices/{id}/shadows"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/shadows/{name}"): (OBJECT, None),
    ("PATCH", "/v1/devices/{id}/shadows/{name}"): (OBJECT, {"state": {"desired": {"a": 1}}}),
    ("DELETE", "/v1/devices/{id}/shadows/{name}"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/shadow/history"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/shadows/{name}/history"): (OBJECT, None),
    ("POST", "/v1/provisioning/templates"): (SELF, {"name": "t"}),
    ("GET", "/v1/provisioning/templates"): (SELF, None),
    ("GET", "/v1/provisioning/templates/{name}"): (OBJECT, None),
    ("DELETE", "/v1/provisioning/templates/{name}"): (OBJECT, None),
    ("PATCH", "/v1/provisioning/templates/{name}"): (OBJECT, {"max_devices": 1}),
    ("POST", "/v1/provisioning/templates/{name}/claim-certificate"): (OBJECT, None),
    # rules and alarms ({id} filled with a device id: not a rule or alarm of the caller)
    ("POST", "/v1/rules"): (SELF, {"name": "r", "source": "server/+/telemetry",
                                   "actions": [{"type": "alarm_clear", "alarm": "a"}]}),
    ("GET", "/v1/rules"): (SELF, None),
    ("POST", "/v1/rules/test"): (SELF, None),
    ("GET", "/v1/rules/{id}"): (OBJECT, None),
    ("PATCH", "/v1/rules/{id}"): (OBJECT, {"name": "renamed"}),
    ("DELETE", "/v1/rules/{id}"): (OBJECT, None),
    ("POST", "/v1/rules/{id}/enable"): (OBJECT, None),
    ("POST", "/v1/rules/{id}/disable"): (OBJECT, None),
    ("GET", "/v1/rules/{id}/deadletters"): (OBJECT, None),
    ("GET", "/v1/alarms"): (SELF, None),
    ("GET", "/v1/alarms/{id}"): (OBJECT, None),
    ("POST", "/v1/alarms/{id}/ack"): (OBJECT, None),
    ("POST", "/v1/alarms/{id}/clear"): (OBJECT, None),
    ("GET", "/v1/admin/metrics"): (ADMIN, None),
    ("GET", "/v1/devices/{id}/telemetry/stream"): (OBJECT, None),
    ("GET", "/v1/devices/{id}/logs/stream"): (OBJECT, None),
    ("POST", "/v1/devices/{id}/telemetry/stream/ticket"): (OBJECT, None),
    ("POST", "/v1/devices/{id}/logs/stream/ticket"): (OBJECT, None),
    ("GET", "/v1/streams"): (PUBLIC, None),  # the one-use ticket is the credential
}


def router_table():
    out = subprocess.run([iotcloud_bin(), "routes"], stdout=subprocess.PIPE, check=True,
                         timeout=30).stdout.decode()
    table = {}
    for line in out.splitlines():
        method, pattern, auth = line.split()
        table[(method, pattern)] = auth
    return table


class RouteAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = DeviceServer()
        cls.alice = cls.srv.add_user(uname("alice"))
        cls.bob = cls.srv.add_user(uname("bob"))
        cls.srv.start()
        cls.api = Api(cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_every_route_is_classified(self):
        table = router_table()
        missing = sorted(set(table) - set(ROUTES))
        self.assertEqual(missing, [], "routes without an access rule in this test")
        stale = sorted(set(ROUTES) - set(table))
        self.assertEqual(stale, [], "rules for routes that no longer exist")
        for key, auth in table.items():
            kind = ROUTES[key][0]
            want = {PUBLIC: "public", ADMIN: "admin"}.get(kind, "user")
            self.assertEqual(auth, want, key)

    def fill(self, pattern, dev_id, type_name):
        return (pattern.replace("{id}", dev_id).replace("{name}", type_name)
                .replace("{n}", "3").replace("{api}", "get_rtc"))

    def alice_objects(self, tok):
        dev = self.api.register(tok, generate_key=True)["id"]
        tname = uname("type")
        r = self.api.call("POST", "/v1/device-types", {"name": tname, "required": []}, token=tok)
        self.assertEqual(r.status, 201, r.raw)
        return dev, tname

    def test_tokens_and_owners(self):
        tok_a = self.api.login(self.alice)
        dev, tname = self.alice_objects(tok_a)
        revoked = self.api.login(self.alice)
        self.assertEqual(self.api.call("POST", "/v1/auth/logout", token=revoked).status, 204)
        guarded = [(k, v) for k, v in ROUTES.items() if v[0] != PUBLIC]
        for (method, pattern), (kind, body) in guarded:
            path = self.fill(pattern, dev, tname)
            for label, token in (("none", None), ("malformed", "not-a-token"),
                                 ("revoked", revoked)):
                r = self.api.call(method, path, body, token=token)
                self.assertEqual(r.status, 401, "%s %s with %s token: %s"
                                 % (method, pattern, label, r.raw))
                self.assertEqual(r.json["error"]["code"], "unauthorized", r.raw)
        # bob is neither the owner nor an administrator
        tok_b = self.api.login(self.bob)
        for (method, pattern), (kind, body) in guarded:
            path = self.fill(pattern, dev, tname)
            if kind == OBJECT:
                r = self.api.call(method, path, body, token=tok_b)
                self.assertEqual(r.status, 404, "%s %s as another user: %s"
                                 % (method, pattern, r.raw))
            elif kind == ADMIN:
                r = self.api.call(method, path, body, token=tok_b)
                self.assertEqual(r.status, 403, "%s %s as a non-admin: %s"
                                 % (method, pattern, r.raw))
        # and nothing of alice's was touched
        tok_a = self.api.login(self.alice)
        r = self.api.call("GET", "/v1/devices/" + dev, token=tok_a)
        self.assertEqual(r.status, 200, r.raw)
        self.assertNotEqual(r.json["name"], "renamed")
        self.assertEqual(self.api.call("GET", "/v1/device-types/" + tname, token=tok_a).status,
                         200)

    def test_same_404_for_missing_and_foreign(self):
        tok_a = self.api.login(self.alice)
        tok_b = self.api.login(self.bob)
        dev, _ = self.alice_objects(tok_a)
        foreign = self.api.call("GET", "/v1/devices/" + dev, token=tok_b)
        missing = self.api.call("GET", "/v1/devices/" + "0" * 32, token=tok_b)
        self.assertEqual(foreign.status, 404)
        self.assertEqual(foreign.json, missing.json)


class ExpiredTokenTest(unittest.TestCase):
    """A server whose access tokens live 2 s, so one can be watched expiring (a class of its
    own: the walk above must not race that clock on a slow build)."""

    def test_expired_token_is_401_everywhere(self):
        srv = DeviceServer(extra_args=["--access-token-ttl", "2"])
        user = srv.add_user(uname("eve"))
        srv.start()
        try:
            api = Api(srv)
            expired = api.login(user)
            time.sleep(2.2)
            for (method, pattern), (kind, body) in ROUTES.items():
                if kind == PUBLIC:
                    continue
                path = (pattern.replace("{id}", "d" * 25).replace("{name}", "t")
                        .replace("{n}", "3").replace("{api}", "get_rtc"))
                r = api.call(method, path, body, token=expired)
                self.assertEqual(r.status, 401, "%s %s with an expired token: %s"
                                 % (method, pattern, r.raw))
                self.assertEqual(r.json["error"]["code"], "unauthorized", r.raw)
            srv.stop()
        finally:
            srv.kill9()


if __name__ == "__main__":
    unittest.main()
