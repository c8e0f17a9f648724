"""No private key anywhere but the one generate_key response: after a full registration
flow (CSR, generate_key, secret, rotation, listing, admin listing, CA and CRL, deletion)
every API response body, the server log and the database files are scanned."""

import glob
import os
import shutil
import unittest

from device_harness import Api, DeviceServer, make_csr, mqtt_client, scratch_dir, uname

MARK = b"PRIVATE KEY"


class NoPrivateKeyTest(unittest.TestCase):
    def test_full_flow(self):
        srv = DeviceServer()
        alice = srv.add_user(uname("alice"))
        admin = srv.add_user(uname("root"), admin=True)
        srv.start()
        work = scratch_dir()
        replies = []
        try:
            api = Api(srv)

            def call(*a, **kw):
                r = api.call(*a, **kw)
                replies.append(((a[0], a[1]), r))
                return r

            tok = api.login(alice)
            _, csr = make_csr(work)
            r = call("POST", "/v1/devices", {"name": "by-csr", "csr": csr}, token=tok)
            self.assertEqual(r.status, 201, r.raw)
            dev = r.json["id"]
            r = call("POST", "/v1/devices", {"name": "by-keygen", "generate_key": True},
                     token=tok)
            self.assertEqual(r.status, 201, r.raw)
            gen = r.json["id"]
            call("POST", "/v1/device-types", {"name": "lamp", "required": ["room"]}, token=tok)
            call("POST", "/v1/devices", {"name": "lamp1", "type": "lamp", "csr": csr,
                                         "attributes": {"room": "hall"}}, token=tok)
            secret = call("POST", "/v1/devices/%s/secret" % dev, token=tok)
            self.assertEqual(secret.status, 201)
            c = mqtt_client(srv, dev, username=dev, password=secret.json["secret"])
            self.assertEqual(c.connect()[0], 0)
            c.publish("server/%s/hello" % dev, b"hi", qos=1)
            c.disconnect()
            _, csr2 = make_csr(work)
            call("POST", "/v1/devices/%s/certificate" % dev, {"csr": csr2}, token=tok)
            for path in ("/v1/devices", "/v1/devices/count", "/v1/devices/" + dev,
                         "/v1/devices/by-keygen", "/v1/devices/" + gen, "/v1/device-types",
                         "/v1/me"):
                self.assertEqual(call("GET", path, token=tok).status, 200, path)
            call("PATCH", "/v1/devices/" + gen, {"attributes": {"k": "v"}}, token=tok)
            # a provisioning template: its claim key in the 201 only (docs/provisioning.md)
            r = call("POST", "/v1/provisioning/templates", {"name": "batch"}, token=tok)
            self.assertEqual(r.status, 201, r.raw)
            for path in ("/v1/provisioning/templates", "/v1/provisioning/templates/batch"):
                self.assertEqual(call("GET", path, token=tok).status, 200, path)
            call("POST", "/v1/provisioning/templates", {"name": "batch"}, token=tok)  # 409
            r = call("POST", "/v1/provisioning/templates/batch/claim-certificate", token=tok)
            self.assertEqual(r.status, 201, r.raw)
            call("GET", "/v1/ca/certificate")
            call("GET", "/v1/ca/crl")
            adm = api.login(admin)
            self.assertEqual(call("GET", "/v1/admin/devices", token=adm).status, 200)
            self.assertEqual(call("DELETE", "/v1/devices/" + gen, token=tok).status, 204)
            # a bad request echoing nothing back either
            call("POST", "/v1/devices", {"name": "bad", "csr": "-----BEGIN PRIVATE KEY-----"},
                 token=tok)

            with_key = [k for k, r in replies if MARK in r.raw]
            self.assertEqual(with_key, [("POST", "/v1/devices"),
                                        ("POST", "/v1/provisioning/templates"),
                                        ("POST",
                                         "/v1/provisioning/templates/batch/claim-certificate")],
                             "only the generate_key registration and the template carry a key")
            keygen = [r for k, r in replies if MARK in r.raw][0]
            self.assertEqual(keygen.json["name"], "by-keygen")
            claim = [r for k, r in replies if MARK in r.raw][1]
            self.assertEqual((claim.status, claim.json["name"]), (201, "batch"))
            self.assertEqual(srv.signal_and_wait(), 0)  # keeps the data dir for the scan
            files = [srv.stderr_path] + glob.glob(os.path.join(srv.data_dir, "iotcloud.db*"))
            self.assertTrue(any(f.endswith("iotcloud.db") for f in files))
            for path in files:
                with open(path, "rb") as f:
                    self.assertNotIn(MARK, f.read(), path)
        finally:
            if srv.running():
                srv.kill9()
            shutil.rmtree(work, ignore_errors=True)
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()
