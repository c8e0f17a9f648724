"""`cmake --install` layout and the .deb (issue 22): CPack builds the package from this
build tree; its control data declares the shared libraries it needs (all installed here);
`dpkg --root` installs it into an empty root (not into this machine: its dpkg database
is left alone); the installed binary starts with the packaged /etc/iotcloud/iotcloud.conf,
answers /healthz, reloads, and stops cleanly; the man page lists every option."""

import glob
import gzip
import os
import shutil
import ssl
import subprocess
import tempfile
import unittest
import urllib.request

from harness import HOST, Broker, free_port, iotcloud_bin

BUILD = os.path.dirname(os.path.abspath(iotcloud_bin()))
CPACK_CONFIG = os.path.join(BUILD, "CPackConfig.cmake")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


class InstalledBroker(Broker):
    """The packaged binary and config, on test ports (flags win over the file)."""

    def __init__(self, root):
        self.root = root
        super().__init__(allow_anonymous=False)

    def command(self):
        return [os.path.join(self.root, "usr/bin/iotcloud"), "--config",
                os.path.join(self.root, "etc/iotcloud/iotcloud.conf"),
                "--data-dir", self.data_dir,
                "--listen", "mqtts://%s:%d" % (HOST, self.tls_port),
                "--listen", "https://%s:%d" % (HOST, self.port)]


@unittest.skipUnless(os.path.exists(CPACK_CONFIG), "not run from a CMake build tree")
class PackageCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="iotcloud-deb-")
        r = run(["cpack", "-G", "DEB", "--config", CPACK_CONFIG, "-B", cls.tmp])
        if r.returncode != 0:
            raise AssertionError("cpack failed:\n" + r.stdout + r.stderr)
        debs = glob.glob(os.path.join(cls.tmp, "iotcloud_*.deb"))
        assert len(debs) == 1, debs
        cls.deb = debs[0]
        cls.root = os.path.join(cls.tmp, "root")
        for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates"):
            os.makedirs(os.path.join(cls.root, d))
        open(os.path.join(cls.root, "var/lib/dpkg/status"), "w").close()
        # --force-depends: the empty root has no libraries (test_depends_are_met checks
        # them against this machine); the postinst only runs systemctl where systemd runs
        r = run(["dpkg", "--root=" + cls.root, "--force-depends", "--force-script-chrootless",
                 "--force-not-root", "-i", cls.deb])
        if r.returncode != 0:
            raise AssertionError("dpkg -i failed:\n" + r.stdout + r.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def control(self):
        r = run(["dpkg-deb", "-f", self.deb])
        self.assertEqual(r.returncode, 0, r.stderr)
        out = {}
        for line in r.stdout.splitlines():
            k, _, v = line.partition(":")
            out[k.strip()] = v.strip()
        return out

    def test_control_fields(self):
        c = self.control()
        self.assertEqual(c["Package"], "iotcloud")
        for lib in ("libuv1", "libssl3", "libsqlite3-0", "libbson-1.0-0", "libsystemd0",
                    "libcurl4", "libargon2-1"):
            self.assertIn(lib, c["Depends"])
        r = run(["dpkg-deb", "-e", self.deb, os.path.join(self.tmp, "ctrl")])
        with open(os.path.join(self.tmp, "ctrl", "conffiles")) as f:
            self.assertIn("/etc/iotcloud/iotcloud.conf", f.read().split())

    def test_depends_are_met_on_this_machine(self):
        for dep in self.control()["Depends"].split(","):
            name = dep.strip().split()[0]
            r = run(["dpkg-query", "-W", "-f=${Status}", name])
            self.assertIn("install ok installed", r.stdout, name)

    def test_layout(self):
        for path in ("usr/bin/iotcloud", "usr/share/man/man1/iotcloud.1.gz",
                     "etc/iotcloud/iotcloud.conf", "lib/systemd/system/iotcloud.service"):
            self.assertTrue(os.path.isfile(os.path.join(self.root, path)), path)
        data = os.path.join(self.root, "var/lib/iotcloud")
        self.assertTrue(os.path.isdir(data))
        self.assertEqual(os.stat(data).st_mode & 0o777, 0o700)
        r = run(["dpkg", "--root=" + self.root, "-s", "iotcloud"])
        self.assertIn("Status: install ok installed", r.stdout)

    def test_man_page_lists_every_option(self):
        with gzip.open(os.path.join(self.root, "usr/share/man/man1/iotcloud.1.gz"), "rt") as f:
            page = f.read()
        self.assertTrue(page.startswith(".TH IOTCLOUD 1"))
        help_text = run([iotcloud_bin(), "--help"]).stdout
        flags = [l.split()[0] for l in help_text.splitlines() if l.startswith("  --")]
        self.assertGreater(len(flags), 20)
        for flag in flags:
            self.assertIn("\\fB" + flag.replace("-", "\\-"), page, flag)
        if shutil.which("man"):
            r = run(["man", "-l", os.path.join(self.root, "usr/share/man/man1/iotcloud.1.gz")],
                    env=dict(os.environ, MANPAGER="cat", PAGER="cat"))
            self.assertIn("reload", r.stdout)

    def test_installed_binary_starts_with_the_packaged_config(self):
        srv = InstalledBroker(self.root).start()
        try:
            ctx = ssl.create_default_context(cafile=os.path.join(srv.data_dir, "ca", "ca.crt"))
            url = "https://%s:%d/healthz" % (HOST, srv.port)
            with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:
                self.assertEqual(resp.status, 200)
            r = run([os.path.join(self.root, "usr/bin/iotcloud"), "reload", "--data-dir",
                     srv.data_dir])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.startswith("ok: reloaded"), r.stdout)
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
