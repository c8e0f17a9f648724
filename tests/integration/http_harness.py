"""HTTP(S) helpers for the REST integration tests: a server with an https:// listener and a
curl-driven client (curl is the real client: TLS, chunking and header handling are its own).

  HttpServer   Broker plus --listen https://127.0.0.1:PORT, waits for that port too
  Http         call(method, path, body=None, token=None) -> Reply(status, headers, json, raw)
  mail_codes   six-digit codes the log notifier printed, in order
"""

import json
import os
import re
import subprocess
import tempfile
import time
from collections import namedtuple

from harness import HOST, WAIT, Broker, free_port

Reply = namedtuple("Reply", "status headers json raw")


class HttpServer(Broker):
    def __init__(self, extra_args=(), **kw):
        super().__init__(extra_args=extra_args, **kw)

    def _pick_ports(self):
        super()._pick_ports()
        self.https_port = free_port()

    def command(self):
        return super().command() + ["--listen", "https://%s:%d" % (HOST, self.https_port)]

    def listen_ports(self):
        return super().listen_ports() + [self.https_port]

    def mail_codes(self, kind):
        """Codes of @kind ("confirmation" / "password reset") printed so far, in order."""
        return re.findall(r"%s code is (\d{6})" % kind, self.stderr_text())

    def wait_code(self, kind, seen):
        """The first code of @kind beyond the @seen ones already printed."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            codes = self.mail_codes(kind)
            if len(codes) > seen:
                return codes[seen]
            time.sleep(0.05)
        raise AssertionError("no %s code in the log:\n%s" % (kind, self.stderr_text()[-3000:]))


class Http:
    def __init__(self, server):
        self.base = "https://%s:%d" % (HOST, server.https_port)
        self.cafile = server.cafile

    def call(self, method, path, body=None, token=None, raw=None, headers=()):
        with tempfile.TemporaryDirectory() as d:
            hdr, out = os.path.join(d, "h"), os.path.join(d, "b")
            cmd = ["curl", "-sS", "--cacert", self.cafile, "-X", method, "-D", hdr, "-o", out,
                   "-w", "%{http_code}", self.base + path]
            data = raw if raw is not None else (json.dumps(body) if body is not None else None)
            if data is not None:
                cmd += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
            if token:
                cmd += ["-H", "Authorization: Bearer " + token]
            for h in headers:
                cmd += ["-H", h]
            p = subprocess.run(cmd, input=(data or "").encode(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
            if p.returncode != 0:
                raise AssertionError("curl failed: %s" % p.stderr.decode(errors="replace"))
            hs = {}
            with open(hdr, "rb") as f:
                for line in f.read().decode("latin-1").split("\r\n")[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        hs[k.strip().lower()] = v.strip()
            rawb = b""
            if os.path.exists(out):  # curl writes no file for a body-less answer (304)
                with open(out, "rb") as f:
                    rawb = f.read()
            doc = None
            if rawb:
                try:
                    doc = json.loads(rawb)
                except ValueError:
                    pass
            return Reply(int(p.stdout), hs, doc, rawb)
