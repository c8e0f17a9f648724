"""SmsSink: a local HTTP "SMS gateway" for the notification tests.

http.server on 127.0.0.1 and a free port, recording every POST (path, Authorization
header, Content-Type and the form fields) and answering with the next status from a queue
of planned answers (200 once the queue is empty):

    with SmsSink(statuses=[500]) as gw:     # first POST gets 500, later ones 200
        start iotcloud with ["--sms-url", gw.url, "--sms-user", "gw", ...]
        sms = gw.wait_for("+441234567890")   # the first POST accepted with a 2xx
        assert sms.form["text"] == "hello"
"""

import base64
import threading
import time
import urllib.parse
from collections import namedtuple
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"

Sms = namedtuple("Sms", "path auth content_type form status")


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        sink = self.server.sink
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode()
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
        status = sink._next_status()
        sms = Sms(self.path, self.headers.get("Authorization"),
                  self.headers.get("Content-Type"), form, status)
        sink._add(sms)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


class SmsSink:
    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.posts = []
        self._cond = threading.Condition()
        self._srv = ThreadingHTTPServer((HOST, 0), _Handler)
        self._srv.sink = self
        self.port = self._srv.server_address[1]
        self.url = "http://%s:%d/send" % (HOST, self.port)
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._srv.shutdown()
        self._srv.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def plan(self, *statuses):
        with self._cond:
            self.statuses.extend(statuses)

    def _next_status(self):
        with self._cond:
            return self.statuses.pop(0) if self.statuses else 200

    def _add(self, sms):
        with self._cond:
            self.posts.append(sms)
            self._cond.notify_all()

    def to(self, number):
        with self._cond:
            return [p for p in self.posts if p.form.get("to") == number]

    def wait_for(self, number, timeout=10.0, status_ok=True):
        """The first POST to @number (answered 2xx unless status_ok is False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for p in self.posts:
                    if p.form.get("to") == number and (not status_ok or p.status < 300):
                        return p
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no SMS to %s within %.1f s (got %r)"
                                         % (number, timeout, self.posts))
                self._cond.wait(left)


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
