#!/usr/bin/env python3
"""POST /v1/auth/forgot timing for an existing vs an unknown address (issue #14 item 5).

Starts the real binary (tests/integration/harness.py) with a plain loopback HTTP listener,
signs one user up, then sends N forgot requests for its address and N for unknown ones,
alternating, over one keep-alive connection, and prints the median and p90 of each in ms.

  bench/forgot_timing.py [N] [extra server flags...]
  e.g. bench/forgot_timing.py 200 --reset-mails-per-hour 1000   (every call mails)
"""

import http.client
import json
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from harness import HOST, Broker, free_port  # noqa: E402


class Server(Broker):
    def _pick_ports(self):
        super()._pick_ports()
        self.http_port = free_port()

    def command(self):
        return super().command() + ["--listen", "http://%s:%d" % (HOST, self.http_port),
                                    "--no-access-log"]

    def listen_ports(self):
        return super().listen_ports() + [self.http_port]


def post(conn, path, body):
    t0 = time.perf_counter()
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    return r.status, (time.perf_counter() - t0) * 1000


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    srv = Server(extra_args=sys.argv[2:]).start()
    try:
        conn = http.client.HTTPConnection(HOST, srv.http_port, timeout=30)
        name = "b" + uuid.uuid4().hex[:10]
        email = name + "@example.com"
        st, _ = post(conn, "/v1/auth/signup", {"username": name, "password": "correct horse "
                                                "battery", "email": email, "given_name": "A",
                                                "family_name": "B"})
        assert st == 202, st
        for _ in range(20):  # warm-up
            post(conn, "/v1/auth/forgot", {"email": "warm%s@example.com" % uuid.uuid4().hex[:6]})
        known, unknown = [], []
        for _ in range(n):
            st, ms = post(conn, "/v1/auth/forgot", {"email": email})
            assert st == 202, st
            known.append(ms)
            st, ms = post(conn, "/v1/auth/forgot",
                          {"email": "n%s@example.com" % uuid.uuid4().hex[:10]})
            assert st == 202, st
            unknown.append(ms)
        for label, xs in (("existing", known), ("unknown", unknown)):
            xs.sort()
            print("%-8s n=%d median %.3f ms  p90 %.3f ms" %
                  (label, len(xs), statistics.median(xs), xs[int(len(xs) * 0.9)]))
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
