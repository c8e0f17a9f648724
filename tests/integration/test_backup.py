"""Online backup and restore (issue #22): `iotcloud store backup FILE` while the server
runs under a QoS 1 load, `store check` on the copy, `store restore FILE` with the server
stopped, restart: every message acknowledged before the backup began is there, and none
acknowledged after the backup ended (the database really was replaced)."""

import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

from harness import WAIT, Broker, Client, iotcloud_bin, iotcloud_only, uniq

PUBLISHERS = 4


def store_cmd(*args, timeout=60):
    return subprocess.run([iotcloud_bin(), "store"] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


class Load:
    """PUBLISHERS clients publishing QoS 1 in a loop; acked[i] = (payload, monotonic time
    of the PUBACK) in order."""

    def __init__(self, port, topic):
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = []
        self.errors = []
        self.threads = [threading.Thread(target=self._run, args=(port, topic, k))
                        for k in range(PUBLISHERS)]
        for t in self.threads:
            t.start()

    def _run(self, port, topic, k):
        c = Client(port, client_id=uniq("bkpub"))
        try:
            c.connect()
            i = 0
            while not self.stop.is_set():
                payload = b"p%d-%d" % (k, i)
                c.publish(topic, payload, qos=1, wait=True)
                with self.lock:
                    self.acked.append((payload, time.monotonic()))
                i += 1
        except Exception as e:  # reported by the test
            self.errors.append(e)
        finally:
            c.close()

    def count(self):
        with self.lock:
            return len(self.acked)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(WAIT * 2)
        return list(self.acked)


@iotcloud_only("iotcloud store backup")
class BackupUnderLoad(unittest.TestCase):
    def test_backup_restore_keeps_every_acknowledged_message(self):
        work = tempfile.mkdtemp(prefix="iotcloud-itest-bk-")
        self.addCleanup(shutil.rmtree, work, True)
        data = os.path.join(work, "data")
        os.mkdir(data)
        backup = os.path.join(work, "backup.db")
        args = ["--max-queued", "1000000", "--max-queued-per-user", "100000000"]
        b = Broker(args, data_dir=data)
        self.addCleanup(b.kill9)
        b.start()
        topic = "bk/" + uniq("t")
        sub_id = uniq("bksub")
        sub = Client(b.port, client_id=sub_id, clean_session=False)
        sub.connect()
        sub.subscribe(topic, qos=1)
        sub.disconnect()  # offline: every message is queued in the store

        load = Load(b.port, topic)
        deadline = time.monotonic() + 30
        while load.count() < 100 and time.monotonic() < deadline and not load.errors:
            time.sleep(0.02)
        began = time.monotonic()
        r = store_cmd("backup", backup, "--data-dir", data)
        ended = time.monotonic()
        self.assertEqual(r.returncode, 0, r.stderr)
        n_at_end = load.count()
        deadline = time.monotonic() + 30
        while load.count() < n_at_end + 50 and time.monotonic() < deadline and not load.errors:
            time.sleep(0.02)
        acked = load.finish()
        self.assertEqual(load.errors, [])
        before = {p for p, t in acked if t < began}
        after = {p for p, t in acked if t > ended}
        self.assertGreaterEqual(len(before), 100)
        self.assertGreaterEqual(len(after), 50)

        r = store_cmd("check", "--store", backup)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = store_cmd("restore", backup, "--data-dir", data)
        self.assertNotEqual(r.returncode, 0, "restore must refuse while the server runs")
        self.assertIn("stop the server first", r.stderr)
        b.signal_and_wait()

        r = store_cmd("restore", backup, "--data-dir", data)
        self.assertEqual(r.returncode, 0, r.stderr)
        b.start()
        sub = Client(b.port, client_id=sub_id, clean_session=False)
        sub.connect()
        self.addCleanup(sub.close)
        sub.wait_messages(len(before), timeout=30)
        got = {m.payload for m in sub.settle(1.0)}
        self.assertEqual(before - got, set(), "acknowledged before the backup, not restored")
        self.assertEqual(after & got, set(), "acknowledged after the backup, yet restored")
        sub.disconnect()
        b.signal_and_wait()


@iotcloud_only("iotcloud store restore")
class RestoreRefuses(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="iotcloud-itest-bk-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.data = os.path.join(self.work, "data")
        os.mkdir(self.data)
        b = Broker(data_dir=self.data)
        self.addCleanup(b.kill9)
        b.start()
        b.signal_and_wait()
        self.db = os.path.join(self.data, "iotcloud.db")
        with open(self.db, "rb") as f:
            self.original = f.read()

    def assert_untouched(self):
        with open(self.db, "rb") as f:
            self.assertEqual(f.read(), self.original)

    def test_garbage_refused(self):
        bad = os.path.join(self.work, "bad.db")
        with open(bad, "wb") as f:
            f.write(b"not a database at all" * 100)
        r = store_cmd("restore", bad, "--data-dir", self.data)
        self.assertEqual(r.returncode, 1)
        self.assertIn("bad.db", r.stderr)
        self.assert_untouched()

    def test_corrupt_copy_refused(self):
        bad = os.path.join(self.work, "corrupt.db")
        r = store_cmd("backup", bad, "--data-dir", self.data)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Scribble over the root page of a table (users), which integrity_check reads. The
        # middle of the file can be a free page, which integrity_check rightly ignores.
        con = sqlite3.connect(bad)
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        root = con.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'users'").fetchone()[0]
        con.close()
        with open(bad, "r+b") as f:
            f.seek((root - 1) * page_size)
            f.write(b"\xff" * 512)
        self.assertNotEqual(store_cmd("check", "--store", bad).returncode, 0)
        r = store_cmd("restore", bad, "--data-dir", self.data)
        self.assertEqual(r.returncode, 1)
        self.assert_untouched()

    def test_missing_and_existing_files(self):
        r = store_cmd("restore", os.path.join(self.work, "none.db"), "--data-dir", self.data)
        self.assertEqual(r.returncode, 1)
        self.assertIn("No such file", r.stderr)
        out = os.path.join(self.work, "exists.db")
        with open(out, "wb") as f:
            f.write(b"keep me")
        r = store_cmd("backup", out, "--data-dir", self.data)
        self.assertEqual(r.returncode, 1)
        self.assertIn("refusing to overwrite", r.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"keep me")

    def test_usage(self):
        self.assertEqual(store_cmd("backup").returncode, 2)
        self.assertEqual(store_cmd("restore", "--data-dir", self.data).returncode, 2)
        self.assertEqual(store_cmd("frobnicate").returncode, 2)


if __name__ == "__main__":
    unittest.main()
