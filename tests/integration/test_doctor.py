"""`iotcloud doctor` (issue #22): a ready configuration passes (exit 0); each broken
setting it claims to check is flagged with a FIX line saying what to do and exit 1."""

import datetime
import os
import resource
import shutil
import socket
import subprocess
import tempfile
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness import HOST, Broker, free_port, iotcloud_bin, iotcloud_only


def write_cert(directory, name, days_from, days_to, sans=("localhost",)):
    """A self-signed EC certificate valid from now+days_from to now+days_to; returns
    (cert path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=days_from))
            .not_valid_after(now + datetime.timedelta(days=days_to))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cp, kp = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    with open(cp, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(kp, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cp, kp


@iotcloud_only("iotcloud doctor")
class Doctor(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="iotcloud-itest-dr-")
        cls.data = os.path.join(cls.work, "data")
        os.mkdir(cls.data, 0o700)
        b = Broker(data_dir=cls.data)  # mqtts: generates the CA and server certificate
        b.start()
        b.signal_and_wait()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        self.p1, self.p2 = free_port(), free_port()

    def doctor(self, *extra, limit=None, data=None):
        args = [iotcloud_bin(), "doctor", "--data-dir", data or self.data,
                "--listen", "mqtt://%s:%d" % (HOST, self.p1),
                "--listen", "mqtts://%s:%d" % (HOST, self.p2),
                "--public-host", "localhost", "--connections", "100"] + list(extra)

        def lower_limit():
            if limit:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60, preexec_fn=lower_limit)
        return r.returncode, r.stdout + r.stderr

    def assert_fix(self, rc, out, *words):
        self.assertEqual(rc, 1, out)
        fixes = [l for l in out.splitlines() if l.startswith("FIX  ")]
        self.assertTrue(any(all(w in l for w in words) for l in fixes), out)

    def test_ready(self):
        rc, out = self.doctor()
        self.assertEqual(rc, 0, out)
        self.assertNotIn("FIX", out)
        self.assertIn("covers public-host localhost", out)
        self.assertIn("integrity check passed", out)
        self.assertIn("0 to fix", out)

    def test_port_in_use(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((HOST, self.p1))
        s.listen(1)
        self.addCleanup(s.close)
        rc, out = self.doctor()
        self.assert_fix(rc, out, "mqtt://127.0.0.1:%d" % self.p1, "in use")

    def test_fd_limit_too_low(self):
        rc, out = self.doctor("--connections", "5000", limit=512)
        self.assert_fix(rc, out, "descriptors", "limit 512", "LimitNOFILE")

    def test_data_dir_world_writable(self):
        os.chmod(self.data, 0o777)
        self.addCleanup(os.chmod, self.data, 0o700)
        rc, out = self.doctor()
        self.assert_fix(rc, out, "data directory", "chmod 700")

    def test_store_corrupt(self):
        bad = os.path.join(self.work, "bad.db")
        with open(bad, "wb") as f:
            f.write(b"garbage" * 1000)
        rc, out = self.doctor("--store", bad)
        self.assert_fix(rc, out, "store", "bad.db")

    def test_certificate_expired(self):
        cp, kp = write_cert(self.work, "expired", -30, -1)
        rc, out = self.doctor("--cert", cp, "--key", kp)
        self.assert_fix(rc, out, "expired.crt", "expired")

    def test_certificate_not_for_public_host(self):
        rc, out = self.doctor("--public-host", "iot.example.com")
        self.assert_fix(rc, out, "no subjectAltName matches public-host iot.example.com")

    def test_key_does_not_match(self):
        cp, _ = write_cert(self.work, "one", -1, 90)
        _, kp = write_cert(self.work, "two", -1, 90)
        rc, out = self.doctor("--cert", cp, "--key", kp)
        self.assert_fix(rc, out, "two.key", "does not match")

    def test_certificate_expiring_soon_warns(self):
        cp, kp = write_cert(self.work, "soon", -1, 10)
        rc, out = self.doctor("--cert", cp, "--key", kp)
        self.assertEqual(rc, 0, out)
        self.assertTrue(any(l.startswith("warn ") and "expires in" in l
                            for l in out.splitlines()), out)

    def test_usage(self):
        r = subprocess.run([iotcloud_bin(), "doctor", "--connections", "x"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage: iotcloud doctor", r.stderr)


if __name__ == "__main__":
    unittest.main()
