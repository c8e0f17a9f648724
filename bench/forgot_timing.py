#!/usr/bin/env python3
"""POST /v1/auth/forgot timing for an existing vs an unknown address (issue #14 item 5).

Starts the real binary (tests/integration/harness.py) with a plain loopback HTTP listener,
signs one user up, then sends N forgot requests for its address and N for one unknown
address, alternating, over one keep-alive connection, and prints the median and p90 of each in ms, as the
client saw them and as the access log measured them on the server.

  bench/forgot_timing.py [N] [extra server flags...]
  e.g. bench/forgot_timing.py 200 --reset-mails-per-hour 1000   (every call mails)
"""

import http.client
import json
import os
import re
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from harness import HOST, Broker, free_port  # noqa: E402


# A pause after each call: the notifier sends a real address's mail (a store transaction
# and log output) right after its answer; without the pause that work lands on the next
# call, which alternation makes the unknown one.
GAP_S = 0.01


class Server(Broker):
    def _pick_ports(self):
        super()._pick_ports()
        self.http_port = free_port()

    def command(self):
        return super().command() + ["--listen", "http://%s:%d" % (HOST, self.http_port)]

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
        # One unknown address, repeated like the real one: both spend the same hourly mail
        # budget, so the two columns compare the same state (within it: the default 3
        # first calls, or every call with --reset-mails-per-hour 1000; beyond it: the rest).
        ghost = "n%s@example.com" % uuid.uuid4().hex[:10]
        known, unknown = [], []
        for _ in range(n):
            st, ms = post(conn, "/v1/auth/forgot", {"email": email})
            assert st == 202, st
            known.append(ms)
            time.sleep(GAP_S)
            st, ms = post(conn, "/v1/auth/forgot", {"email": ghost})
            assert st == 202, st
            unknown.append(ms)
            time.sleep(GAP_S)
        time.sleep(0.5)
        # Server side: the access log's time from the end of the headers to the answer,
        # in request order (one connection, one request at a time): less client noise.
        us = [int(m) / 1000 for m in
              re.findall(r"http POST /v1/auth/forgot 202 \d+ (\d+)us", srv.stderr_text())]
        us = us[-2 * n:]
        report = [("existing", known, us[0::2]), ("unknown", unknown, us[1::2])]
        for label, xs, server in report:
            xs.sort()
            server.sort()
            print("%-8s n=%d client median %.3f ms p90 %.3f ms | server median %.3f ms "
                  "p90 %.3f ms" % (label, len(xs), statistics.median(xs), xs[int(len(xs) * 0.9)],
                                   statistics.median(server), server[int(len(server) * 0.9)]))
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
