"""`iotcloud user add`: creating administrators from the command line (docs/accounts.md)."""

import os
import sqlite3
import subprocess
import tempfile
import unittest

from harness import iotcloud_bin, iotcloud_only, sanitizer_findings

PASSWORD = "Corr3ct-horse-battery-staple"


def user_add(args, password=None, timeout=30.0):
    """Runs `iotcloud user add ARGS` with @password (one line) on stdin."""
    res = subprocess.run([iotcloud_bin(), "user", "add"] + list(args),
                         input=None if password is None else password + "\n",
                         stdin=subprocess.DEVNULL if password is None else None,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                         text=True, errors="replace")
    assert sanitizer_findings(res.stderr) == [], res.stderr
    return res


@iotcloud_only("iotcloud user CLI")
class UserCliTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="iotcloud-user-")
        self.addCleanup(self.tmp.cleanup)
        self.data = os.path.join(self.tmp.name, "data")  # created by the command
        self.db = os.path.join(self.data, "iotcloud.db")

    def add(self, name, password=PASSWORD, extra=()):
        return user_add(list(extra) + ["--data-dir", self.data, name], password)

    def users(self):
        """(username, email, doc blob) of every user row."""
        con = sqlite3.connect(self.db)
        try:
            return con.execute("SELECT username, email, doc FROM users ORDER BY username").fetchall()
        finally:
            con.close()

    def db_bytes(self):
        data = b""
        for sfx in ("", "-wal", "-journal"):
            if os.path.exists(self.db + sfx):
                with open(self.db + sfx, "rb") as f:
                    data += f.read()
        return data

    def test_admin_created_with_hashed_password(self):
        res = self.add("Admin", extra=["--admin", "--email", "ops@Example.COM"])
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout.strip(), "user admin created (admin)")
        rows = self.users()
        self.assertEqual(len(rows), 1)
        username, email, doc = rows[0]
        self.assertEqual(username, "admin")             # normalised
        self.assertEqual(email, "ops@example.com")       # domain lower-cased
        # BSON: the password field is a UTF-8 string holding the PHC hash.
        self.assertIn(b"password\x00", doc)
        self.assertIn(b"$argon2id$v=19$m=19456,t=2,p=1$", doc)
        self.assertIn(b"admin\x00\x01", doc)             # bool admin: true
        self.assertIn(b"confirmed\x00\x01", doc)
        self.assertNotIn(PASSWORD.encode(), self.db_bytes())

    def test_plain_user_and_default_email(self):
        res = self.add("bob")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout.strip(), "user bob created")
        self.assertEqual(self.users()[0][1], "bob@localhost.localdomain")
        self.assertIn(b"admin\x00\x00", self.users()[0][2])  # bool admin: false

    def test_taken_username_or_email_is_refused(self):
        self.assertEqual(self.add("admin", extra=["--admin"]).returncode, 0)
        res = self.add("ADMIN", extra=["--admin"])
        self.assertEqual(res.returncode, 1)
        self.assertIn("taken", res.stderr)
        res = self.add("other", extra=["--email", "admin@LOCALHOST.localdomain"])
        self.assertEqual(res.returncode, 1)
        self.assertIn("taken", res.stderr)
        self.assertEqual(len(self.users()), 1)

    def test_weak_or_missing_password_is_refused(self):
        # too short; the username; the e-mail address (both ignoring case)
        for pw in ("short", "Caroline-K", "CAROLINE.KAY@example.com"):
            res = self.add("caroline-k", password=pw, extra=["--email", "caroline.kay@example.com"])
            self.assertEqual(res.returncode, 1, pw)
            self.assertIn("password", res.stderr)
        res = user_add(["--data-dir", self.data, "carol"], password=None)  # empty stdin
        self.assertEqual(res.returncode, 1)
        self.assertIn("password", res.stderr)
        res = self.add("carol", password="x" * 1100)
        self.assertEqual(res.returncode, 1)
        self.assertFalse(os.path.exists(self.db) and self.users(), "nothing was created")

    def test_bad_fields_are_refused(self):
        self.assertEqual(self.add("x").returncode, 1)                  # too short
        self.assertEqual(self.add("-dash").returncode, 2)              # looks like a flag
        self.assertEqual(self.add("bad name!").returncode, 1)
        res = self.add("dave", extra=["--email", "dave@nodot"])
        self.assertEqual(res.returncode, 1)
        self.assertIn("e-mail", res.stderr)

    def test_usage_errors_exit_2(self):
        for args in ([], ["--admin"], ["--bogus", "x"], ["a1", "b2"], ["--email"]):
            res = user_add(["--data-dir", self.data] + args, PASSWORD)
            self.assertEqual(res.returncode, 2, args)
            self.assertIn("usage:", res.stderr)
        res = subprocess.run([iotcloud_bin(), "user", "remove", "x"], stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 2)
        res = user_add(["--help"])
        self.assertEqual(res.returncode, 0)
        self.assertIn("--password-stdin", res.stdout)
        self.assertFalse(os.path.exists(self.db), "usage errors touch nothing")

    def test_store_check_after_creation(self):
        self.assertEqual(self.add("admin", extra=["--admin"]).returncode, 0)
        res = subprocess.run([iotcloud_bin(), "store", "check", "--data-dir", self.data],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("ok", res.stdout)


if __name__ == "__main__":
    unittest.main()
