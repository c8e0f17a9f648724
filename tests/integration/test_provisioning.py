"""Fleet provisioning templates (docs/provisioning.md): a template and its claim
certificate issued by our CA, the private key answered once and never again, owner
checks, bad bodies, the quota, and deletion revoking the claim certificate (TLS refuses it
at once). A claim certificate connects as a claim connection that may do nothing but
provision (topic policy), refused once revoked."""

import os
import ssl
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))

from device_harness import TwoUserCase, device_ctx, mqtt_client, uname, write  # noqa: E402

BASE = "/v1/provisioning/templates"


class ProvisioningTemplatesTest(TwoUserCase):
    EXTRA = ("--max-provisioning-templates-per-user", "3")

    def create(self, body, token=None):
        return self.api.call("POST", BASE, body, token=token or self.token)

    def claim_files(self, r):
        name = r.json["id"]
        cert = write(self.dir, name + ".crt", r.json["claim"]["certificate"])
        key = write(self.dir, name + ".key", r.json["claim"]["private_key"])
        return cert, key

    def test_create_get_list_key_once(self):
        name = uname("batch")
        r = self.create({"name": name, "max_devices": 50, "expires_days": 30,
                         "claim_by_code": True, "attributes": {"factory": "lyon"}})
        self.assertEqual(r.status, 201, r.raw)
        t = r.json
        self.assertRegex(t["id"], r"^p[0-9a-f]{24}$")
        self.assertEqual((t["name"], t["max_devices"], t["claim_by_code"], t["device_type"]),
                         (name, 50, True, None))
        self.assertEqual(t["attributes"], {"factory": "lyon"})
        self.assertIn("BEGIN PRIVATE KEY", t["claim"]["private_key"])
        self.assertEqual(t["claim"]["serial"], t["claim_serial"])
        # the claim certificate: issued by our CA, CN = the template id, valid 30 days
        cert, key = self.claim_files(r)
        text = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in", cert],
                              stdout=subprocess.PIPE, check=True, text=True).stdout
        self.assertIn(t["id"], text)
        subprocess.run(["openssl", "verify", "-CAfile", self.srv.cafile, cert], check=True,
                       stdout=subprocess.PIPE)
        days = (t["expires_at"] - t["created_at"]) / 86400000
        self.assertTrue(29 < days <= 30.01, days)
        # never again a key: GET one, GET the list
        g = self.api.call("GET", BASE + "/" + name, token=self.token)
        self.assertEqual(g.status, 200, g.raw)
        self.assertNotIn("claim", g.json)
        self.assertNotIn("PRIVATE", g.raw.decode())
        self.assertEqual(g.json["id"], t["id"])
        lst = self.api.call("GET", BASE, token=self.token)
        self.assertIn(name, [x["name"] for x in lst.json["templates"]])
        self.assertNotIn("PRIVATE", lst.raw.decode())
        # the same name again: 409; another user may use it
        self.assertEqual(self.create({"name": name}).status, 409)
        o = self.create({"name": name}, token=self.other_token)
        self.assertEqual(o.status, 201, o.raw)
        self.assertNotEqual(o.json["id"], t["id"])
        names = [x["name"] for x in
                 self.api.call("GET", BASE, token=self.other_token).json["templates"]]
        self.assertEqual(names, [name], "the other user sees only their own")
        self.assertEqual(self.api.call("DELETE", BASE + "/" + name,
                                       token=self.other_token).status, 204)
        self.assertEqual(self.api.call("GET", BASE + "/" + name, token=self.token).status, 200,
                         "deleting the other user's template left this one")
        self.api.call("DELETE", BASE + "/" + name, token=self.token)

    def test_bad_bodies(self):
        for body, field in (({}, "name"), ({"name": "a b"}, "name"), ({"name": ""}, "name"),
                            ({"name": "x" * 65}, "name"),
                            ({"name": "ok", "max_devices": 0}, "max_devices"),
                            ({"name": "ok", "expires_days": 3651}, "expires_days"),
                            ({"name": "ok", "attributes": {"a": 1}}, "attributes"),
                            ({"name": "ok", "attributes": []}, "attributes"),
                            ({"name": "ok", "pre_provisioning_hook": "https://x"},
                             "pre_provisioning_hook"),
                            ({"name": "ok", "device_type": "no-such-type"}, "device_type")):
            r = self.create(body)
            self.assertEqual(r.status, 400, (body, r.raw))
            self.assertEqual(r.json["error"].get("field"), field, (body, r.raw))
        many = {"name": "ok", "attributes": {"k%d" % i: "v" for i in range(33)}}
        self.assertEqual(self.create(many).status, 400)
        r = self.api.call("POST", BASE, raw="{not json", token=self.token)
        self.assertEqual(r.status, 400)
        self.assertEqual(self.api.call("GET", BASE + "/bad%20name", token=self.token).status,
                         404)

    def test_device_type_must_exist_and_quota(self):
        tname = uname("type")
        r = self.api.call("POST", "/v1/device-types", {"name": tname, "required": []},
                          token=self.token)
        self.assertEqual(r.status, 201, r.raw)
        made = []
        r = self.create({"name": uname("t"), "device_type": tname})
        self.assertEqual((r.status, r.json.get("device_type")), (201, tname), r.raw)
        made.append(r.json["name"])
        while True:
            r = self.create({"name": uname("t")})
            if r.status != 201:
                break
            made.append(r.json["name"])
        self.assertEqual((r.status, r.json["error"]["code"]), (429, "quota_exceeded"), r.raw)
        self.assertEqual(len(self.api.call("GET", BASE, token=self.token).json["templates"]), 3)
        for n in made:
            self.assertEqual(self.api.call("DELETE", BASE + "/" + n, token=self.token).status,
                             204)
        self.assertEqual(self.api.call("DELETE", BASE + "/" + made[0], token=self.token).status,
                         404)

    def test_claim_connection_may_only_provision(self):
        name = uname("batch")
        r = self.create({"name": name})
        self.assertEqual(r.status, 201, r.raw)
        cert, key = self.claim_files(r)
        a = mqtt_client(self.srv, "factory-a", ctx=device_ctx(self.srv.cafile, cert, key))
        b = mqtt_client(self.srv, "factory-b", ctx=device_ctx(self.srv.cafile, cert, key))
        try:
            self.assertEqual(a.connect()[0], 0, "a claim connection is accepted")
            self.assertEqual(b.connect()[0], 0, "the client id is free, many at once")
            prov = "$aws/provisioning-templates/%s/provision/json" % name
            for req in ("$aws/certificates/create/json",
                        "$aws/certificates/create-from-csr/json", prov):
                for end in ("/accepted", "/rejected"):
                    self.assertEqual(a.subscribe(req + end, 1), [1], req + end)
            for f in ("#", "$aws/#", "$aws/certificates/create/json/+",
                      "$aws/provisioning-templates/other/provision/json/accepted",
                      "$aws/things/%s/shadow/#" % r.json["id"], "server/#",
                      "$SYS/#"):
                self.assertEqual(a.subscribe(f, 1), [128], f)
            # a reply topic is no request: b's publish there is dropped, a gets nothing
            b.publish("$aws/certificates/create/json/accepted", b"{}", qos=1)
            b.publish("$aws/provisioning-templates/%s/provision/json/accepted" % name,
                      b"{}", qos=1)
            with self.assertRaises(AssertionError):
                a.wait_messages(1, timeout=1)
        finally:
            a.close()
            b.close()
        # a device's id cannot be taken by a claim connection
        c = mqtt_client(self.srv, "d" + "0" * 24, ctx=device_ctx(self.srv.cafile, cert, key))
        try:
            self.assertEqual(c.connect()[0], 2)
        finally:
            c.close()

    def test_revocation_closes_open_claim_connections(self):
        name = uname("batch")
        r = self.create({"name": name})
        self.assertEqual(r.status, 201, r.raw)
        cert, key = self.claim_files(r)
        a = mqtt_client(self.srv, "line-1", ctx=device_ctx(self.srv.cafile, cert, key))
        try:
            self.assertEqual(a.connect()[0], 0)
            path = BASE + "/" + name + "/claim-certificate"
            n = self.api.call("POST", path, token=self.token)
            self.assertEqual(n.status, 201, n.raw)
            a.wait_disconnected()  # superseded: closed at once
        finally:
            a.close()
        cert2, key2 = self.claim_files(n)
        b = mqtt_client(self.srv, "line-2", ctx=device_ctx(self.srv.cafile, cert2, key2))
        try:
            self.assertEqual(b.connect()[0], 0)
            self.assertEqual(self.api.call("DELETE", BASE + "/" + name,
                                           token=self.token).status, 204)
            b.wait_disconnected()  # template deleted: closed at once
        finally:
            b.close()

    def test_claim_certificate_is_no_device_and_delete_revokes_it(self):
        name = uname("batch")
        r = self.create({"name": name})
        self.assertEqual(r.status, 201, r.raw)
        cert, key = self.claim_files(r)
        ctx = device_ctx(self.srv.cafile, cert, key)
        c = mqtt_client(self.srv, r.json["id"], ctx=ctx)
        try:
            self.assertEqual(c.connect()[0], 0, "TLS accepts it: a claim connection")
        finally:
            c.close()
        # another user cannot delete it
        self.assertEqual(self.api.call("DELETE", BASE + "/" + name,
                                       token=self.other_token).status, 404)
        self.assertEqual(self.api.call("DELETE", BASE + "/" + name, token=self.token).status,
                         204)
        self.assertEqual(self.api.call("GET", BASE + "/" + name, token=self.token).status, 404)
        c = mqtt_client(self.srv, r.json["id"], ctx=device_ctx(self.srv.cafile, cert, key))
        try:
            with self.assertRaises((ssl.SSLError, OSError, AssertionError)):
                c.connect(timeout=3)
        finally:
            c.close()

    def test_patch(self):
        name = uname("batch")
        r = self.create({"name": name, "attributes": {"a": "1"}})
        self.assertEqual(r.status, 201, r.raw)
        tname = uname("type")
        self.assertEqual(self.api.call("POST", "/v1/device-types",
                                       {"name": tname, "required": []},
                                       token=self.token).status, 201)
        path = BASE + "/" + name
        p = self.api.call("PATCH", path, {"max_devices": 5, "claim_by_code": True,
                                          "device_type": tname, "attributes": {"b": "2"}},
                          token=self.token)
        self.assertEqual(p.status, 200, p.raw)
        self.assertEqual((p.json["max_devices"], p.json["claim_by_code"], p.json["device_type"],
                          p.json["attributes"]), (5, True, tname, {"b": "2"}))
        self.assertEqual((p.json["id"], p.json["claim_serial"], p.json["expires_at"]),
                         (r.json["id"], r.json["claim_serial"], r.json["expires_at"]))
        self.assertNotIn("PRIVATE", p.raw.decode())
        g = self.api.call("GET", path, token=self.token).json
        self.assertEqual((g["max_devices"], g["device_type"]), (5, tname))
        p = self.api.call("PATCH", path, {"device_type": None}, token=self.token)
        self.assertEqual((p.status, p.json["device_type"], p.json["max_devices"]),
                         (200, None, 5), p.raw)
        for body, field in (({}, "body"), ({"name": "x"}, "name"),
                            ({"max_devices": 0}, "max_devices"),
                            ({"device_type": "no-such"}, "device_type")):
            p = self.api.call("PATCH", path, body, token=self.token)
            self.assertEqual((p.status, p.json["error"].get("field")), (400, field), p.raw)
        self.assertEqual(self.api.call("PATCH", path, {"max_devices": 9},
                                       token=self.other_token).status, 404)
        self.assertEqual(self.api.call("GET", path, token=self.token).json["max_devices"], 5)
        self.assertEqual(self.api.call("PATCH", BASE + "/nope", {"max_devices": 9},
                                       token=self.token).status, 404)
        self.api.call("DELETE", path, token=self.token)

    def test_claim_certificate_replaced(self):
        name = uname("batch")
        r = self.create({"name": name, "expires_days": 10})
        self.assertEqual(r.status, 201, r.raw)
        old_cert, old_key = self.claim_files(r)
        path = BASE + "/" + name + "/claim-certificate"
        self.assertEqual(self.api.call("POST", path, token=self.other_token).status, 404)
        self.assertEqual(self.api.call("POST", BASE + "/nope/claim-certificate",
                                       token=self.token).status, 404)
        n = self.api.call("POST", path, token=self.token)
        self.assertEqual(n.status, 201, n.raw)
        self.assertEqual((n.json["id"], n.json["name"]), (r.json["id"], name))
        self.assertNotEqual(n.json["claim"]["serial"], r.json["claim"]["serial"])
        self.assertEqual(n.json["claim_serial"], n.json["claim"]["serial"])
        self.assertIn("BEGIN PRIVATE KEY", n.json["claim"]["private_key"])
        self.assertNotEqual(n.json["claim"]["private_key"], r.json["claim"]["private_key"])
        self.assertEqual(n.json["expires_days"], 10)
        g = self.api.call("GET", BASE + "/" + name, token=self.token)
        self.assertEqual(g.json["claim_serial"], n.json["claim"]["serial"])
        self.assertNotIn("PRIVATE", g.raw.decode())
        # the old claim certificate is refused by TLS, the new one passes it
        c = mqtt_client(self.srv, r.json["id"], ctx=device_ctx(self.srv.cafile, old_cert,
                                                               old_key))
        try:
            with self.assertRaises((ssl.SSLError, OSError, AssertionError)):
                c.connect(timeout=3)
        finally:
            c.close()
        new_cert, new_key = self.claim_files(n)
        c = mqtt_client(self.srv, r.json["id"], ctx=device_ctx(self.srv.cafile, new_cert,
                                                               new_key))
        try:
            self.assertEqual(c.connect()[0], 0)
        finally:
            c.close()
        self.assertEqual(self.api.call("DELETE", BASE + "/" + name, token=self.token).status,
                         204)


if __name__ == "__main__":
    unittest.main()
