"""Graceful stop (issue #22): SIGTERM stops accepting, closes the connections, commits
what the store was given and exits 0; a stop that cannot finish within --shutdown-timeout
ends at that bound with status 1 and a log line saying so."""

import os
import signal
import sqlite3
import time
import unittest

from harness import HOST, WAIT, Broker, Client, iotcloud_only, run_cli, uniq
from http_harness import Http, HttpServer


def persistent_subscriber(b, topic):
    cid = uniq("sdsub")
    s = Client(b.port, client_id=cid, clean_session=False)
    s.connect()
    s.subscribe(topic, qos=1)
    s.disconnect()
    return cid


@iotcloud_only("iotcloud shutdown")
class GracefulStop(unittest.TestCase):
    def test_sigterm_with_clients_exits_0_and_keeps_acknowledged(self):
        data = None
        b = HttpServer()
        self.addCleanup(b.kill9)
        b.start()
        topic = "sd/" + uniq("t")
        cid = persistent_subscriber(b, topic)
        pub = Client(b.port, client_id=uniq("sdpub"))
        pub.connect()
        pub.publish(topic, b"kept", qos=1, wait=True)
        idle = Client(b.tls_port, client_id=uniq("sdtls"), tls_context=b.tls_context())
        idle.connect()
        self.assertEqual(Http(b).call("GET", "/healthz").status, 200)
        t0 = time.monotonic()
        rc = b.signal_and_wait(signal.SIGTERM, timeout=15)
        self.assertEqual(rc, 0, b.stderr_text())
        self.assertLess(time.monotonic() - t0, 10)
        self.assertIn("shutdown: stopping, at most 30000 ms", b.stderr_text())
        pub.close()
        idle.close()
        b2 = Broker(data_dir=b.data_dir)
        b2.own_dir = True
        self.addCleanup(b2.kill9)
        b2.start()
        s = Client(b2.port, client_id=cid, clean_session=False)
        s.connect()
        self.addCleanup(s.close)
        self.assertEqual([m.payload for m in s.wait_messages(1)], [b"kept"])
        s.disconnect()
        b2.stop()

    def test_stop_past_the_timeout_exits_1_at_the_bound(self):
        b = Broker(["--shutdown-timeout", "1000"])
        self.addCleanup(b.kill9)
        b.start()
        topic = "sd/" + uniq("t")
        persistent_subscriber(b, topic)
        # Another process holds the database's write lock: the server's next commit waits
        # for it (5 s busy timeout), so its stop cannot finish by itself within 1 s.
        db = sqlite3.connect(os.path.join(b.data_dir, "iotcloud.db"), timeout=10,
                             isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        self.addCleanup(db.close)
        pub = Client(b.port, client_id=uniq("sdpub"))
        pub.connect()
        self.addCleanup(pub.close)
        pub.publish(topic, b"stuck", qos=1, wait=False)  # its commit waits for the lock
        time.sleep(0.3)
        t0 = time.monotonic()
        rc = b.signal_and_wait(signal.SIGTERM, timeout=15)
        took = time.monotonic() - t0
        db.execute("ROLLBACK")
        self.assertEqual(rc, 1, b.stderr_text())
        self.assertIn("not finished after 1000 ms (shutdown-timeout); exiting now",
                      b.stderr_text())
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 4.5, "bounded by the timeout, not by the store's 5 s wait")
        b.cleanup()


@iotcloud_only("iotcloud config")
class ShutdownConfig(unittest.TestCase):
    def test_zero_refused(self):
        r = run_cli(["--shutdown-timeout", "0"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("shutdown-timeout", r.stderr)


if __name__ == "__main__":
    unittest.main()
