"""`--store mongodb://...`: the MongoDB backend is selected by the store option, and while
it lacks entities (store_backend_missing) the server refuses to start with a message that
names them, before any request could fail at run time. The URI's password never reaches
the output (docs/store.md, "MongoDB backend")."""

import os
import tempfile
import unittest

from harness import iotcloud_only, run_cli, sanitizer_findings

URI = "mongodb://iot:Pa55-in-uri@127.0.0.1:1/iotcloud?serverSelectionTimeoutMS=200"


@iotcloud_only("iotcloud store backends")
class StoreMongoTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="iotcloud-mongo-")
        self.addCleanup(self.tmp.cleanup)

    def test_server_refuses_a_backend_missing_entities(self):
        res = run_cli(["--store", URI, "--data-dir", self.tmp.name, "--listen",
                       "mqtt://127.0.0.1:0"], timeout=30)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("mongodb backend does not hold these entities yet", res.stderr)
        self.assertIn("commands", res.stderr)
        self.assertNotIn("Pa55-in-uri", res.stderr + res.stdout)
        self.assertEqual(sanitizer_findings(res.stderr), [])

    def test_store_commands_refuse_a_uri_without_echoing_it(self):
        for verb in (["check"], ["backup", os.path.join(self.tmp.name, "b.db")]):
            res = run_cli(["store"] + verb + ["--store", URI])
            self.assertNotEqual(res.returncode, 0, verb)
            self.assertIn("SQLite files only", res.stderr)
            self.assertNotIn("Pa55-in-uri", res.stderr + res.stdout)

    def test_doctor_names_what_is_missing(self):
        res = run_cli(["doctor", "--store", URI, "--data-dir", self.tmp.name], timeout=30)
        self.assertIn("the mongodb backend lacks", res.stdout + res.stderr)
        self.assertNotIn("Pa55-in-uri", res.stderr + res.stdout)


if __name__ == "__main__":
    unittest.main()
