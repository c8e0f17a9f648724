"""The device REST API against a real server over HTTPS (curl): registration with `openssl
req` CSRs and generated keys, refused CSRs, names, lists, paging and filters, device types
and their required attributes, secrets, certificate rotation and unregistration with the
CRL checked by `openssl crl`, owner isolation, the admin list, the CA routes, and account
deletion taking the devices with it."""

import os
import re
import shutil
import subprocess
import time
import unittest

from device_harness import CRL_WAIT, PW, Api, DeviceServer, make_csr, scratch_dir, uname, write

ID_RE = re.compile(r"^d[0-9a-f]{24}$")


def openssl(args, data=None):
    p = subprocess.run(["openssl"] + args, input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


class DevicesApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = DeviceServer(extra_args=["--public-host", "mqtt.example.test"])
        cls.alice = cls.srv.add_user(uname("alice"))
        cls.bob = cls.srv.add_user(uname("bob"))
        cls.carol = cls.srv.add_user(uname("carol"))
        cls.root = cls.srv.add_user(uname("root"), admin=True)
        cls.srv.start()
        cls.addClassCleanup(cls.srv.kill9)  # runs even when setUpClass raises below
        cls.api = Api(cls.srv)
        cls.tok_a = cls.api.login(cls.alice)
        cls.tok_b = cls.api.login(cls.bob)
        cls.dir = scratch_dir()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def call(self, method, path, body=None, token=None, **kw):
        return self.api.call(method, path, body, token=token or self.tok_a, **kw)

    def register(self, name=None, token=None, **fields):
        if "csr" not in fields and "generate_key" not in fields:
            fields["csr"] = make_csr(self.dir)[1]
        body = {"name": name or uname("dev")}
        body.update(fields)
        return self.call("POST", "/v1/devices", body, token=token)

    def crl_text(self):
        r = self.api.call("GET", "/v1/ca/crl")
        self.assertEqual(r.status, 200, r.raw)
        self.assertIn(b"-----BEGIN X509 CRL-----", r.raw)
        path = write(self.dir, uname("crl") + ".pem", r.raw.decode())
        rc, out = openssl(["crl", "-in", path, "-CAfile", self.srv.cafile, "-noout"])
        self.assertEqual(rc, 0, out)
        self.assertIn("verify ok", out.lower())
        rc, text = openssl(["crl", "-in", path, "-noout", "-text"])
        self.assertEqual(rc, 0, text)
        return text.lower()

    def crl_entries(self):
        """{serial as int: reason text} of the served CRL (verified against the CA)."""
        entries, serial = {}, None
        for line in self.crl_text().splitlines():
            line = line.strip()
            if line.startswith("signature algorithm") and serial is not None:
                break  # the signature after the last entry
            if line.startswith("serial number:"):
                serial = int(line.split(":", 1)[1].strip().replace(":", ""), 16)
                entries[serial] = ""
            elif serial is not None and line and not entries[serial] and not line.startswith(("revocation date",
                                                                      "crl entry", "x509v3")):
                entries[serial] = line
        return entries

    def crl_entries_with(self, serials):
        """crl_entries once every one of @serials (hex) is on the served CRL: the CRL is
        re-signed off the store thread, at most once per --crl-interval."""
        deadline = time.monotonic() + CRL_WAIT
        while True:
            entries = self.crl_entries()
            if all(int(s, 16) in entries for s in serials) or time.monotonic() > deadline:
                return entries
            time.sleep(0.1)

    def assert_on_crl(self, serial, reason):
        entries = self.crl_entries_with([serial])
        self.assertIn(int(serial, 16), entries)
        self.assertEqual(entries[int(serial, 16)], reason.lower())

    def error_code(self, r):
        self.assertIsNotNone(r.json, r.raw)
        return r.json["error"]["code"]

    # ---- registration ---------------------------------------------------------------------

    def test_register_with_csr(self):
        for kind in ("ec256", "ec384", "rsa2048"):
            key, csr = make_csr(self.dir, kind, cn="ignored-subject")
            name = uname("csr")
            r = self.register(name, csr=csr, attributes={"room": "hall", "floor": 2})
            self.assertEqual(r.status, 201, r.raw)
            d = r.json
            self.assertRegex(d["id"], ID_RE)
            self.assertEqual(d["name"], name)
            self.assertIsNone(d["type"])
            self.assertEqual(d["attributes"], {"room": "hall", "floor": 2})
            self.assertFalse(d["has_secret"])
            self.assertGreater(d["created_at"], 0)
            self.assertNotIn("private_key", d)
            self.assertNotIn(b"PRIVATE KEY", r.raw)
            self.assertEqual(r.headers.get("cache-control"), "no-store")
            cert = write(self.dir, d["id"] + ".crt", d["certificate"]["pem"])
            rc, out = openssl(["verify", "-CAfile", self.srv.cafile, cert])
            self.assertEqual(rc, 0, out)
            rc, subj = openssl(["x509", "-in", cert, "-noout", "-subject", "-serial"])
            self.assertIn("CN=" + d["id"], subj.replace(" = ", "="))
            self.assertIn(d["certificate"]["serial"].lower().lstrip("0"),
                          subj.lower().split("serial=")[1].lstrip("0"))
            # the certificate holds the CSR's key
            rc1, pub1 = openssl(["pkey", "-in", key, "-pubout"])
            rc2, pub2 = openssl(["x509", "-in", cert, "-noout", "-pubkey"])
            self.assertEqual(pub1, pub2)
            with open(self.srv.cafile) as f:
                self.assertEqual(d["ca_certificate"].strip(), f.read().strip())
            m = d["mqtt"]
            self.assertEqual(m["host"], "mqtt.example.test")
            self.assertEqual(m["port"], self.srv.tls_port)
            self.assertTrue(m["tls"])
            self.assertEqual(m["client_id"], d["id"])
            self.assertEqual(m["username"], d["id"])
            self.assertEqual(m["subscribe"], [d["id"] + "/#"])
            self.assertEqual(m["publish"], ["server/%s/#" % d["id"]])

    def test_register_with_generated_key(self):
        r = self.register(generate_key=True)
        self.assertEqual(r.status, 201, r.raw)
        d = r.json
        self.assertIn("-----BEGIN PRIVATE KEY-----", d["private_key"])
        key = write(self.dir, d["id"] + ".key", d["private_key"])
        cert = write(self.dir, d["id"] + ".crt", d["certificate"]["pem"])
        rc1, pub1 = openssl(["pkey", "-in", key, "-pubout"])
        rc2, pub2 = openssl(["x509", "-in", cert, "-noout", "-pubkey"])
        self.assertEqual((rc1, rc2), (0, 0))
        self.assertEqual(pub1, pub2)
        again = self.call("GET", "/v1/devices/" + d["id"])
        self.assertEqual(again.status, 200)
        self.assertNotIn(b"PRIVATE KEY", again.raw)
        self.assertEqual(again.json["certificate"]["pem"], d["certificate"]["pem"])

    def test_bad_csrs_are_400_naming_the_problem(self):
        _, rsa1024 = make_csr(self.dir, "rsa1024")
        big = "-----BEGIN CERTIFICATE REQUEST-----\n" + ("A" * 64 + "\n") * 140 + \
              "-----END CERTIFICATE REQUEST-----\n"
        self.assertGreater(len(big), 8192)
        cases = [(rsa1024, "rsa"), ("garbage", ""), (big, "8192"),
                 ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "")]
        for csr, word in cases:
            r = self.register(csr=csr)
            self.assertEqual(r.status, 400, r.raw)
            self.assertEqual(self.error_code(r), "bad_csr", r.raw)
            self.assertTrue(r.json["error"]["message"], r.raw)
            self.assertIn(word.lower(), r.json["error"]["message"].lower())
            self.assertNotIn(b"PRIVATE KEY", r.raw)
        # a bad CSR leaves no device behind
        self.assertEqual(self.call("GET", "/v1/devices?name=zzz-none").json["devices"], [])

    def test_exactly_one_credential(self):
        _, csr = make_csr(self.dir)
        for fields in ({}, {"csr": csr, "generate_key": True}, {"generate_key": False}):
            body = {"name": uname("x")}
            body.update(fields)
            r = self.call("POST", "/v1/devices", body)
            self.assertEqual(r.status, 400, r.raw)
            self.assertEqual(self.error_code(r), "invalid_field")

    def test_bad_names_and_attributes(self):
        for name in ("", "a/b", "a+b", "a#b", " lead", "x" * 129, "tab\there"):
            r = self.call("POST", "/v1/devices", {"name": name, "generate_key": True})
            self.assertEqual(r.status, 400, (name, r.raw))
        for attrs in ({"nested": {"a": 1}}, {"list": [1]}, {"bad key": 1}):
            r = self.register(generate_key=True, attributes=attrs)
            self.assertEqual(r.status, 400, r.raw)
            self.assertEqual(r.json["error"]["field"], "attributes")
        r = self.call("POST", "/v1/devices", {"name": "x", "generate_key": True, "colour": 1})
        self.assertEqual(r.status, 400)

    def test_name_clash_is_409_per_owner(self):
        name = uname("same")
        self.assertEqual(self.register(name, generate_key=True).status, 201)
        r = self.register(name, generate_key=True)
        self.assertEqual(r.status, 409, r.raw)
        self.assertEqual(self.error_code(r), "name_taken")
        # another owner may use the name
        self.assertEqual(self.register(name, token=self.tok_b, generate_key=True).status, 201)

    # ---- lists, paging, filters, lookups --------------------------------------------------

    def test_list_paging_filters_and_count(self):
        prefix = uname("pg")
        self.call("POST", "/v1/device-types", {"name": prefix + "t", "required": []})
        ids = []
        for i in range(5):
            extra = {"type": prefix + "t"} if i % 2 else {}
            r = self.register("%s-%d" % (prefix, i), generate_key=True, **extra)
            self.assertEqual(r.status, 201, r.raw)
            ids.append(r.json["id"])
        self.register(generate_key=True, token=self.tok_b, name=prefix + "-bob")
        seen, after = [], None
        while True:
            q = "/v1/devices?limit=2&name=" + prefix + ("&after=" + after if after else "")
            r = self.call("GET", q)
            self.assertEqual(r.status, 200, r.raw)
            self.assertLessEqual(len(r.json["devices"]), 2)
            seen += [d["id"] for d in r.json["devices"]]
            for d in r.json["devices"]:
                self.assertNotIn("pem", d["certificate"])
                self.assertNotIn("owner_id", d)
            after = r.json["next"]
            if after is None:
                break
        self.assertEqual(seen, sorted(ids))
        r = self.call("GET", "/v1/devices?limit=2&offset=3&name=" + prefix)
        self.assertEqual([d["id"] for d in r.json["devices"]], sorted(ids)[3:5])
        r = self.call("GET", "/v1/devices?type=%st&name=%s" % (prefix, prefix))
        self.assertEqual(sorted(d["id"] for d in r.json["devices"]), sorted([ids[1], ids[3]]))
        self.assertEqual(self.call("GET", "/v1/devices/count?name=" + prefix).json["count"], 5)
        self.assertEqual(self.call("GET", "/v1/devices/count?type=%st&name=%s"
                                   % (prefix, prefix)).json["count"], 2)
        for bad in ("limit=0", "limit=201", "limit=x", "offset=-1", "after="):
            self.assertEqual(self.call("GET", "/v1/devices?" + bad).status, 400, bad)

    def test_get_by_id_or_name_and_patch(self):
        self.call("POST", "/v1/device-types", {"name": "pt", "required": ["room"]})
        name = uname("get")
        d = self.register(name, generate_key=True, type="pt", attributes={"room": "a"}).json
        by_name = self.call("GET", "/v1/devices/" + name)
        self.assertEqual(by_name.status, 200, by_name.raw)
        self.assertEqual(by_name.json["id"], d["id"])
        self.assertEqual(by_name.json["type"], "pt")
        new = uname("renamed")
        r = self.call("PATCH", "/v1/devices/" + d["id"],
                      {"name": new, "attributes": {"room": "b", "x": True}})
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(r.json["name"], new)
        self.assertEqual(r.json["attributes"], {"room": "b", "x": True})
        self.assertEqual(self.call("GET", "/v1/devices/" + new).json["id"], d["id"])
        self.assertEqual(self.call("GET", "/v1/devices/" + name).status, 404)
        # the type's required attribute cannot be dropped
        r = self.call("PATCH", "/v1/devices/" + d["id"], {"attributes": {"x": 1}})
        self.assertEqual(r.status, 400, r.raw)
        self.assertIn("room", r.json["error"]["message"])
        # renaming onto another device's name
        other = self.register(generate_key=True).json
        r = self.call("PATCH", "/v1/devices/" + d["id"], {"name": other["name"]})
        self.assertEqual(r.status, 409, r.raw)
        self.assertEqual(self.call("PATCH", "/v1/devices/" + d["id"], {}).status, 400)

    # ---- device types ---------------------------------------------------------------------

    def test_types_and_required_attributes(self):
        t = uname("lamp")
        r = self.call("POST", "/v1/device-types",
                      {"name": t, "required": ["room", "watts"], "description": "a lamp"})
        self.assertEqual(r.status, 201, r.raw)
        self.assertEqual(r.json, {"name": t, "required": ["room", "watts"],
                                  "description": "a lamp", "global": False,
                                  "created_at": r.json["created_at"]})
        self.assertEqual(self.call("POST", "/v1/device-types",
                                   {"name": t, "required": []}).status, 409)
        for bad in ({"name": "bad name", "required": []}, {"name": "x", "required": [1]},
                    {"name": "x", "required": ["a", "a"]}, {"name": "x"}):
            self.assertEqual(self.call("POST", "/v1/device-types", bad).status, 400, bad)
        r = self.register(type=t, attributes={"room": "hall"}, generate_key=True)
        self.assertEqual(r.status, 400, r.raw)
        self.assertIn("watts", r.json["error"]["message"])
        r = self.register(type=t, attributes={"room": "hall", "watts": None}, generate_key=True)
        self.assertEqual(r.status, 400, r.raw)
        r = self.register(type="no-such-type", generate_key=True)
        self.assertEqual(r.status, 400, r.raw)
        self.assertEqual(r.json["error"]["field"], "type")
        d = self.register(type=t, attributes={"room": "hall", "watts": 40}, generate_key=True)
        self.assertEqual(d.status, 201, d.raw)
        self.assertEqual(self.call("GET", "/v1/device-types/" + t).json["name"], t)
        names = [x["name"] for x in self.call("GET", "/v1/device-types").json["device_types"]]
        self.assertIn(t, names)
        # bob sees none of it
        self.assertEqual(self.call("GET", "/v1/device-types/" + t, token=self.tok_b).status, 404)
        names_b = [x["name"] for x in
                   self.call("GET", "/v1/device-types", token=self.tok_b).json["device_types"]]
        self.assertNotIn(t, names_b)
        # in use, then free
        r = self.call("DELETE", "/v1/device-types/" + t)
        self.assertEqual(r.status, 409, r.raw)
        self.assertEqual(self.error_code(r), "in_use")
        self.assertEqual(self.call("GET", "/v1/device-types/" + t).status, 200)
        self.assertEqual(self.call("DELETE", "/v1/devices/" + d.json["id"]).status, 204)
        self.assertEqual(self.call("DELETE", "/v1/device-types/" + t).status, 204)
        self.assertEqual(self.call("GET", "/v1/device-types/" + t).status, 404)

    def test_global_types_admins_only(self):
        t = uname("glob")
        r = self.call("POST", "/v1/device-types", {"name": t, "required": ["k"], "global": True})
        self.assertEqual(r.status, 403, r.raw)
        adm = self.api.login(self.root)
        r = self.call("POST", "/v1/device-types", {"name": t, "required": ["k"], "global": True},
                      token=adm)
        self.assertEqual(r.status, 201, r.raw)
        self.assertTrue(r.json["global"])
        got = self.call("GET", "/v1/device-types/" + t, token=self.tok_b)
        self.assertEqual(got.status, 200)
        self.assertTrue(got.json["global"])
        self.assertEqual(self.register(type=t, token=self.tok_b, generate_key=True).status, 400)
        self.assertEqual(self.register(type=t, token=self.tok_b, generate_key=True,
                                       attributes={"k": "v"}).status, 201)
        # a user cannot delete a global type
        self.assertEqual(self.call("DELETE", "/v1/device-types/" + t, token=self.tok_b).status,
                         404)

    # ---- secrets --------------------------------------------------------------------------

    def test_secret(self):
        d = self.register(generate_key=True).json
        r = self.call("POST", "/v1/devices/%s/secret" % d["id"])
        self.assertEqual(r.status, 201, r.raw)
        self.assertRegex(r.json["secret"], r"^[0-9a-f]{64}$")
        self.assertEqual(r.headers.get("cache-control"), "no-store")
        self.assertTrue(self.call("GET", "/v1/devices/" + d["id"]).json["has_secret"])
        r2 = self.call("POST", "/v1/devices/%s/secret" % d["name"])
        self.assertEqual(r2.status, 201)
        self.assertNotEqual(r.json["secret"], r2.json["secret"])
        listed = self.call("GET", "/v1/devices?name=" + d["name"])
        self.assertNotIn(r2.json["secret"].encode(), listed.raw)
        self.assertNotIn(b"sha256:", listed.raw)

    # ---- rotation, unregistration, the CRL ------------------------------------------------

    def test_rotation_revokes_the_old_certificate(self):
        d = self.register().json
        old = d["certificate"]["serial"]
        _, csr2 = make_csr(self.dir)
        r = self.call("POST", "/v1/devices/%s/certificate" % d["id"], {"csr": csr2})
        self.assertEqual(r.status, 201, r.raw)
        self.assertNotEqual(r.json["certificate"]["serial"], old)
        self.assertEqual(r.json["id"], d["id"])
        self.assertNotIn("private_key", r.json)
        self.assert_on_crl(old, "superseded")
        self.assertNotIn(int(r.json["certificate"]["serial"], 16), self.crl_entries())
        got = self.call("GET", "/v1/devices/" + d["id"]).json
        self.assertEqual(got["certificate"]["serial"], r.json["certificate"]["serial"])
        r = self.call("POST", "/v1/devices/%s/certificate" % d["id"], {"generate_key": True})
        self.assertEqual(r.status, 201, r.raw)
        self.assertIn("PRIVATE KEY", r.json["private_key"])
        r = self.call("POST", "/v1/devices/%s/certificate" % d["id"], {"csr": "junk"})
        self.assertEqual(r.status, 400)
        self.assertEqual(self.error_code(r), "bad_csr")

    def test_unregister(self):
        d = self.register().json
        r = self.call("DELETE", "/v1/devices/" + d["id"])
        self.assertEqual(r.status, 204, r.raw)
        self.assertEqual(self.call("GET", "/v1/devices/" + d["id"]).status, 404)
        self.assertEqual(self.call("DELETE", "/v1/devices/" + d["id"]).status, 404)
        self.assert_on_crl(d["certificate"]["serial"], "cessation of operation")
        # the name is free again
        self.assertEqual(self.register(d["name"], generate_key=True).status, 201)

    # ---- owners and administrators --------------------------------------------------------

    def test_another_users_device_is_404(self):
        d = self.register(generate_key=True).json
        missing = self.call("GET", "/v1/devices/d" + "0" * 24, token=self.tok_b)
        for method, path, body in (("GET", "", None), ("PATCH", "", {"name": "mine"}),
                                   ("DELETE", "", None), ("POST", "/secret", None),
                                   ("POST", "/certificate", {"generate_key": True})):
            for key in (d["id"], d["name"]):
                r = self.call(method, "/v1/devices/" + key + path, body, token=self.tok_b)
                self.assertEqual(r.status, 404, (method, path, r.raw))
                self.assertEqual(r.json, missing.json)
        self.assertEqual(self.call("GET", "/v1/devices/" + d["id"]).json["name"], d["name"])
        self.assertNotIn(d["id"], [x["id"] for x in self.call(
            "GET", "/v1/devices?limit=200", token=self.tok_b).json["devices"]])

    def test_admin_list(self):
        a = self.register(generate_key=True).json
        b = self.register(generate_key=True, token=self.tok_b).json
        self.assertEqual(self.api.call("GET", "/v1/admin/devices").status, 401)
        self.assertEqual(self.call("GET", "/v1/admin/devices", token=self.tok_b).status, 403)
        adm = self.api.login(self.root)
        seen, after = {}, None
        while True:
            r = self.call("GET", "/v1/admin/devices?limit=200" +
                          ("&after=" + after if after else ""), token=adm)
            self.assertEqual(r.status, 200, r.raw)
            seen.update({x["id"]: x for x in r.json["devices"]})
            after = r.json["next"]
            if not after:
                break
        self.assertIn(a["id"], seen)
        self.assertIn(b["id"], seen)
        bob_id = self.call("GET", "/v1/me", token=self.tok_b).json["id"]
        self.assertEqual(seen[b["id"]]["owner_id"], bob_id)
        r = self.call("GET", "/v1/admin/devices?limit=200&owner=" + bob_id, token=adm)
        self.assertTrue(r.json["devices"])
        self.assertTrue(all(x["owner_id"] == bob_id for x in r.json["devices"]))

    def test_ca_certificate_route(self):
        r = self.api.call("GET", "/v1/ca/certificate")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["content-type"], "application/x-pem-file")
        with open(self.srv.cafile, "rb") as f:
            self.assertEqual(r.raw.strip(), f.read().strip())
        crl = self.api.call("GET", "/v1/ca/crl")
        self.assertEqual(crl.headers["content-type"], "application/pkix-crl")
        self.crl_text()

    def test_delete_account_unregisters_devices(self):
        tok = self.api.login(self.carol)
        carol_id = self.call("GET", "/v1/me", token=tok).json["id"]
        self.call("POST", "/v1/device-types", {"name": "ct", "required": []}, token=tok)
        devs = [self.register(generate_key=True, token=tok, type="ct").json for _ in range(2)]
        r = self.call("DELETE", "/v1/me", {"password": PW}, token=tok)
        self.assertEqual(r.status, 204, r.raw)
        entries = self.crl_entries_with([d["certificate"]["serial"] for d in devs])
        for d in devs:
            self.assertEqual(entries.get(int(d["certificate"]["serial"], 16)),
                             "cessation of operation")
        adm = self.api.login(self.root)
        r = self.call("GET", "/v1/admin/devices?owner=" + carol_id, token=adm)
        self.assertEqual(r.json["devices"], [])


if __name__ == "__main__":
    unittest.main()
